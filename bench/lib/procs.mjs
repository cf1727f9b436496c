import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const GWD = path.join(ROOT, 'bin', 'gwd');
export const GWCTL = path.join(ROOT, 'bin', 'gwctl');

/** The first group of `pattern` (a /m pattern for one line) in the shipped unit, contrib/systemd/gwd.service; null when no line matches. */
export function unitSetting(pattern) {
  return pattern.exec(readFileSync(path.join(ROOT, 'contrib/systemd/gwd.service'), 'utf8'))?.[1] ?? null;
}

/**
 * The malloc setting of the shipped unit (Environment=GLIBC_TUNABLES), which every gwd here runs
 * with, as its Nice= is for the false-takeover figure: the figures are those of gwd as it is
 * installed. GWD_BENCH_UNIT_MALLOC=0 runs without it (to compare).
 */
function unitMallocEnv() {
  if (process.env.GWD_BENCH_UNIT_MALLOC === '0') return {};
  const tunables = unitSetting(/^Environment=GLIBC_TUNABLES=(\S+)$/m);
  if (tunables === null) throw new Error('contrib/systemd/gwd.service sets no GLIBC_TUNABLES (set GWD_BENCH_UNIT_MALLOC=0 to run without)');
  return { GLIBC_TUNABLES: tunables };
}
export const UNIT_MALLOC_ENV = unitMallocEnv();

/**
 * A temporary directory; `cleanup()` hands it to removeTrees(), which bench/run.mjs runs when every
 * figure is done (and at exit), instead of removing it there and then.
 *
 * Why: on ext4 without a journal (these machines), creating files after many were removed costs the
 * kernel a scan past the freed inodes (recently_deleted() in find_inode_bit()) for tens of seconds,
 * so a tree removed as one figure or run ends charged whatever was measured next: the burst's and
 * batch apply's baselines, a full snapshot's first tar run (see durable-baseline.mjs). The disk
 * holds them meanwhile (a few GB with the 100,000-resource trees).
 */
const trees = [];
export function tempDir(prefix = 'gwd-bench-') {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  let handed = false;
  const cleanup = () => {
    if (handed) return;
    handed = true;
    trees.push(dir);
  };
  return { dir, cleanup };
}

/** Remove the trees handed over so far (see tempDir). */
export function removeTrees() {
  for (const dir of trees.splice(0)) {
    // `rm -rf` first: Node's rmSync took 30 s where rm took 11 s for a tree of 30,000 files.
    if (spawnSync('rm', ['-rf', '--', dir], { stdio: 'ignore' }).status !== 0) rmSync(dir, { recursive: true, force: true });
  }
}
process.on('exit', removeTrees);

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
    env: { ...process.env, ...UNIT_MALLOC_ENV },
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
