import type { StatusResponse } from '../../src/core/wire.js';
import { gwctl, spawnGwd, type CliResult, type GwdProcess } from './processes.js';

import { freePort } from './free-port.js';

export { freePort };

/** Anything with a name and a socket that gwctl can drive. */
export interface Reachable {
  name: string;
  socket: string;
}

/** Start a real gwd on a fixed plain port (so a restart keeps its address); SSL port fixed too, or picked by the OS (0). */
export function spawnOnPort(dataDir: string, name: string, port: number, sslPort = 0): GwdProcess {
  return spawnGwd(dataDir, ['--port', String(port), '--ssl-port', String(sslPort), '--bind', '127.0.0.1', '--system-name', name]);
}

export function ctlOn(n: Reachable, ...args: string[]): Promise<CliResult> {
  return gwctl(['--socket', n.socket, ...args], { timeoutMs: 20_000 });
}

/** gwctl on a node; rejects with the command, the node and stderr on a non-zero exit. */
export async function okOn(n: Reachable, ...args: string[]): Promise<string> {
  const r = await ctlOn(n, ...args);
  if (r.code !== 0) throw new Error(`gwctl ${args.join(' ')} on ${n.name} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

export async function statusOf(n: Reachable): Promise<StatusResponse> {
  return JSON.parse(await okOn(n, '--json', 'status')) as StatusResponse;
}

/**
 * /system/gwinfo over HTTP (key=value pairs: activity, peerConnected, ...), or null when it does not
 * answer within a second: cheap enough to poll every 20 ms, where gwctl starts a process each time.
 */
export async function gwinfo(n: { port: number }): Promise<Record<string, string> | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${n.port}/system/gwinfo`, { signal: AbortSignal.timeout(1000) });
    const text = await res.text();
    return Object.fromEntries(text.trim().split(';').filter(Boolean).map((kv) => kv.split('=').map(decodeURIComponent) as [string, string]));
  } catch {
    return null;
  }
}
