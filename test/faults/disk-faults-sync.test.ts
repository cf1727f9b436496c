import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { EventRecord } from '../../src/core/wire.js';
import { resourceDir } from '../../src/daemon/config/resource-paths.js';
import { contentSignature } from '../../src/daemon/config/signature.js';
import { fsError, setFaultInjector, type StorageOp } from '../../src/daemon/storage/fault-injection.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { waitFor } from '../helpers/processes.js';
import { coreHashes } from '../helpers/sync-pair.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/**
 * Disk faults on the BACKUP while it applies what its master sends: a full snapshot (its staging,
 * the swap, the adoption) and replicated incremental batches. The fault points are not a list of
 * file names: a fault-free sync is recorded first, every kind of file operation it makes (write,
 * append, rename, by location) is one fault point, so whatever a sync does on disk gets a fault.
 *
 * ENOSPC and EROFS break the disk from that operation on (every later write fails too); EIO breaks
 * only that kind of operation (one bad spot). The invariant, checked at the moment each failure is
 * reported: the backup serves exactly what is on its disk and in its journal, and that is either
 * its previous configuration, untouched, or (a fault after the journal commit point) the new one,
 * complete. An acknowledged revision is always durable. Once the fault is gone the pair converges.
 */

// CI runs one errno per fault point (rotating); GWD_FAULTS_FULL=1 runs every errno, three times.
const FULL = process.env.GWD_FAULTS_FULL === '1';
const ERRNOS = ['ENOSPC', 'EIO', 'EROFS'] as const;
type Errno = (typeof ERRNOS)[number];
const ROUNDS = FULL ? 3 : 1;
/** Restart the backup after every Nth faulted sync (CI), or after each (full set). */
const RESTART_EVERY = FULL ? 1 : 3;
/** The commit points: a replicated batch is committed by its journal append, a full snapshot by the journal's restart. */
const JOURNAL_APPEND = 'append var/config-journal.ndjson';
const JOURNAL_RESTART = 'write var/config-journal.ndjson';
const COMMIT_POINTS = [JOURNAL_APPEND, JOURNAL_RESTART];

const started: TestDaemon[] = [];
afterEach(async (ctx) => {
  setFaultInjector(null);
  if (ctx.task.result?.state === 'fail') for (const t of started) process.stderr.write(t.logs.join('').slice(-30_000));
  await Promise.all(started.splice(0).map((t) => t.stop().catch(() => undefined)));
});

/**
 * What kind of file operation this is, by location: ids, dates and resource names (anything with a
 * digit) become `*`, and a deep path keeps its first three directories and its file name.
 */
function opClass(op: StorageOp, file: string, dir: string): string {
  const parts = path.relative(dir, file).split(path.sep);
  const norm = (c: string): string => (/\d/.test(c) ? '*' : c);
  const head = parts.slice(0, 3).map(norm).join('/');
  return `${op} ${parts.length > 3 ? `${head}/…/${norm(parts.at(-1)!)}` : head}`;
}

/** Every file under `root`, relative path to bytes (base64); {} when missing. */
function treeBytes(root: string, out: Record<string, string> = {}, base = root): Record<string, string> {
  if (!existsSync(root)) return out;
  for (const name of readdirSync(root).sort()) {
    const full = path.join(root, name);
    if (statSync(full).isDirectory()) treeBytes(full, out, base);
    else out[path.relative(base, full)] = readFileSync(full).toString('base64');
  }
  return out;
}

/** The backup's configuration on disk, byte for byte: config/ (both collections) and the journal. */
function storeBytes(dir: string): Record<string, string> {
  const out = treeBytes(path.join(dir, 'config'));
  out['var/config-journal.ndjson'] = readFileSync(path.join(dir, 'var', 'config-journal.ndjson')).toString('base64');
  return out;
}

function lastJournalRevision(dir: string): number {
  const lines = readFileSync(path.join(dir, 'var', 'config-journal.ndjson'), 'utf8').split('\n').filter(Boolean);
  return lines.length === 0 ? 0 : (JSON.parse(lines.at(-1)!) as { revision: number }).revision;
}

