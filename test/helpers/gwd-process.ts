import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { NetworkView } from '../../src/core/wire.js';
import { gwctl, spawnGwd, waitFor } from './processes.js';
import { makeTempDir } from './temp-dir.js';

export { waitFor };

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
  /** stdout+stderr so far, printed only when a test fails. */
  output(): string;
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
  const args = ['--port', '0', '--ssl-port', '0', '--bind', '127.0.0.1', '--system-name', opts.systemName];
  if (opts.edition) args.push('--edition', opts.edition);
  const proc = spawnGwd(dataDir, args);
  const child = proc.child;
  const socket = proc.socket;
  children.add(child);
  child.once('exit', () => children.delete(child));

  const ctl = (...a: string[]): Promise<CtlResult> => gwctl(['--socket', socket, ...a], { timeoutMs: 15_000 });
  const json = async <T>(...a: string[]): Promise<T> => {
    const r = await ctl('--json', ...a);
    if (r.code !== 0) throw new Error(`gwctl ${a.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout) as T;
  };
  const stop = async (): Promise<void> => {
    await proc.stop();
    temp.cleanup();
  };

  const up = await ctl('wait', '--ready', '--timeout', '15');
  if (up.code !== 0) {
    await stop();
    throw new Error(`gwd ${opts.systemName} did not start: ${up.stderr}\n${proc.output()}`);
  }
  const net = await json<NetworkView>('network', 'show');
  return {
    name: opts.systemName,
    dataDir,
    socket,
    child,
    output: proc.output,
    plainPort: net.listeners.plain.port!,
    sslPort: net.listeners.ssl.port!,
    ctl,
    json,
    stop,
  };
}

/** Print the logs of every daemon when the test failed. */
export function dumpLogsOnFailure(state: string | undefined, nodes: Array<GwdProcess | undefined>): void {
  if (state !== 'fail') return;
  for (const n of nodes) if (n) process.stderr.write(`\n----- gwd ${n.name} (${n.dataDir}) -----\n${n.output()}`);
}
