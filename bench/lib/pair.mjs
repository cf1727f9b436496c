import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { setPriority } from 'node:os';
import { openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

import { GWCTL, GWD, UNIT_MALLOC_ENV, tempDir } from './procs.mjs';

/**
 * A loopback port for a gwd started later: below the kernel's ephemeral range, so that no outgoing
 * connection of the run takes it before gwd binds it (a released listen(0) port is in that range);
 * random, checked bindable, never given twice (test/helpers/free-port.ts does the same for tests).
 */
const givenPorts = new Set();
export async function freePort() {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    /* not Linux */
  }
  const low = Math.max(1024, ephemeralLow - 20_000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (ephemeralLow - low));
    if (givenPorts.has(port)) continue;
    const free = await new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) {
      givenPorts.add(port);
      return port;
    }
  }
  throw new Error('freePort: no bindable port below the ephemeral range after 200 tries');
}

/** gwctl as a user runs it; throws on a non-zero exit (or after timeoutMs: null status). */
export function ctl(socket, ...args) {
  return ctlWithin(60_000, socket, ...args);
}

/** The same with a longer bound, for a command whose work grows with the data (a rescan of 20,000 files). */
export function ctlWithin(timeoutMs, socket, ...args) {
  // maxBuffer: spawnSync's default (1 MiB) kills gwctl when the output is larger (a rescan of
  // 20,000 files prints 1.2 MB), which looked like a hang.
  const r = spawnSync(process.execPath, [GWCTL, '--socket', socket, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`gwctl ${args.join(' ')} exited ${r.status ?? `on ${r.signal}`}${r.error ? ` (${r.error.message})` : ''}: ${r.stderr}`);
  return r.stdout;
}

export function json(socket, ...args) {
  return JSON.parse(ctl(socket, '--json', ...args));
}

export function events(socket, type, since = 0) {
  const out = type ? ctl(socket, '--json', 'events', '--type', type, '--since', String(since)) : ctl(socket, '--json', 'events', '--since', String(since));
  return out.trim() ? out.trim().split('\n').map((l) => JSON.parse(l)) : [];
}

export function lastSeq(socket) {
  const out = ctl(socket, '--json', 'events');
  const lines = out.trim().split('\n');
  return lines.length && lines[0] ? JSON.parse(lines.at(-1)).seq : 0;
}

/** One gwd on fixed loopback ports (so a restart keeps its address); killed by PID. */
export class Node {
  /** `nice`: the priority to run gwd at, as a unit's Nice= would (null: this process's). */
  constructor(name, dir, port, { nice = null } = {}) {
    this.nice = nice;
    this.name = name;
    this.dir = dir;
    this.port = port;
    this.socket = path.join(dir, 'gwd.sock');
    this.child = null;
  }

  /** `readySecs`: how long to wait for ready (a start that scans a large store takes longer). */
  start({ readySecs = 30 } = {}) {
    const startedAt = Date.now();
    const outPrefix = process.env.BENCH_LOG ?? process.env.GWD_BENCH_OUT;
    this.child = spawn(process.execPath, [GWD, '--data-dir', this.dir, '--port', String(this.port), '--ssl-port', '0', '--bind', '127.0.0.1', '--system-name', this.name, '--log-level', process.env.BENCH_LOG ? 'debug' : 'warn'], {
      // BENCH_LOG: debug logs; GWD_BENCH_OUT: the daemon's output at its usual level (a crash's message).
      stdio: ['ignore', ...(outPrefix ? [1, 2].map(() => openSync(`${outPrefix}-${this.name}.log`, 'a')) : ['ignore', 'ignore'])],
      // GWD_BENCH_BACKUP_NODE_OPTIONS: node options for the backups only (names ending in -b), to
      // look into one side's memory, e.g. '--max-old-space-size=200 --heapsnapshot-near-heap-limit=1'
      // (the snapshot is written in the harness's working directory).
      env: { ...process.env, ...UNIT_MALLOC_ENV, ...(this.name.endsWith('-b') && process.env.GWD_BENCH_BACKUP_NODE_OPTIONS ? { NODE_OPTIONS: process.env.GWD_BENCH_BACKUP_NODE_OPTIONS } : {}) },
    });
    // A daemon that dies under the harness (a crash, the kernel's OOM killer) says how.
    const { pid } = this.child;
    if (this.nice !== null) {
      try {
        setPriority(pid, this.nice);
      } catch (err) {
        // Raising a priority needs root (or CAP_SYS_NICE): say so rather than leave the daemon running.
        this.child.kill('SIGKILL');
        throw new Error(`cannot run gwd at nice ${this.nice} (${err.code ?? err.message}); run the benchmark as root, or set GWD_BENCH_NICE=0`);
      }
    }
    this.child.once('exit', (code, signal) => {
      if (process.env.GWD_BENCH_DEBUG) process.stderr.write(`${new Date().toISOString()} ${this.name} (pid ${pid}) exited: ${signal ?? code}\n`);
    });
    ctlWithin((readySecs + 30) * 1000, this.socket, 'wait', '--ready', '--timeout', String(readySecs));
    return Date.now() - startedAt;
  }

  get pid() {
    return this.child.pid;
  }

  async kill(signal = 'SIGKILL') {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    process.kill(this.child.pid, signal);
    await exited;
  }

  async stop() {
    try {
      process.kill(this.child.pid, 'SIGCONT');
    } catch {
      /* gone */
    }
    await this.kill('SIGTERM');
  }
}

/**
 * A master and a backup paired over plain WebSocket on loopback (Unrestricted policy: no approvals),
 * with the given redundancy timings on both. Waits until the master is Active and the backup Cold.
 */
export async function makePair(timing = [], { nice = null } = {}) {
  const t = tempDir('gwd-bench-pair-');
  const master = new Node('bench-m', path.join(t.dir, 'm'), await freePort(), { nice });
  const backup = new Node('bench-b', path.join(t.dir, 'b'), await freePort(), { nice });
  try {
    master.start();
    backup.start();
  } catch (err) {
    await Promise.all([master.stop(), backup.stop()]).catch(() => undefined);
    t.cleanup();
    throw err;
  }
  ctl(master.socket, 'network', 'configure', '--require-ssl', 'false', '--policy', 'unrestricted');
  ctl(master.socket, 'redundancy', 'configure', '--mode', 'master', ...timing);
  ctl(backup.socket, 'redundancy', 'configure', '--mode', 'backup', '--master-address', `127.0.0.1:${master.port}`, '--no-ssl', ...timing);
  ctl(backup.socket, 'wait', '--peer-connected', '--activity', 'standby', '--timeout', '60');
  ctl(master.socket, 'wait', '--activity', 'active', '--timeout', '60');
  return {
    master,
    backup,
    async close() {
      await Promise.all([master.stop(), backup.stop()]);
      t.cleanup();
    },
  };
}

/** Active intervals [start, end] (ms) of a node from its activity.changed events. */
export function activeIntervals(evts, endAt) {
  const out = [];
  let start = null;
  for (const e of evts) {
    const t = Date.parse(e.time);
    if (e.data.to === 'Active' && start === null) start = t;
    else if (e.data.to !== 'Active' && start !== null) {
      out.push([start, t]);
      start = null;
    }
  }
  if (start !== null) out.push([start, endAt]);
  return out;
}

export function overlapMs(a, b) {
  let total = 0;
  for (const [s1, e1] of a) for (const [s2, e2] of b) total += Math.max(0, Math.min(e1, e2) - Math.max(s1, s2));
  return total;
}

export function rssKb(pid) {
  const status = execFileSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' });
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

export function cpuTicks(pid) {
  const stat = execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' });
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}
