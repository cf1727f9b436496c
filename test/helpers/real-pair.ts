/**
 * A master and a backup as real gwd processes on fixed loopback ports, paired over the plain link
 * with no approvals (Unrestricted), the backup standing by: the setup the end-to-end redundancy
 * tests share. Each test file keeps its own list of nodes and its own clean-up.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { freePort, okOn } from './fixed-port-node.js';
import type { GwdProcess } from './processes.js';
import { makeTempDir } from './temp-dir.js';

export interface RealNode {
  name: string;
  dataDir: string;
  socket: string;
  port: number;
  /** The SSL listener's port when the test fixes it (a TLS pair); else the OS picks one. */
  sslPort?: number;
  proc: GwdProcess;
  /** Times the test killed or froze the process: an Active interval ends there at the latest. */
  deaths: number[];
}

/** A fresh data directory and a free port for a node called `name` (its temp dir goes to `temps`). */
export async function nodePlace(prefix: string, name: string, temps: Array<() => void>): Promise<Omit<RealNode, 'proc'>> {
  const t = makeTempDir(`${prefix}-${name}-`);
  temps.push(t.cleanup);
  return { name, dataDir: t.dir, socket: path.join(t.dir, 'gwd.sock'), port: await freePort(), deaths: [] };
}

export interface PairTimings {
  recovery?: 'automatic' | 'manual';
  /** ms; 1000 by default. */
  failoverTimeout?: number;
  masterJoinWait?: number;
  backupJoinWait?: number;
  /** The backup's redial period in ms (100 by default); null keeps gwd's default (1000 ms). */
  backupReconnect?: number | null;
}

/**
 * Make `master` and `backup` (started, not yet configured) a pair: pings every 200 ms, the given
 * timings, then wait until the backup stands by connected and the master is Active. Returns the
 * time it was done: both were Independent (and so Active) before, so overlap counts from there.
 */
export async function configurePair(master: RealNode, backup: RealNode, t: PairTimings = {}): Promise<number> {
  const ok = okOn;
  await Promise.all([ok(master, 'wait', '--ready', '--timeout', '15'), ok(backup, 'wait', '--ready', '--timeout', '15')]);
  const timing = ['--failover-timeout', String(t.failoverTimeout ?? 1000), '--ping-rate', '200', '--recovery', t.recovery ?? 'automatic'];
  const redial = t.backupReconnect === null ? [] : ['--reconnect-period', String(t.backupReconnect ?? 100)];
  const tls = master.sslPort !== undefined;
  if (tls) await trustEachOther(master, backup);
  await ok(master, 'network', 'configure', '--require-ssl', String(tls), '--policy', 'unrestricted');
  await ok(master, 'redundancy', 'configure', '--mode', 'master', '--join-wait', String(t.masterJoinWait ?? 500), ...timing);
  const target = tls ? [`127.0.0.1:${master.sslPort}`, '--ssl'] : [`127.0.0.1:${master.port}`, '--no-ssl'];
  await ok(backup, 'redundancy', 'configure', '--mode', 'backup', '--master-address', ...target,
    ...redial, '--join-wait', String(t.backupJoinWait ?? 500), ...timing);
  await ok(backup, 'wait', '--peer-connected', '--activity', 'standby', '--timeout', '15');
  await ok(master, 'wait', '--activity', 'active', '--timeout', '15');
  return Date.now();
}

/** A TLS pair without pending steps: each node's certificate pre-approved on the other (README, Automation). */
async function trustEachOther(master: RealNode, backup: RealNode): Promise<void> {
  const pem = async (n: RealNode): Promise<string> => {
    const file = path.join(n.dataDir, `${n.name}-cert.pem`);
    writeFileSync(file, await okOn(n, 'node', 'cert'));
    return file;
  };
  await okOn(master, 'certs', 'trust', '--direction', 'incoming', '--file', await pem(backup));
  await okOn(backup, 'certs', 'trust', '--direction', 'outgoing', '--file', await pem(master));
}
