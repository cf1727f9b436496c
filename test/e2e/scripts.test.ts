/**
 * gwctl run as scripts run it: through `bash -o pipefail -c`, into pipes, files and `jq`, on a node
 * of real size (RESOURCES resources written on disk before its first start). DESIGN.md section 8:
 * every byte reaches a pipe or file of any size before gwctl exits; a reader that closes early ends
 * gwctl quietly (exit 141, as `cat`); exit codes are a contract.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GWCTL, spawnGwd, type GwdProcess } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/** 10,000 on disk before the start: the daemon's startup scan journals them all (~10 s here). */
const RESOURCES = 10_000;

interface ShResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `bash -o pipefail -c script`, with `gwctl` on PATH and $S the node's socket. */
function sh(script: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<ShResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bash -c '${script}' did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function writeResources(dataDir: string, count: number): void {
  const dir = path.join(dataDir, 'config', 'resources', 'core', 'opcua', 'opc-connection');
  for (let i = 0; i < count; i++) {
    const res = path.join(dir, `plc-${String(i).padStart(5, '0')}`);
    mkdirSync(res, { recursive: true });
    writeFileSync(path.join(res, 'config.json'), JSON.stringify({ endpointUrl: `opc.tcp://10.0.${(i >> 8) & 255}.${i & 255}:4840` }));
  }
}

describe(`gwctl in scripts, on a node with ${RESOURCES} resources`, () => {
  const temp = makeTempDir('gwd-scripts-');
  const dataDir = path.join(temp.dir, 'node');
  const binDir = path.join(temp.dir, 'bin');
  let gwd: GwdProcess;
  let env: NodeJS.ProcessEnv;
  let failed = false;

  beforeAll(async () => {
    writeResources(dataDir, RESOURCES);
    // `gwctl` as an installed command; node from this test's own runtime.
    mkdirSync(binDir);
    writeFileSync(path.join(binDir, 'gwctl'), `#!/bin/sh\nexec '${process.execPath}' '${GWCTL}' "$@"\n`, { mode: 0o755 });
    gwd = spawnGwd(dataDir, ['--port', '0', '--ssl-port', '0', '--bind', '127.0.0.1', '--system-name', 'plant-s']);
    env = {
      ...process.env,
      PATH: `${binDir}:${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      S: gwd.socket,
      GWD_SOCKET: '',
      GWD_DATA_DIR: '',
      NO_COLOR: '1',
    };
    const up = await sh('gwctl --socket "$S" wait --ready --timeout 80', env, 90_000);
    if (up.code !== 0) throw new Error(`gwd did not start: ${up.stderr}\n${gwd.output()}`);
  }, 120_000);

  afterAll(async () => {
    if (failed) process.stderr.write(`\n----- gwd (${dataDir}) -----\n${gwd?.output() ?? ''}`);
    await gwd?.stop();
    temp.cleanup();
  });

  const expectCode = (r: ShResult, code: number): void => {
    if (r.code !== code) failed = true;
    expect(r.code, `stdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr}`).toBe(code);
  };

  describe('output reaches a pipe of any size', () => {
    it('config list --json through a pipe is every byte written to a file (not 65536)', async () => {
      const file = path.join(temp.dir, 'list.json');
      expectCode(await sh(`gwctl --socket "$S" --json config list > '${file}'`, env), 0);
      const bytes = statSync(file).size;
      expect(bytes).toBeGreaterThan(1_000_000);
      const piped = await sh('gwctl --socket "$S" --json config list | wc -c', env);
      expectCode(piped, 0);
      expect(Number(piped.stdout.trim())).toBe(bytes);
      expect(piped.stderr).toBe('');
    });

    it('the human table through a pipe is every byte too', async () => {
      const file = path.join(temp.dir, 'list.txt');
      expectCode(await sh(`gwctl --socket "$S" config list > '${file}'`, env), 0);
      const piped = await sh('gwctl --socket "$S" config list | wc -c', env);
      expectCode(piped, 0);
      expect(Number(piped.stdout.trim())).toBe(statSync(file).size);
      expect(statSync(file).size).toBeGreaterThan(65_536);
    });

    it('a slow reader (one that starts reading after a second) gets every byte', async () => {
      const file = path.join(temp.dir, 'list-slow.json');
      expectCode(await sh(`gwctl --socket "$S" --json config list > '${file}'`, env), 0);
      const slow = await sh('gwctl --socket "$S" --json config list | (sleep 1; cat) | wc -c', env);
      expectCode(slow, 0);
      expect(Number(slow.stdout.trim())).toBe(statSync(file).size);
    });

    it('events --json | head -1 ends gwctl quietly: exit 141 as cat, nothing on stderr', async () => {
      // The startup scan logged one config.changed event per resource: megabytes, far more than a
      // pipe holds, so gwctl is surely still writing when head closes the pipe.
      const r = await sh('gwctl --socket "$S" --json events | head -1', env);
      expectCode(r, 141);
      expect(r.stderr).toBe('');
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ seq: expect.any(Number), type: expect.any(String) });
      // Without pipefail the pipeline is head's: what a script without it sees.
      const plain = await sh('set +o pipefail; gwctl --socket "$S" events | head -1 >/dev/null', env);
      expectCode(plain, 0);
      expect(plain.stderr).toBe('');
    });
  });
});
