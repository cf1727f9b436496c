import { spawn } from 'node:child_process';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { freePort } from '../helpers/fixed-port-node.js';
import { ROOT } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/** examples/pair-on-localhost.sh, the README walkthrough as a script, runs from two fresh nodes to the end. */
const temp = makeTempDir('gwd-example-');
afterAll(() => temp.cleanup());

describe('examples/pair-on-localhost.sh', () => {
  it('pairs, syncs (the backup applies its Backup version), fails over and back, and exits 0', async () => {
    const [PORT_A, SSL_A, PORT_B, SSL_B] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const env = { ...process.env, GWD_SOCKET: '', GWD_DATA_DIR: '', PORT_A: `${PORT_A}`, SSL_A: `${SSL_A}`, PORT_B: `${PORT_B}`, SSL_B: `${SSL_B}` };
    // Its own process group, so a timeout kills the script and both daemons by the group's PID.
    const child = spawn('bash', [path.join(ROOT, 'examples', 'pair-on-localhost.sh'), temp.dir], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 75_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    expect(code, out).toBe(0);
    expect(out).toContain('opc.tcp://10.0.2.5:4840');
    expect(out).toMatch(/Sync\s+InSync/);
    expect(out).toMatch(/completed: the peer \(plant-a\) is Active/);
  }, 90_000);
});