/**
 * What the daemon serves is what is on its disk: every loaded resource has exactly its files
 * (content of the signature it committed, a Backup version exactly where it has one, resource.json
 * as loaded), no resource is on disk that it does not serve, and the journal ends at its revision.
 * Returns the problems found (empty when consistent). Synchronous, so it can be taken at the very
 * moment a failure is reported.
 */
function servedVersusDisk(t: TestDaemon): string[] {
  const store = t.daemon.config;
  const resourcesDir = path.join(t.dataDir, 'config', 'resources');
  const problems: string[] = [];
  const readJson = (f: string): unknown => (existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : undefined);
  const served = new Set<string>();
  for (const r of store.list()) {
    const dir = resourceDir(resourcesDir, r.collection, r.type.module, r.type.type, r.name);
    served.add(dir);
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
    // The store serves content from these files, checked against the signatures in its metadata.
    const signed = (f: string): string | undefined => {
      const v = readJson(path.join(dir, f));
      return v === undefined ? undefined : contentSignature(v);
    };
    if (signed('config.json') !== r.meta.signature) problems.push(`${r.collection}/${r.address}: config.json is not what is served`);
    if (signed('backupConfig.json') !== (r.hasBackup ? (r.meta.backupSignature ?? 'a Backup version') : undefined)) problems.push(`${r.collection}/${r.address}: backupConfig.json is not what is served`);
    if (!same(readJson(path.join(dir, 'resource.json')), r.meta)) problems.push(`${r.collection}/${r.address}: resource.json is not what is served`);
  }
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    const names = readdirSync(d);
    if (names.includes('config.json') && !served.has(d)) problems.push(`${path.relative(resourcesDir, d)} is on disk but not served`);
    for (const n of names) if (statSync(path.join(d, n)).isDirectory()) walk(path.join(d, n));
  };
  walk(resourcesDir);
  if (lastJournalRevision(t.dataDir) !== store.revision) problems.push(`journal ends at ${lastJournalRevision(t.dataDir)}, store at ${store.revision}`);
  return problems;
}

/** Copies of configuration or temp files left behind: var/ outside the archive, temp files in config/. */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, top: string): void => {
    if (!existsSync(d)) return;
    for (const n of readdirSync(d)) {
      const full = path.join(d, n);
      const rel = path.relative(dir, full);
      if (rel === path.join('var', 'archive')) continue;
      if (statSync(full).isDirectory()) walk(full, top);
      else if (top === 'var' ? /^(config|backupConfig|resource)\.json$/.test(n) : n.includes('.tmp-')) out.push(rel);
    }
  };
  walk(path.join(dir, 'var'), 'var');
  walk(path.join(dir, 'config'), 'config');
  return out;
}

interface Pair {
  master: TestDaemon;
  backup: TestDaemon;
}

const temps: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const t of temps.splice(0)) t.cleanup();
});

/** Data dirs are the test's (a restart reuses the backup's), removed after the daemons stop. */
async function startPair(): Promise<Pair> {
  const dirs = [makeTempDir(), makeTempDir()];
  temps.push(...dirs);
  const [master, backup] = await Promise.all([
    startTestDaemon({ systemName: 'dfs-master', logLevel: 'warn' }, dirs[0]!.dir),
    startTestDaemon({ systemName: 'dfs-backup', logLevel: 'warn' }, dirs[1]!.dir),
  ]);
  started.push(master, backup);
  await master.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
  await master.client.configureRedundancy({ role: 'Master', master: { pingRate: 200 } });
  for (let i = 0; i < 6; i++) await master.client.configSet(`opc-connection/plc${i}`, { endpointUrl: `opc.tcp://10.0.0.${i}:4840` });
  await master.client.configBackupAdd('opc-connection/plc0', { endpointUrl: 'opc.tcp://10.1.0.0:4840' });
  await backup.client.configureRedundancy({
    role: 'Backup',
    master: { host: '127.0.0.1', port: master.daemon.gan.listenerViews().plain.port!, enableSsl: false, reconnectPeriod: 50, pingRate: 200 },
  });
  await synced({ master, backup });
  return { master, backup };
}

