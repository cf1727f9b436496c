import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { StatusResponse } from '../../src/core/wire.js';
import { gwctl, spawnGwd, waitFor, type GwdProcess } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const running: GwdProcess[] = [];
const temps: Array<() => void> = [];

function tempDir(): string {
  const t = makeTempDir('gwd-e2e-');
  temps.push(t.cleanup);
  return t.dir;
}

async function startGwd(args: string[] = []): Promise<GwdProcess> {
  const p = spawnGwd(tempDir(), ['--system-name', 'plant-a', ...args]);
  running.push(p);
  const ready = await gwctl(['--socket', p.socket, 'wait', '--ready', '--timeout', '15']);
  if (ready.code !== 0) throw new Error(`gwd did not become ready: ${ready.stderr}\n${p.output()}`);
  return p;
}

afterEach(async (ctx) => {
  const failed = ctx.task.result?.state === 'fail';
  for (const p of running.splice(0)) {
    if (failed) process.stderr.write(`--- gwd ${p.pid} output ---\n${p.output()}\n`);
    await p.stop();
  }
  for (const cleanup of temps.splice(0)) cleanup();
});

describe('gwd and gwctl as a user runs them', () => {
  it('gwctl status shows Independent, Active, the system name and the fingerprint', async () => {
    const p = await startGwd();
    const human = await gwctl(['--socket', p.socket, 'status']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Role\s+Independent$/m);
    expect(human.stdout).toMatch(/^Activity\s+Active$/m);
    expect(human.stdout).toMatch(/^System name\s+plant-a$/m);
    const json = await gwctl(['--socket', p.socket, '--json', 'status']);
    const s = JSON.parse(json.stdout) as StatusResponse;
    expect(Object.keys(s.node)).toEqual(expect.arrayContaining(['uuid', 'systemName', 'edition', 'version', 'certFingerprint']));
    expect(Object.keys(s.redundancy)).toEqual(expect.arrayContaining(['role', 'activity', 'epoch', 'since', 'peer', 'sync']));
    expect(s.redundancy.sync).toEqual({ state: 'NotApplicable', revision: 0, peerRevision: null });
    expect(human.stdout).toContain(s.node.certFingerprint);
  });

  it('openssl agrees with gwctl node cert on the certificate file fingerprint', async () => {
    const p = await startGwd();
    const certFile = path.join(p.dataDir, 'pki', 'gwd.crt');
    const out = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
    const opensslFp = out.trim().split('=')[1]!.replace(/:/g, '').toLowerCase();
    const cert = await gwctl(['--socket', p.socket, 'node', 'cert']);
    expect(cert.code).toBe(0);
    expect(cert.stdout).toContain(`# fingerprint (sha256): ${opensslFp}`);
    // The output of `gwctl node cert` is itself a certificate file openssl reads.
    const piped = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: cert.stdout, encoding: 'utf8' });
    expect(piped).toBe(out);
    expect(statSync(path.join(p.dataDir, 'pki', 'gwd.key')).mode & 0o777).toBe(0o600);
  });

  it('gwctl status with no daemon exits 3 and names the socket it tried', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'gwd.sock');
    const r = await gwctl(['--socket', socket, 'status']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(socket);
    expect(r.stderr).toContain('GW_ERR_CLI_DAEMON_UNREACHABLE');
    expect(r.stderr).toContain('gwd --data-dir');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('gwctl finds the socket through GWD_DATA_DIR, then ./gwd-data', async () => {
    const p = await startGwd();
    const viaEnv = await gwctl(['--json', 'node', 'show'], { env: { GWD_DATA_DIR: p.dataDir } });
    expect(viaEnv.code).toBe(0);
    const viaCwd = await gwctl(['--json', 'node', 'show'], { cwd: path.dirname(p.dataDir) });
    // ./gwd-data under the temp parent does not exist: unreachable, and the path tried is named.
    expect(viaCwd.code).toBe(3);
    expect(viaCwd.stderr).toContain(path.join(path.dirname(p.dataDir), 'gwd-data', 'gwd.sock'));
  });

  it('SIGTERM stops gwd with exit 0 and removes the socket', async () => {
    const p = await startGwd();
    expect(existsSync(p.socket)).toBe(true);
    expect(await p.stop()).toBe(0);
    expect(existsSync(p.socket)).toBe(false);
    const log = p.output();
    expect(log).toContain('"msg":"gwd stopped"');
    // Logs are JSON lines; the key is never in them.
    const key = readFileSync(path.join(p.dataDir, 'pki', 'gwd.key'), 'utf8');
    expect(log).not.toContain(key.split('\n')[1]);
  });

  it('a second gwd on the same data dir exits non-zero naming the socket, the first keeps serving', async () => {
    const p = await startGwd();
    const second = spawnGwd(p.dataDir);
    running.push(second);
    const code = await second.exited;
    expect(code).not.toBe(0);
    expect(second.output()).toContain(p.socket);
    expect(second.output()).toContain('GW_ERR_DAEMON_SOCKET_IN_USE');
    expect((await gwctl(['--socket', p.socket, 'status'])).code).toBe(0);
  });

  it('gwctl wait --ready waits for a gwd that starts later, and times out with exit 4', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'gwd.sock');
    const waiting = gwctl(['--socket', socket, 'wait', '--ready', '--timeout', '20']);
    const p = spawnGwd(dir);
    running.push(p);
    expect((await waiting).code).toBe(0);
    // A condition that can hold but does not: no gwd on that socket yet.
    const timeout = await gwctl(['--socket', path.join(dir, 'other.sock'), 'wait', '--ready', '--timeout', '0.3']);
    expect(timeout.code).toBe(4);
    expect(timeout.stderr).toContain('GW_ERR_CLI_WAIT_TIMEOUT');
    expect(timeout.stderr).toContain('not reachable');
    // One that the role rules out is refused at once instead (exit 1).
    const never = await gwctl(['--socket', socket, 'wait', '--activity', 'cold', '--timeout', '5']);
    expect(never.code).toBe(1);
    expect(never.stderr).toContain('GW_ERR_CLI_WAIT_IMPOSSIBLE');
  });

  it('usage errors exit 2, help exits 0 with an example', async () => {
    expect((await gwctl(['frobnicate'])).code).toBe(2);
    expect((await gwctl(['wait', '--ready'])).code).toBe(2); // --timeout is required
    expect((await gwctl(['events', '--since', 'x'])).code).toBe(2);
    const help = await gwctl(['status', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
  });

  it('gwctl events shows daemon.started; --json prints one JSON object per line', async () => {
    const p = await startGwd();
    const human = await gwctl(['--socket', p.socket, 'events']);
    expect(human.stdout).toContain('daemon.started');
    const json = await gwctl(['--socket', p.socket, '--json', 'events', '--type', 'daemon']);
    const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; seq: number });
    expect(events[0]!.type).toBe('daemon.started');
    expect(events[0]!.seq).toBeGreaterThan(0);
  });

  it('bad flags to gwd exit 2 with the usage; a corrupt settings file exits 78 and is untouched', async () => {
    const dir = tempDir();
    const bad = spawnGwd(dir, ['--port', 'http']);
    running.push(bad);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain('--port');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'gateway-network.json'), '{"port": "eighty"}');
    const corrupt = spawnGwd(dir);
    running.push(corrupt);
    expect(await corrupt.exited).toBe(78);
    expect(corrupt.output()).toContain('gateway-network.json');
    expect(corrupt.output()).toContain('/port');
    expect(readFileSync(path.join(dir, 'gateway-network.json'), 'utf8')).toBe('{"port": "eighty"}');
  });
});
