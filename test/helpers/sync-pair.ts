import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { EventRecord, StatusResponse } from '../../src/core/wire.js';
import { GwClient } from '../../src/cli/client.js';
import { gwctl, spawnGwd, waitFor, type CliResult, type GwdProcess } from './processes.js';
import { makeTempDir } from './temp-dir.js';

/**
 * Real gwd processes for the sync tests: unlike gwd-process.ts, a node can be stopped, killed with
 * SIGKILL and started again on the same data directory. Every child is killed by its PID when the
 * worker exits.
 */
const alive = new Set<GwdProcess>();
process.once('exit', () => {
  for (const p of alive) if (p.child.exitCode === null && p.child.signalCode === null) process.kill(p.pid, 'SIGKILL');
});

export interface SyncNode {
  name: string;
  dataDir: string;
  socket: string;
  client: GwClient;
  proc: GwdProcess | null;
  plainPort: number;
  /** Every log line of every run of this node, printed when a test fails. */
  output(): string;
  start(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait: a crash. */
  kill9(): Promise<void>;
  ctl(...args: string[]): Promise<CliResult>;
  status(): Promise<StatusResponse>;
  events(type?: string): Promise<EventRecord[]>;
  /** Stop and remove the data directory. */
  destroy(): Promise<void>;
}

/** `port`: a fixed plain port, for a node whose address must survive its restart (a master). */
export function syncNode(name: string, port = 0): SyncNode {
  const temp = makeTempDir('gwd-sync-');
  const dataDir = temp.dir;
  const socket = path.join(dataDir, 'gwd.sock');
  const client = new GwClient(socket);
  let logs = '';
  const node: SyncNode = {
    name,
    dataDir,
    socket,
    client,
    proc: null,
    plainPort: 0,
    output: () => logs + (node.proc?.output() ?? ''),
    async start() {
      const proc = spawnGwd(dataDir, ['--port', String(port), '--ssl-port', '0', '--bind', '127.0.0.1', '--system-name', name]);
      node.proc = proc;
      alive.add(proc);
      void proc.exited.then(() => {
        alive.delete(proc);
        logs += proc.output();
        if (node.proc === proc) node.proc = null;
      });
      await waitFor(`${name} to be ready`, async () => ((await client.status()).daemon.ready ? true : undefined), 20_000);
      node.plainPort = (await client.network()).listeners.plain.port!;
    },
    async stop() {
      await node.proc?.stop();
    },
    async kill9() {
      const p = node.proc;
      if (!p) return;
      p.child.kill('SIGKILL');
      await p.exited;
    },
    ctl: (...args) => gwctl(['--socket', socket, ...args], { timeoutMs: 30_000 }),
    status: () => client.status(),
    async events(type) {
      const out: EventRecord[] = [];
      await client.streamEvents({ type }, (e) => out.push(e));
      return out;
    },
    async destroy() {
      await node.stop();
      temp.cleanup();
    },
  };
  return node;
}

/** Master over plain ws, Unrestricted: the quickest approved pair. Pings fast so a restart is seen at once. */
export async function makeMaster(master: SyncNode, extra: Record<string, unknown> = {}): Promise<void> {
  await master.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
  await master.client.configureRedundancy({ role: 'Master', master: { pingRate: 200 }, ...extra });
}

export async function makeBackup(backup: SyncNode, master: SyncNode): Promise<void> {
  await backup.client.configureRedundancy({
    role: 'Backup',
    master: { host: '127.0.0.1', port: master.plainPort, enableSsl: false, reconnectPeriod: 100, pingRate: 200 },
  });
}

/** sha256 of every file of the node's core collection, by relative path. */
export function coreHashes(dataDir: string): Record<string, string> {
  return hashTree(path.join(dataDir, 'config', 'resources', 'core'));
}

/** sha256 of every file under root (an archive's core/, say), by relative path; {} when missing. */
export function hashTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(root)) return out;
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir)) {
      // The temp file of an atomic write cut by a kill -9 is not configuration (the snapshot skips it too).
      if (name.startsWith('.') && name.includes('.tmp-')) continue;
      const full = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(full).isDirectory()) walk(full, r);
      else out[r] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(root, '');
  return out;
}

/** The last event seq of a stopped node, from its event log file. */
export function lastSeqOffline(n: SyncNode): number {
  const lines = readFileSync(path.join(n.dataDir, 'var', 'events.ndjson'), 'utf8').split('\n').filter(Boolean);
  return (JSON.parse(lines.at(-1)!) as { seq: number }).seq;
}

/** Both nodes InSync on the master's latest revision, checked on the master first (its peerRevision is the backup's ack). */
export async function waitSynced(master: SyncNode, backup: SyncNode, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    'the pair to be InSync',
    async () => {
      const m = await master.status();
      if (m.redundancy.sync.state !== 'InSync') return undefined;
      const b = await backup.status();
      return b.redundancy.sync.state === 'InSync' && b.redundancy.sync.revision === m.redundancy.sync.revision ? true : undefined;
    },
    timeoutMs,
    50,
  );
}

/**
 * `n` opc-connection resources written straight into a stopped node's core (config.json only): its
 * startup scan journals them in one batch. Much faster than n API calls for a big configuration.
 */
export function seedResources(dataDir: string, n: number, prefix = 'plc'): void {
  for (let i = 0; i < n; i++) {
    const dir = path.join(dataDir, 'config', 'resources', 'core', 'opcua', 'opc-connection', `${prefix}${i}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ endpointUrl: `opc.tcp://10.${(i >> 8) & 255}.${i & 255}.1:4840` }));
  }
}
