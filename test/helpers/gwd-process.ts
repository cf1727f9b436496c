import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { NetworkView } from '../../src/core/wire.js';
import { makeTempDir } from './temp-dir.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GWD = path.join(ROOT, 'bin', 'gwd');
const GWCTL = path.join(ROOT, 'bin', 'gwctl');

// A test worker that dies must not leave daemons behind: each child is killed by its PID on exit.
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.pid && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
});

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A real `bin/gwd` process on a temp data dir and ephemeral loopback ports, driven through `bin/gwctl`. */
export interface GwdProcess {
  name: string;
  dataDir: string;
  socket: string;
  child: ChildProcess;
  logs: string[];
  plainPort: number;
  sslPort: number;
  ctl(...args: string[]): Promise<CtlResult>;
  /** `gwctl --json ...`; rejects with the output when the exit code is not 0. */
  json<T>(...args: string[]): Promise<T>;
  stop(): Promise<void>;
}

export interface StartOptions {
  systemName: string;
  edition?: 'standard' | 'edge';
  /** Write node.json before the first start (to impersonate another node's UUID). */
  uuid?: string;
}

export async function startGwd(opts: StartOptions): Promise<GwdProcess> {
  const temp = makeTempDir('gwd-e2e-');
  const dataDir = temp.dir;
  if (opts.uuid) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(
      path.join(dataDir, 'node.json'),
      JSON.stringify({ version: 1, uuid: opts.uuid, edition: opts.edition ?? 'standard', createdAt: new Date().toISOString() }),
    );
  }
  const socket = path.join(dataDir, 'gwd.sock');
  const args = [GWD, '--data-dir', dataDir, '--port', '0', '--ssl-port', '0', '--bind', '127.0.0.1', '--system-name', opts.systemName];
  if (opts.edition) args.push('--edition', opts.edition);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const logs: string[] = [];
  child.stdout!.on('data', (c: Buffer) => logs.push(c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => logs.push(c.toString('utf8')));

  const ctl = (...a: string[]): Promise<CtlResult> =>
    new Promise((resolve) => {
      execFile(process.execPath, [GWCTL, '--socket', socket, ...a], { timeout: 15_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  const json = async <T>(...a: string[]): Promise<T> => {
    const r = await ctl('--json', ...a);
    if (r.code !== 0) throw new Error(`gwctl ${a.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout) as T;
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    temp.cleanup();
  };

  const up = await ctl('wait', '--ready', '--timeout', '15');
  if (up.code !== 0) {
    await stop();
    throw new Error(`gwd ${opts.systemName} did not start: ${up.stderr}\n${logs.join('')}`);
  }
  const net = await json<NetworkView>('network', 'show');
  return {
    name: opts.systemName,
    dataDir,
    socket,
    child,
    logs,
    plainPort: net.listeners.plain.port!,
    sslPort: net.listeners.ssl.port!,
    ctl,
    json,
    stop,
  };
}

/** Poll `probe` until it returns a value other than undefined, or fail with the last thing seen. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Print the logs of every daemon when the test failed. */
export function dumpLogsOnFailure(state: string | undefined, nodes: Array<GwdProcess | undefined>): void {
  if (state !== 'fail') return;
  for (const n of nodes) if (n) process.stderr.write(`\n----- gwd ${n.name} (${n.dataDir}) -----\n${n.logs.join('')}`);
}