/** Both InSync, the backup on the master's revision and acknowledged, the cores byte-equal. */
async function synced(p: Pair, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    'the pair to be InSync with equal cores',
    async () => {
      const [m, b] = await Promise.all([p.master.client.status(), p.backup.client.status()]);
      if (m.redundancy.sync.state !== 'InSync' || b.redundancy.sync.state !== 'InSync') return undefined;
      if (b.redundancy.sync.revision !== m.config.revision || m.redundancy.sync.peerRevision !== m.config.revision) return undefined;
      return JSON.stringify(coreHashes(p.backup.dataDir)) === JSON.stringify(coreHashes(p.master.dataDir)) ? true : undefined;
    },
    timeoutMs,
    25,
  );
}

const backupEvents = (p: Pair, type: string, after: number): EventRecord[] => p.backup.daemon.events.since(after).filter((e) => e.type === type);

/** The first sync.failed of the backup from now on, with `capture` run at that very moment (before any retry). */
function nextFailure<T>(p: Pair, capture: () => T): Promise<{ event: EventRecord; captured: T }> {
  return new Promise((resolve) => {
    const unsubscribe = p.backup.daemon.events.subscribe((e) => {
      if (e.type !== 'sync.failed') return;
      unsubscribe();
      resolve({ event: e, captured: capture() });
    });
  });
}

/** What the backup holds, taken at a failure: bytes, revisions, and whether it serves what is on disk. */
function holding(p: Pair): { bytes: Record<string, string>; revision: number; synced: number; problems: string[] } {
  const store = p.backup.daemon.config;
  return { bytes: storeBytes(p.backup.dataDir), revision: store.revision, synced: store.syncedRevision, problems: servedVersusDisk(p.backup) };
}

async function restartBackup(p: Pair): Promise<void> {
  const idx = started.indexOf(p.backup);
  await p.backup.stop();
  p.backup = await startTestDaemon({ systemName: 'dfs-backup', logLevel: 'warn' }, p.backup.dataDir);
  started[idx] = p.backup;
}

