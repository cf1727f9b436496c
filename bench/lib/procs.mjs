import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const GWD = path.join(ROOT, 'bin', 'gwd');
export const GWCTL = path.join(ROOT, 'bin', 'gwctl');

export function tempDir(prefix = 'gwd-bench-') {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  // `rm -rf` first: Node's rmSync took 30 s where rm took 11 s for a tree of 30,000 files (the
  // full snapshot's trees of 10,000 resources, four of them, took 2.5 minutes to remove).
  const cleanup = () => {
    if (spawnSync('rm', ['-rf', '--', dir], { stdio: 'ignore' }).status !== 0) rmSync(dir, { recursive: true, force: true });
  };
  return { dir, cleanup };
}

/** Wall time of one command, ms. */
export function timeCommand(cmd, args, options = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** Start gwd and resolve once `gwctl wait --ready` says it is up. Killed by PID in stop(). */
export async function startGwd(dataDir, args = []) {
  const child = spawn(process.execPath, [GWD, '--data-dir', dataDir, '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const socket = path.join(dataDir, 'gwd.sock');
  const r = spawnSync(process.execPath, [GWCTL, '--socket', socket, 'wait', '--ready', '--timeout', '20']);
  if (r.status !== 0) {
    child.kill('SIGKILL');
    throw new Error(`gwd did not start: ${r.stderr}`);
  }
  return {
    pid: child.pid,
    socket,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((res) => child.once('exit', res));
      process.kill(child.pid, 'SIGTERM');
      const t = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