describe('disk faults during a sync: regressions', () => {
  it('regression: a replicated batch whose files cannot be written is not journaled, so the backup neither serves nor acknowledges it (was: journaled and served without its files)', async () => {
    const p = await startPair();
    const dir = p.backup.dataDir;
    const before = holding(p);
    const failure = nextFailure(p, () => holding(p));
    setFaultInjector((op, f) => (op === 'write' && f.startsWith(path.join(dir, 'config') + path.sep) ? fsError('ENOSPC', f) : null));
    await p.master.client.configSet('opc-connection/plc1', { endpointUrl: 'opc.tcp://10.7.7.7:4840' });
    const { event, captured } = await failure;
    expect(event.data.code).toBe('GW_ERR_STORAGE_WRITE_FAILED');
    expect(captured).toEqual(before);
    const m = await p.master.client.status();
    expect(m.redundancy.sync.peerRevision).toBeLessThan(m.config.revision);
    setFaultInjector(null);
    await synced(p);
    expect((await p.backup.client.configGet('opc-connection/plc1', 'primary')).content).toMatchObject({ endpointUrl: 'opc.tcp://10.7.7.7:4840' });
  });

  it('regression: a replicated batch whose config state file cannot be written is acknowledged, it is durable (was: refused and sent again)', async () => {
    const p = await startPair();
    const dir = p.backup.dataDir;
    const since = p.backup.daemon.events.since(0).at(-1)?.seq ?? 0;
    let hits = 0;
    setFaultInjector((_op, f) => (f === path.join(dir, 'var', 'config-state.json') ? (hits++, fsError('ENOSPC', f)) : null));
    await p.master.client.configSet('opc-connection/plc1', { endpointUrl: 'opc.tcp://10.7.7.8:4840' });
    const revision = (await p.master.client.status()).config.revision;
    await waitFor('the backup to acknowledge the change', async () => ((await p.master.client.status()).redundancy.sync.peerRevision === revision ? true : undefined), 5000, 20);
    // A replicated batch's state write waits for the store's checkpoint, once it is idle (~1 s).
    await waitFor('the backup to try writing its config state file', async () => (hits > 0 ? true : undefined), 5000, 20);
    expect(backupEvents(p, 'sync.failed', since)).toEqual([]);
    expect(servedVersusDisk(p.backup)).toEqual([]);
    setFaultInjector(null);
    const backupRevision = p.backup.daemon.config.revision;
    await restartBackup(p);
    expect(p.backup.daemon.config.revision).toBe(backupRevision);
    expect((await p.backup.client.configGet('opc-connection/plc1', 'primary')).content).toMatchObject({ endpointUrl: 'opc.tcp://10.7.7.8:4840' });
    await synced(p);
  });

  it('regression: a snapshot whose swap fails leaves no copy of the core and no swap intent behind, and the next start keeps the previous core (was: the staging left on the full disk, and the next start swapped in the snapshot reported as failed)', async () => {
    const p = await startPair();
    const dir = p.backup.dataDir;
    const before = holding(p);
    const failure = nextFailure(p, () => ({ ...holding(p), left: leftovers(dir), files: treeBytes(path.join(dir, 'var', 'sync')) }));
    // The first rename of the swap (the live core to the archive) fails.
    setFaultInjector((op, f) => (op === 'rename' && f.startsWith(path.join(dir, 'var') + path.sep) ? fsError('EROFS', f) : null));
    await p.backup.client.resync();
    const { event, captured } = await failure;
    expect(String(event.data.code)).toMatch(/^GW_ERR_/);
    expect(captured).toEqual({ ...before, left: [], files: {} });
    await restartBackup(p);
    setFaultInjector(null);
    expect(holding(p)).toEqual(before);
    await synced(p);
  });

  it('regression: a snapshot whose new core cannot be moved in puts the previous core back (was: no live core on disk until the next start)', async () => {
    const p = await startPair();
    const dir = p.backup.dataDir;
    const before = holding(p);
    const failure = nextFailure(p, () => holding(p));
    setFaultInjector((op, f) => (op === 'rename' && f === path.join(dir, 'config', 'resources', 'core') ? fsError('EIO', f) : null));
    await p.backup.client.resync();
    const { captured } = await failure;
    expect(captured).toEqual(before);
    setFaultInjector(null);
    await p.backup.client.resync();
    await synced(p);
    expect(leftovers(dir)).toEqual([]);
  });

  it('regression: a snapshot whose adoption cannot be committed is rolled back (was: the new core served under the old revision, its changes never journaled nor announced)', async () => {
    const p = await startPair();
    const dir = p.backup.dataDir;
    // A resource on the backup that the master does not have: the snapshot must remove it.
    const drift = path.join(dir, 'config', 'resources', 'core', 'opcua', 'opc-connection', 'drift');
    mkdirSync(drift, { recursive: true });
    writeFileSync(path.join(drift, 'config.json'), JSON.stringify({ endpointUrl: 'opc.tcp://10.9.9.9:4840' }));
    await p.backup.client.configRescan();
    const before = holding(p);
    const since = p.backup.daemon.events.since(0).at(-1)?.seq ?? 0;
    const failure = nextFailure(p, () => holding(p));
    // The journal's restart is the commit point of an adoption.
    setFaultInjector((op, f) => (op === 'write' && f === path.join(dir, 'var', 'config-journal.ndjson') ? fsError('ENOSPC', f) : null));
    await p.backup.client.resync();
    const { event, captured } = await failure;
    expect(event.data.code).toBe('GW_ERR_STORAGE_WRITE_FAILED');
    expect(captured).toEqual(before);
    expect((await p.backup.client.configGet('opc-connection/drift', 'primary')).content).toMatchObject({ endpointUrl: 'opc.tcp://10.9.9.9:4840' });
    expect(backupEvents(p, 'config.changed', since)).toEqual([]);
    expect(backupEvents(p, 'config.replaced', since)).toEqual([]);
    setFaultInjector(null);
    await p.backup.client.resync();
    await synced(p);
    expect(existsSync(drift)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });
});

/** One kind of sync the backup can be asked to apply, and how to start it. */
interface Phase {
  name: string;
  /** Make the next sync carry something new for the backup (outside any fault). */
  prepare(p: Pair, n: number, kind: number): Promise<void>;
  /** Start the sync (under the fault); returns the master changes it acknowledged. */
  trigger(p: Pair, n: number, kind: number): Promise<Array<{ address: string; version: 'primary' | 'backup'; content: unknown }>>;
  /** How many kinds of sync trigger() can start: each is recorded, and each fault point uses one that reaches it. */
  kinds: number;
  /** After the fault is removed: what brings the pair together again. */
  recover(p: Pair): Promise<void>;
}

const PHASES: Phase[] = [
  {
    name: 'full snapshot',
    kinds: 1,
    // A resource edited by hand on the backup and picked up by a rescan: the snapshot then has to
    // remove it, so it swaps in a different core and its adoption journals a change.
    async prepare(p, n) {
      const dir = path.join(p.backup.dataDir, 'config', 'resources', 'core', 'opcua', 'opc-connection', `drift${n}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ endpointUrl: `opc.tcp://10.9.${n % 250}.1:4840` }));
      await p.backup.client.configRescan();
    },
    async trigger(p) {
      await p.backup.client.resync();
      return [];
    },
    async recover(p) {
      const since = p.backup.daemon.events.since(0).at(-1)?.seq ?? 0;
      await p.backup.client.resync();
      await waitFor('a full snapshot once the fault is gone', () => backupEvents(p, 'sync.completed', since).some((e) => e.data.kind === 'full'), 15_000, 25);
    },
  },
  {
    name: 'replicated incremental batch',
    kinds: 3,
    // One master change per sync, so the fault lands in the one batch that carries it.
    async prepare(p, n, kind) {
      if (kind !== 2) return;
      await p.master.client.configSet(`opc-connection/bk${n}`, { endpointUrl: 'opc.tcp://10.3.0.1:4840' });
      await synced(p);
    },
    // Each kind writes a content file and resource.json on the backup; rotating covers create,
    // update and a Backup version.
    async trigger(p, n, kind) {
      const content = { endpointUrl: `opc.tcp://10.2.${n % 250}.1:4840` };
      switch (kind) {
        case 0:
          await p.master.client.configSet(`opc-connection/plc${n % 6}`, content);
          return [{ address: `opc-connection/plc${n % 6}`, version: 'primary', content }];
        case 1:
          await p.master.client.configSet(`opc-connection/inc${n}`, content);
          return [{ address: `opc-connection/inc${n}`, version: 'primary', content }];
        default:
          await p.master.client.configBackupAdd(`opc-connection/bk${n}`, content);
          return [{ address: `opc-connection/bk${n}`, version: 'backup', content }];
      }
    },
    // The backup retries on its own (a full snapshot after a refused batch).
    async recover() {},
  },
];

interface FaultState {
  /** The fault point was reached: from here on the injector refuses (all, or this class for EIO). */
  armed: boolean;
  hits: number;
  /** The commit point of this sync (journal append or restart) went through before the fault. */
  committedBeforeFault: boolean;
  appended: boolean;
}

function injectorFor(dir: string, cls: string, errno: Errno, s: FaultState) {
  return (op: StorageOp, file: string): NodeJS.ErrnoException | null => {
    if (!file.startsWith(dir + path.sep)) return null;
    const c = opClass(op, file, dir);
    if (!s.armed && c === cls) {
      s.armed = true;
      s.committedBeforeFault = s.appended;
    }
    if (s.armed && (errno !== 'EIO' || c === cls)) {
      s.hits += 1;
      return fsError(errno, file);
    }
    if (COMMIT_POINTS.includes(c)) s.appended = true;
    return null;
  };
}

/**
 * Record the classes of file operation the backup makes during fault-free syncs of `phase`, one of
 * each kind; each class is returned with the first kind that reached it.
 */
async function recordClasses(p: Pair, phase: Phase, n: number): Promise<Array<{ cls: string; kind: number }>> {
  const out: Array<{ cls: string; kind: number }> = [];
  const dir = p.backup.dataDir;
  for (let kind = 0; kind < phase.kinds; kind++) {
    await phase.prepare(p, n + kind, kind);
    setFaultInjector((op, file) => {
      if (file.startsWith(dir + path.sep)) {
        const cls = opClass(op, file, dir);
        if (!out.some((o) => o.cls === cls)) out.push({ cls, kind });
      }
      return null;
    });
    const since = p.backup.daemon.events.since(0).at(-1)?.seq ?? 0;
    await phase.trigger(p, n + kind, kind);
    await synced(p);
    setFaultInjector(null);
    expect(backupEvents(p, 'sync.failed', since), `${phase.name}: the fault-free sync failed`).toEqual([]);
  }
  return out;
}

describe('disk faults on the backup during a sync: a coded failure, the previous configuration intact, convergence', () => {
  it(`every file operation of a full snapshot and of a replicated batch, faulted with ${FULL ? 'each errno' : 'a rotating errno'} (${ROUNDS} round${ROUNDS > 1 ? 's' : ''}); restarts load cleanly`, async () => {
    const t0 = Date.now();
    const p = await startPair();
    const tally = { cases: 0, refused: 0, committed: 0, restarts: 0, codes: {} as Record<string, number>, points: {} as Record<string, string[]> };
    let n = 100;
    for (const phase of PHASES) {
      const points = await recordClasses(p, phase, n);
      n += phase.kinds;
      const classes = points.map((x) => x.cls);
      tally.points[phase.name] = classes;
      // A sync that writes nothing cannot be faulted: the recording must have seen the disk used.
      expect(classes.length, `${phase.name}: no file operation recorded`).toBeGreaterThan(1);
      expect(classes, phase.name).toContain(phase.name === 'full snapshot' ? JOURNAL_RESTART : JOURNAL_APPEND);
      if (phase.name === 'full snapshot') expect(classes.some((c) => c.startsWith('rename ')), 'the swap renames nothing').toBe(true);
      for (let round = 0; round < ROUNDS; round++) {
        for (const [ci, { cls, kind }] of points.entries()) {
          const errnos: readonly Errno[] = FULL ? ERRNOS : [ERRNOS[(ci + round) % ERRNOS.length]!];
          for (const errno of errnos) {
            n += 1;
            tally.cases += 1;
            const where = `${phase.name}, ${cls}, ${errno}`;
            await synced(p);
            await phase.prepare(p, n, kind);
            const dir = p.backup.dataDir;
            const before = { bytes: storeBytes(dir), revision: p.backup.daemon.config.revision, synced: p.backup.daemon.config.syncedRevision };
            const since = p.backup.daemon.events.since(0).at(-1)?.seq ?? 0;
            const s: FaultState = { armed: false, hits: 0, committedBeforeFault: false, appended: false };
            // Checked at the moment each failure is reported, before any retry can change the disk.
            const atFailure: Array<{ code: unknown; reason: unknown; problems: string[] }> = [];
            const unsubscribe = p.backup.daemon.events.subscribe((e) => {
              if (e.type !== 'sync.failed') return;
              const problems: string[] = [];
              // The event log swallows a listener's exception: a check that throws is a problem too.
              try {
                problems.push(...servedVersusDisk(p.backup));
                if (!s.committedBeforeFault) {
                  if (JSON.stringify(storeBytes(dir)) !== JSON.stringify(before.bytes)) problems.push('configuration files changed by a failed sync');
                  if (p.backup.daemon.config.revision !== before.revision) problems.push(`revision ${p.backup.daemon.config.revision}, was ${before.revision}`);
                  if (p.backup.daemon.config.syncedRevision !== before.synced) problems.push(`synced revision ${p.backup.daemon.config.syncedRevision}, was ${before.synced}`);
                }
              } catch (err) {
                problems.push(`check threw: ${String(err)}`);
              }
              atFailure.push({ code: e.data.code, reason: e.data.reason, problems });
            });
            setFaultInjector(injectorFor(dir, cls, errno, s));
            const changes = await phase.trigger(p, n, kind);
            // A refusal is reported; a fault after the commit point may instead let the sync finish.
            await waitFor(
              `${where}: the sync to fail or finish`,
              async () => {
                if (atFailure.length > 0) return true;
                if (!s.committedBeforeFault || !s.armed) return undefined;
                if (backupEvents(p, 'sync.completed', since).length > 0) return true;
                if (phase.name !== 'replicated incremental batch') return undefined;
                // A live batch ends with its acknowledgement, not an event.
                const m = await p.master.client.status();
                return m.redundancy.sync.peerRevision === m.config.revision ? true : undefined;
              },
              10_000,
              10,
            );
            expect(s.hits, `${where}: the fault was never reached`).toBeGreaterThan(0);
            for (const f of atFailure) {
              expect(f.code, `${where}: ${String(f.reason)}`).toMatch(/^GW_ERR_(STORAGE_WRITE_FAILED|SYNC_FAILED)$/);
              expect(String(f.reason), where).toContain(errno);
              expect(f.problems, `${where}: at the failure`).toEqual([]);
            }
            const m = await p.master.client.status();
            // Never acknowledged beyond what the backup holds durably.
            expect(m.redundancy.sync.peerRevision ?? 0, where).toBeLessThanOrEqual(p.backup.daemon.config.syncedRevision);
            if (s.committedBeforeFault) {
              tally.committed += 1;
              // A batch whose journal append went through is durable: refusing it would only make
              // the master send it again. An incremental one is acknowledged despite the fault.
              if (phase.name === 'replicated incremental batch') expect(m.redundancy.sync.peerRevision, `${where}: a durable batch was not acknowledged`).toBe(m.config.revision);
            } else {
              tally.refused += 1;
              expect(atFailure.length, `${where}: no sync.failed`).toBeGreaterThan(0);
              expect(['OutOfDate', 'Syncing'], where).toContain((await p.backup.client.status()).redundancy.sync.state);
              expect(await p.backup.client.configCheck(), where).toMatchObject({ ok: true, invalid: [] });
              expect(p.backup.daemon.ready, where).toBe(true);
            }
            for (const f of atFailure) tally.codes[String(f.code)] = (tally.codes[String(f.code)] ?? 0) + 1;
            unsubscribe();

            if (tally.cases % RESTART_EVERY === 0) {
              // Stopped with the disk still broken, started once it is repaired: loads what it had.
              const idx = started.indexOf(p.backup);
              await p.backup.stop();
              setFaultInjector(null);
              const atStop = storeBytes(dir);
              const revision = p.backup.daemon.config.revision;
              if (!s.committedBeforeFault) expect(atStop, `${where}: files changed by the stop`).toEqual(before.bytes);
              p.backup = await startTestDaemon({ systemName: 'dfs-backup', logLevel: 'warn' }, dir);
              started[idx] = p.backup;
              tally.restarts += 1;
              expect(p.backup.daemon.config.revision, `${where}: revision after the restart`).toBe(revision);
              expect(storeBytes(dir), `${where}: the restart changed the configuration`).toEqual(atStop);
              expect(await p.backup.client.configCheck(), where).toMatchObject({ ok: true, invalid: [] });
              // Under the store's lock: the restarted backup catches up at once, and a batch being
              // applied is on disk (or journaled) a moment before it is served.
              const backupNow = p.backup;
              expect(await backupNow.daemon.config.locked(async () => servedVersusDisk(backupNow)), where).toEqual([]);
            }
            setFaultInjector(null);
            await phase.recover(p);
            await synced(p);
            expect(servedVersusDisk(p.backup), `${where}: after convergence`).toEqual([]);
            expect(leftovers(dir), `${where}: left behind`).toEqual([]);
            // Nothing the master acknowledged is missing on the backup.
            for (const c of changes) expect((await p.backup.client.configGet(c.address, c.version)).content, where).toMatchObject(c.content as object);
          }
        }
      }
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    process.stdout.write(`disk faults during a sync: ${JSON.stringify(tally)} in ${secs} s\n`);
  }, 170_000);
});
