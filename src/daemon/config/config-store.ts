import path from 'node:path';

import type { ResourceAddress } from '../../core/config-address.js';
import type {
  Collection,
  JournalEntry,
  JournalOp,
  ResourceMeta,
  ResourceTypeInfo,
  VersionName,
} from '../../core/config-model.js';
import type { ConfigFileProblem } from '../../core/config-wire.js';
import { GwError } from '../../core/errors.js';
import { describeProblems } from '../../core/schema-errors.js';
import { archiveFolder } from '../data-dir.js';
import { SerialQueue } from '../storage/serial-queue.js';
import type { Logger } from '../logger.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { applyEntry, prepareEntries, prepareEntry } from './apply-entry.js';
import { replayDraft } from './replay-check.js';
import { diffDisk } from './disk-diff.js';
import { META_SCHEMA_ID, scanStore, type ScanResult, type ScannedResource } from './disk-scan.js';
import { draftEntry, nextMeta, type Draft } from './entry-draft.js';
import { ConfigJournal, DEFAULT_JOURNAL_MAX_BYTES } from './journal.js';
import { contentSignature } from './signature.js';
import { SnapshotContents } from './snapshot-contents.js';
import { byResource, foldIndex, indexEntryOf, indexKey, readStoreState, writeStoreState, type IndexEntry } from './store-state.js';

/** One loaded resource: its content exactly as stored, and its resource.json. */
export interface StoredResource {
  collection: Collection;
  type: ResourceTypeInfo;
  name: string | null;
  address: string;
  primary: Record<string, unknown>;
  backup: Record<string, unknown> | null;
  meta: ResourceMeta;
}

export interface ConfigStoreOptions {
  resourcesDir: string;
  varDir: string;
  schemas: SchemaRegistry;
  types: ReadonlyMap<string, ResourceTypeInfo>;
  logger: Logger;
  now?: () => Date;
  /** Called once per committed change, after its files are written. */
  onChange?: (entry: JournalEntry) => void;
  /** Bound of var/config-journal.ndjson (redundancy.json syncJournalMaxBytes). */
  journalMaxBytes?: number;
  /**
   * A full snapshot was swapped in by crash recovery just before this open, but never adopted: the
   * startup scan keeps its resource.json files as they are (the master's), so the core stays
   * exactly the snapshot.
   */
  recoveredSnapshot?: boolean;
}

export interface SnapshotSwap<S extends { archive: string | null }> {
  /**
   * Put the new core in place (under the store's lock); resolves with the var/archive/<time>
   * folder holding the previous core, or null when there was none (and whatever else the caller
   * wants back in `SnapshotAdoption.swapped`). A check that must pass before the swap belongs in
   * here too (a backup's last hash checks): it then runs while the store compares `contents`.
   */
  swap: () => Promise<S>;
  /**
   * The new core's files as received, when the caller holds them (else read from disk): compared
   * while `swap` runs, so they are trusted only once `swap` (which verifies them) succeeded.
   */
  contents?: SnapshotContents;
  /** Put the previous core back, when the adoption fails before its commit point. */
  unswap?: () => Promise<void>;
}

export interface SnapshotAdoption<S = { archive: string | null }> {
  /** What `swap` resolved with. */
  swapped: S;
  /** This store's revision after the adoption (one revision for the whole snapshot). */
  revision: number;
  created: number;
  updated: number;
  deleted: number;
  changes: Array<Pick<JournalEntry, 'address' | 'version' | 'op'>>;
  /** ms from the start of the adoption: swap done (durable and in place), core parsed, all done. */
  timings: { swapMs: number; scanMs: number; totalMs: number };
}

export interface WriteOutcome {
  entry: JournalEntry | null;
  op: JournalOp;
}


/**
 * The configuration store: config/resources/{core,local}/..., its revision and its journal.
 *
 * Commit order, and why: (1) append the journal entry and fsync it, the commit point; (2) update
 * memory; (3) write the resource files, each atomically; (4) write var/config-state.json with the
 * new revision. A crash before (1) completes leaves a torn journal line that is cut off at the next
 * start, and no file was touched: the change never happened. A crash after (1) leaves an entry above
 * the state's revision: the next start applies it again from its full content (applying is
 * idempotent), so the files always end up as the journal says. Writing files first would instead
 * leave changes on disk that the journal, and so the peer, never hears of.
 *
 * Every mutation runs one at a time, so revisions are dense and journal order is commit order.
 */
export class ConfigStore {
  revision = 0;
  /** The master's revision applied here by replay() or adoptSnapshot(); 0 on a store never synced. */
  syncedRevision = 0;
  /** Files that failed to parse or validate at the last scan (startup or rescan). */
  problems: ConfigFileProblem[] = [];
  private readonly resources = new Map<string, StoredResource>();
  private index: Record<string, IndexEntry> = {};
  private invalidKeys = new Set<string>();
  private readonly queue = new SerialQueue();
  private readonly subscribers = new Set<(entry: JournalEntry) => void>();
  /** Bound of the journal file; compacted (newest half kept) when a commit takes it over. */
  journalMaxBytes: number;
  private readonly now: () => Date;
  private readonly stateFile: string;

  private constructor(
    private readonly options: ConfigStoreOptions,
    private readonly journal: ConfigJournal,
  ) {
    this.now = options.now ?? (() => new Date());
    this.journalMaxBytes = options.journalMaxBytes ?? DEFAULT_JOURNAL_MAX_BYTES;
    this.stateFile = path.join(options.varDir, 'config-state.json');
  }

  get types(): ReadonlyMap<string, ResourceTypeInfo> {
    return this.options.types;
  }

  /** The oldest revision still in the journal (null when empty): a peer behind it cannot resume. */
  get journalFirst(): number | null {
    return this.journal.first;
  }

  get journalBytes(): number {
    return this.journal.size;
  }

  /**
   * Listen to every committed change (after its files are written, under the store's lock, in
   * commit order). Besides `onChange`; returns the unsubscribe function.
   */
  subscribe(listener: (entry: JournalEntry) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  /**
   * Run `fn` under the store's exclusive lock: no commit, rescan or replay runs meanwhile, so what
   * `fn` reads of the disk is exactly the store at `this.revision` (the sync engine takes its
   * snapshots here).
   */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.exclusive(fn);
  }

  /** Open the store: finish any change a crash interrupted, then load the disk and journal hand edits. */
  static async open(options: ConfigStoreOptions): Promise<{ store: ConfigStore; startup: JournalEntry[] }> {
    const { journal, entries, base, truncatedBytes, badLines } = await ConfigJournal.open(path.join(options.varDir, 'config-journal.ndjson'));
    const store = new ConfigStore(options, journal);
    if (truncatedBytes > 0) options.logger.warn({ file: journal.file, bytes: truncatedBytes }, 'cut a torn last line off the config journal');
    if (badLines.length > 0) options.logger.warn({ file: journal.file, lines: badLines }, 'config journal has damaged lines; they are skipped');

    const state = await readStoreState(store.stateFile);
    if (state) {
      store.revision = state.revision;
      store.syncedRevision = state.syncedRevision ?? 0;
      store.index = state.index;
    } else {
      // No state file (first start, or removed): the journal's history is the committed state.
      for (const e of entries) {
        foldIndex(store.index, e);
        store.syncedRevision = Math.max(store.syncedRevision, e.sourceRevision ?? 0);
      }
      store.revision = entries.at(-1)?.revision ?? 0;
    }
    // The journal restarted at a snapshot adoption the state file does not show (a crash between
    // the two, or a write of the state file that failed): the disk holds the snapshot.
    const adoptionInterrupted = base !== null && store.revision < base.revision;
    if (base !== null) {
      store.revision = Math.max(store.revision, base.revision);
      store.syncedRevision = Math.max(store.syncedRevision, base.sourceRevision);
    }
    const pending = entries.filter((e) => e.revision > store.revision);
    for (const e of pending) {
      await applyEntry(options.resourcesDir, e);
      foldIndex(store.index, e);
      store.revision = e.revision;
      store.syncedRevision = Math.max(store.syncedRevision, e.sourceRevision ?? 0);
    }
    if (pending.length > 0) {
      options.logger.warn({ revisions: pending.map((e) => e.revision) }, 'applied config changes interrupted by a crash');
      await store.saveState();
    }
    if (adoptionInterrupted) await store.finishAdoption(base!.revision);
    const startup = await store.reconcile('gwd:startup-scan', undefined, options.recoveredSnapshot ?? false);
    return { store, startup };
  }

  get(collection: Collection, address: string): StoredResource | undefined {
    return this.resources.get(indexKey(collection, address));
  }

  list(): StoredResource[] {
    return [...this.resources.values()].sort((a, b) => a.address.localeCompare(b.address) || a.collection.localeCompare(b.collection));
  }

  /** Problems of the files of one resource, when it is invalid on disk. */
  problemsOf(collection: Collection, address: string): ConfigFileProblem[] {
    return this.problems.filter((p) => p.collection === collection && p.resource === address);
  }

  /** Create or replace the Primary or the Backup version. Same content again is not a change. */
  put(addr: ResourceAddress, collection: Collection, version: VersionName, content: unknown, actor: string): Promise<WriteOutcome> {
    return this.exclusive(async () => {
      const value = this.validated(addr, version, content);
      const existing = this.writable(addr, collection);
      const signature = contentSignature(value);
      if (version === 'backup' && !existing) throw notFound(addr, 'Primary version', collection);
      const previous = version === 'primary' ? existing?.meta.signature : existing?.meta.backupSignature;
      const op: JournalOp = previous ? 'update' : 'create';
      if (previous === signature) return { entry: null, op };
      const meta = this.nextMeta(existing?.meta, actor, version === 'primary' ? { signature } : { backupSignature: signature });
      const entry = await this.commit(this.draft(addr, collection, version, op, value, meta, actor));
      return { entry, op };
    });
  }

  /** Create the Backup version; a copy of the Primary when no content is given. */
  addBackup(addr: ResourceAddress, collection: Collection, content: unknown, actor: string): Promise<WriteOutcome> {
    return this.exclusive(async () => {
      const existing = this.writable(addr, collection);
      if (!existing) throw notFound(addr, 'Primary version', collection);
      if (existing.backup) throw new GwError('GW_ERR_CONFIG_EXISTS', { resource: addr.address, what: 'Backup version' });
      const value = this.validated(addr, 'backup', content ?? structuredClone(existing.primary));
      const meta = this.nextMeta(existing.meta, actor, { backupSignature: contentSignature(value) });
      const entry = await this.commit(this.draft(addr, collection, 'backup', 'create', value, meta, actor));
      return { entry, op: 'create' };
    });
  }

  removeBackup(addr: ResourceAddress, collection: Collection, actor: string): Promise<WriteOutcome> {
    return this.exclusive(async () => {
      const existing = this.writable(addr, collection);
      if (!existing?.backup) throw notFound(addr, 'Backup version', collection);
      const meta = this.nextMeta(existing.meta, actor, { backupSignature: null });
      const entry = await this.commit(this.draft(addr, collection, 'backup', 'delete', null, meta, actor));
      return { entry, op: 'delete' };
    });
  }

  /** Delete the resource (both versions) from one collection. */
  delete(addr: ResourceAddress, collection: Collection, actor: string): Promise<WriteOutcome> {
    return this.exclusive(async () => {
      const existing = this.writable(addr, collection);
      if (!existing) throw notFound(addr, 'Primary version', collection);
      if (addr.type.required && collection === 'core') throw new GwError('GW_ERR_CONFIG_REQUIRED', { resource: addr.address });
      const entry = await this.commit(this.draft(addr, collection, 'primary', 'delete', null, null, actor));
      return { entry, op: 'delete' };
    });
  }

  /**
   * What rescan() would find now, changing nothing (gwctl config check): every bad file on disk and
   * the changes it would journal against what was last committed. Under the store's lock, so no
   * commit is half on disk while the files are read.
   */
  previewRescan(): Promise<{ problems: ConfigFileProblem[]; changes: Draft[]; resources: number }> {
    return this.exclusive(async () => {
      const scan = await scanStore(this.options.resourcesDir, this.types, this.options.schemas);
      const changes = diffDisk(scan, this.index, this.types, { actor: 'check', timestamp: this.now().toISOString() });
      return { problems: scan.problems, changes, resources: scan.resources.length };
    });
  }

  /** Pick up files changed by hand (a git pull): journal every difference, report every bad file. */
  rescan(actor: string): Promise<JournalEntry[]> {
    return this.exclusive(() => this.reconcile(actor));
  }

  /**
   * Apply a change committed on the master (an entry of its journal). It is committed here under
   * this store's next revision, keeping the master's as `sourceRevision`; an entry at or below the
   * master revision already applied is skipped, so replaying is idempotent and survives a restart.
   * Only `core` is ever replicated.
   */
  replay(entry: JournalEntry): Promise<boolean> {
    return this.exclusive(async () => {
      if (entry.revision <= this.syncedRevision) return false;
      await this.commit(this.replayChecked(entry, new Map()));
      return true;
    });
  }

  /**
   * replay() for a batch, in order, committed together: one journal write and fsync and one state
   * write for the whole batch instead of one per entry. Every entry is checked before anything is
   * written, so a batch with a forged entry changes nothing. Returns how many were applied.
   */
  replayBatch(entries: readonly JournalEntry[]): Promise<number> {
    return this.exclusive(async () => {
      let last = this.syncedRevision;
      const drafts: Draft[] = [];
      const present = new Map<string, boolean>();
      for (const e of entries) {
        if (e.revision <= last) continue;
        drafts.push(this.replayChecked(e, present));
        last = e.revision;
      }
      if (drafts.length === 0) return 0;
      const committed = await this.commitBatch(drafts);
      return committed.length;
    });
  }

  /**
   * replayDraft(), and an entry that removes the Backup version of a resource this node does not
   * have is refused: it would leave a lone resource.json behind, and it means this node missed
   * something (the sync engine asks for a full snapshot then). `present`: what the entries before
   * it in the same batch created or removed.
   */
  private replayChecked(entry: JournalEntry, present: Map<string, boolean>): Draft {
    const draft = replayDraft(entry, this.types);
    const key = indexKey(entry.collection, entry.address);
    const exists = present.get(key) ?? this.resources.has(key);
    if (entry.deleted && entry.version === 'backup' && !exists) {
      throw new GwError('GW_ERR_CONFIG_INVALID', { resource: entry.address, version: entry.version, detail: 'it removes the Backup version of a resource this node does not have' });
    }
    if (entry.version === 'primary') present.set(key, !entry.deleted);
    return draft;
  }

  /**
   * After the sync engine swapped a full snapshot of the master's core into place (inside `swap`,
   * under this store's lock, so no rescan or write sees a half-swapped core): load the new core and
   * record the master's revision it was taken at.
   *
   * A snapshot is adopted as one revision, not journaled resource by resource: its files are
   * already in place and durable (verified against the master's hashes), so the journal has nothing
   * to roll forward, and journaling every resource's full content again cost most of a full sync
   * (10,000 resources: 45 MB appended, every file read back). The commit point is the journal's
   * restart: it begins again with a base line at this revision, its history moved to the archive
   * next to the previous core, so a peer of this node that is behind the snapshot cannot resume
   * across it and gets a full snapshot itself. Before that point a failure puts the previous core
   * back (`unswap`). `contents`, when the caller has them, are the new core's files (paths relative
   * to it) and spare reading them back.
   */
  adoptSnapshot<S extends { archive: string | null }>(sourceRevision: number, snapshot: SnapshotSwap<S>): Promise<SnapshotAdoption<S>> {
    return this.exclusive(async () => {
      const { contents } = snapshot;
      const revision = this.revision + 1;
      const plan = async (): Promise<{ scan: ScanResult; drafts: Draft[] }> => {
        const scan = await scanStore(this.options.resourcesDir, this.types, this.options.schemas, { collections: ['core'], preloaded: contents });
        return { scan, drafts: this.adoptionDrafts(scan, sourceRevision, contents) };
      };
      const t0 = performance.now();
      const timed = <T>(p: Promise<T>): Promise<[T, number]> => p.then((v) => [v, performance.now() - t0]);
      const swapping = timed(snapshot.swap());
      // With the files in hand, parsing and comparing them needs no disk: it runs while the swap
      // waits for the disk (the staged files are made durable first); without, the swapped-in core
      // is read. Both settle before going on: a refused swap's comparison must not outlive this lock.
      const planning = contents ? timed(plan()) : swapping.then(() => timed(plan()));
      const [swapResult, planResult] = await Promise.allSettled([swapping, planning]);
      if (swapResult.status === 'rejected') throw swapResult.reason;
      if (planResult.status === 'rejected') {
        // Swapped in, but the new core could not be read: the previous one goes back.
        await snapshot.unswap?.();
        throw planResult.reason;
      }
      const [swapped, swapMs] = swapResult.value;
      const [{ scan, drafts }, scanMs] = planResult.value;
      const entries = drafts.map((d): JournalEntry => ({ revision, ...d }));
      try {
        // Only resource.json files the master's did not match are written (rare: hand edits on
        // the master not yet rescanned); everything else is on disk as the master has it.
        const onDisk = filesAlreadyOnDisk(scan.resources, drafts);
        await (await prepareEntries(this.options.resourcesDir, entries.filter((_, i) => !onDisk.has(drafts[i]!)))).apply();
        // The commit point: the journal restarts at this revision. A crash right after it leaves
        // the state file behind the journal's base, and the next start loads the core from the
        // disk keeping the master's metadata (open()).
        const folder = swapped.archive ?? archiveFolder(this.options.varDir, this.now());
        await this.journal.restart(path.join(folder, 'config-journal.ndjson'), { revision, sourceRevision, timestamp: this.now().toISOString() });
      } catch (err) {
        // Not adopted (a full disk, an I/O error): memory was not touched, and the previous core
        // goes back in place on disk, instead of a new core being served under the old revision.
        await snapshot.unswap?.();
        throw err;
      }
      // As for a rescan: resources with an invalid file keep what was loaded (no draft for them).
      this.revision = revision;
      this.syncedRevision = sourceRevision;
      this.load(scan.resources, 'sync:snapshot');
      for (const e of entries) {
        this.applyInMemory(e);
        foldIndex(this.index, e);
      }
      this.problems = [...this.problems.filter((p) => p.collection !== 'core'), ...scan.problems];
      this.invalidKeys = new Set([...[...this.invalidKeys].filter((k) => !k.startsWith('core/')), ...scan.invalidKeys]);
      // Adopted (the journal says so); a stale state file is caught up at the next start. So the
      // caller need not wait for it (10,000 resources: ~1.3 MB and an fsync): it is queued behind
      // this job in the store's queue, which close() waits for to its end.
      void this.queue.run(() => this.saveStateOrWarn());
      const count = (op: JournalOp): number => drafts.filter((d) => d.op === op).length;
      const timings = { swapMs: Math.round(swapMs), scanMs: Math.round(scanMs), totalMs: Math.round(performance.now() - t0) };
      return { swapped, revision, created: count('create'), updated: count('update'), deleted: count('delete'), changes: drafts.map(({ address, version, op }) => ({ address, version, op })), timings };
    });
  }

  /**
   * A holder for the files of a full snapshot as they arrive, which parses, signs and checks each
   * resource version against its type's schema meanwhile (adoptSnapshot then finds that done). The
   * type is taken from the path as the scan will (`<module>/<type>/[<name>/]<file>`); a check of a
   * path the scan reads otherwise is simply not used.
   */
  snapshotContents(): SnapshotContents {
    return new SnapshotContents(
      (rel, value) => {
        const parts = rel.split('/');
        const type = this.types.get(parts[1] ?? '');
        if (!type || type.module !== parts[0] || parts.length !== (type.singleton ? 3 : 4)) return undefined;
        return { schemaId: type.schemaId, result: this.options.schemas.check(type.schemaId, value) };
      },
      (value) => ({ schemaId: META_SCHEMA_ID, result: this.options.schemas.validate(META_SCHEMA_ID, value) }),
    );
  }

  /** What adopting the scanned core changes, as drafts against what this store last committed. */
  private adoptionDrafts(scan: ScanResult, sourceRevision: number, contents?: SnapshotContents): Draft[] {
    for (const p of scan.problems) this.options.logger.warn({ file: p.path, problems: p.problems }, 'config file is invalid; not loaded, left untouched');
    const coreIndex: Record<string, IndexEntry> = {};
    for (const [key, entry] of Object.entries(this.index)) if (key.startsWith('core/')) coreIndex[key] = entry;
    const sign = contents && ((content: Record<string, unknown>) => contents.signature(content));
    return diffDisk(scan, coreIndex, this.types, { actor: 'sync:snapshot', timestamp: this.now().toISOString(), sourceRevision, keepMeta: true, sign });
  }

  /**
   * Record that the master's changes up to `sourceRevision` are all here, when the last of them were
   * ones never replicated (the master's local resources): without it the backup would look behind.
   */
  noteSynced(sourceRevision: number): Promise<void> {
    return this.exclusive(async () => {
      if (sourceRevision <= this.syncedRevision) return;
      this.syncedRevision = sourceRevision;
      await this.saveState();
    });
  }

  /** Journal entries after `revision`, for a peer that resumes. */
  since(revision: number): Promise<JournalEntry[]> {
    return this.journal.since(revision);
  }

  async close(): Promise<void> {
    await this.queue.idle();
    await this.journal.close();
  }

  // --- internals ---

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }

  private validated(addr: ResourceAddress, version: VersionName, content: unknown): Record<string, unknown> {
    const value = structuredClone(content);
    const result = this.options.schemas.validate<Record<string, unknown>>(addr.type.schemaId, value);
    if (!result.ok) {
      throw new GwError(
        'GW_ERR_CONFIG_INVALID',
        { resource: addr.address, version, detail: describeProblems(result.problems) },
        { resource: addr.address, version, problems: result.problems },
      );
    }
    return result.value;
  }

  /** The resource as loaded, refusing when one of its files on disk is invalid (never overwrite it). */
  private writable(addr: ResourceAddress, collection: Collection): StoredResource | undefined {
    const key = indexKey(collection, addr.address);
    if (this.invalidKeys.has(key)) {
      const first = this.problemsOf(collection, addr.address)[0];
      throw new GwError(
        'GW_ERR_CONFIG_FILE_INVALID',
        { resource: addr.address, file: first?.path ?? '?', detail: first ? describeProblems(first.problems) : 'invalid' },
        { invalid: this.problemsOf(collection, addr.address) },
      );
    }
    return this.resources.get(key);
  }

  private nextMeta(previous: ResourceMeta | undefined, actor: string, change: Partial<ResourceMeta>): ResourceMeta {
    return nextMeta(previous, actor, this.now().toISOString(), change);
  }

  private draft(
    addr: Pick<ResourceAddress, 'type' | 'name' | 'address'>,
    collection: Collection,
    version: VersionName,
    op: JournalOp,
    content: Record<string, unknown> | null,
    meta: ResourceMeta | null,
    actor: string,
  ): Draft {
    return draftEntry(addr, collection, version, op, content, meta, actor, meta?.lastModification.timestamp ?? this.now().toISOString());
  }

  /**
   * Several changes committed together, in order, as record() commits one: the files of all of them
   * staged first, then one journal append and fsync (the commit point of all of them), then the
   * renames, then one state write. A failure before the append leaves none of them, on disk or in
   * memory; after it, the next start rolls every one forward, as for a single commit.
   */
  private async commitBatch(drafts: readonly Draft[], onDisk?: ReadonlySet<Draft>): Promise<JournalEntry[]> {
    if (drafts.length === 0) return [];
    const committed = drafts.map((d, i): JournalEntry => ({ revision: this.revision + 1 + i, ...d }));
    // Staged before the append: a replicated batch that does not fit on the disk is refused whole
    // (the backup keeps its configuration and does not acknowledge it) instead of being journaled
    // and served with its files missing.
    const prepared = await prepareEntries(this.options.resourcesDir, onDisk ? committed.filter((_, i) => !onDisk.has(drafts[i]!)) : committed);
    try {
      await this.journal.appendMany(committed);
    } catch (err) {
      await prepared.abort();
      throw err;
    }
    for (const entry of committed) {
      this.revision = entry.revision;
      if (entry.sourceRevision !== undefined) this.syncedRevision = Math.max(this.syncedRevision, entry.sourceRevision);
      this.applyInMemory(entry);
      foldIndex(this.index, entry);
    }
    try {
      await prepared.apply();
    } catch (err) {
      this.options.logger.error({ err, revisions: [committed[0]!.revision, committed.at(-1)!.revision] }, 'config changes are journaled but their files could not be written');
      throw err;
    }
    // Durable (journal and files): a stale state file only makes the next start apply them again.
    await this.saveStateOrWarn();
    for (const entry of committed) this.announce(entry);
    await this.compactJournal();
    return committed;
  }

  private async commit(draft: Draft): Promise<JournalEntry> {
    const entry: JournalEntry = { revision: this.revision + 1, ...draft };
    await this.record(entry);
    return entry;
  }

  private async record(entry: JournalEntry): Promise<void> {
    // Stage the files first: a write that fails here (full disk, I/O error, read-only) refuses the
    // change before it is journaled, so memory, disk and journal all keep the previous version.
    const prepared = await prepareEntry(this.options.resourcesDir, entry);
    try {
      await this.journal.append(entry);
    } catch (err) {
      await prepared.abort();
      throw err;
    }
    this.revision = entry.revision;
    if (entry.sourceRevision !== undefined) this.syncedRevision = Math.max(this.syncedRevision, entry.sourceRevision);
    this.applyInMemory(entry);
    foldIndex(this.index, entry);
    try {
      await prepared.apply();
    } catch (err) {
      // Committed in the journal: the next start writes the files again (roll-forward).
      this.options.logger.error({ err, revision: entry.revision }, 'config change is journaled but its files could not be written');
      throw err;
    }
    // The change is durable (journal and files); a stale state file only makes the next start
    // apply the entries above its revision again, which is idempotent. Not a refusal.
    await this.saveStateOrWarn();
    this.announce(entry);
    await this.compactJournal();
  }

  private announce(entry: JournalEntry): void {
    this.options.onChange?.(entry);
    for (const listener of this.subscribers) {
      try {
        listener(entry);
      } catch (err) {
        this.options.logger.error({ err, revision: entry.revision }, 'a config change listener threw');
      }
    }
  }

  /** A failed compaction leaves the journal as it was (the rename is atomic): log it and go on. */
  private async compactJournal(): Promise<void> {
    try {
      const done = await this.journal.compactIfOver(this.journalMaxBytes);
      if (done) this.options.logger.info({ file: this.journal.file, ...done }, 'compacted the config journal');
    } catch (err) {
      this.options.logger.error({ err }, 'config journal compaction failed; it keeps growing until the next try');
    }
  }

  private applyInMemory(entry: JournalEntry): void {
    const key = indexKey(entry.collection, entry.address);
    if (entry.deleted && entry.version === 'primary') {
      this.resources.delete(key);
      return;
    }
    const type = this.types.get(entry.type)!;
    const current = this.resources.get(key);
    const next: StoredResource = current
      ? { ...current }
      : { collection: entry.collection, type, name: entry.name, address: entry.address, primary: {}, backup: null, meta: entry.meta! };
    if (entry.version === 'primary') next.primary = entry.content!;
    else next.backup = entry.deleted ? null : entry.content;
    if (entry.meta) next.meta = entry.meta;
    this.resources.set(key, next);
  }

  /**
   * The state file is behind an adopted snapshot: the core on disk is the snapshot, committed at
   * `revision` by the journal's restart, so the index of core is taken from the disk as it is (the
   * master's resource.json files), with nothing journaled, and the state file caught up.
   */
  private async finishAdoption(revision: number): Promise<void> {
    const scan = await scanStore(this.options.resourcesDir, this.types, this.options.schemas, { collections: ['core'] });
    for (const key of Object.keys(this.index)) if (key.startsWith('core/')) delete this.index[key];
    for (const r of scan.resources) {
      if (r.meta) this.index[indexKey(r.collection, r.address)] = indexEntryOf(r.meta);
    }
    this.options.logger.warn({ revision }, 'the config state file was behind an adopted full snapshot; caught up from the disk');
    await this.saveStateOrWarn();
  }

  /** Resources as scanned into memory; the drafts committed after it bring their metadata. */
  private load(scanned: readonly ScannedResource[], actor: string): void {
    for (const { metaAsOnDisk: _, ...r } of scanned) {
      // A resource without resource.json gets its metadata from the create entry that follows.
      this.resources.set(indexKey(r.collection, r.address), { ...r, meta: r.meta ?? this.nextMeta(undefined, actor, {}) });
    }
  }

  /**
   * saveState() where what it records is already durable elsewhere (the journal, the files): a
   * failure is a warning, and the next change or start writes the file again.
   */
  private async saveStateOrWarn(): Promise<void> {
    try {
      await this.saveState();
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message, revision: this.revision }, 'could not update the config state file; it is rewritten at the next change');
    }
  }

  private async saveState(): Promise<void> {
    await writeStoreState(this.stateFile, {
      version: 1,
      revision: this.revision,
      syncedRevision: this.syncedRevision,
      index: this.index,
    });
  }

  /**
   * Compare the disk with what was last committed and journal every difference as a change by
   * `actor` (see disk-diff.ts). Every valid resource on disk is loaded first, so a change to only
   * its Backup version lands on the loaded Primary; resources with an invalid file keep what was
   * loaded before.
   */
  private async reconcile(actor: string, sourceRevision?: number, keepMeta = false): Promise<JournalEntry[]> {
    const scan = await scanStore(this.options.resourcesDir, this.types, this.options.schemas);
    this.problems = scan.problems;
    this.invalidKeys = scan.invalidKeys;
    for (const p of scan.problems) this.options.logger.warn({ file: p.path, problems: p.problems }, 'config file is invalid; not loaded, left untouched');
    this.load(scan.resources, actor);
    const drafts = diffDisk(scan, this.index, this.types, { actor, timestamp: this.now().toISOString(), sourceRevision, keepMeta });
    // One batch: a rescan or a snapshot adoption of thousands of resources costs one fsync, not thousands.
    return this.commitBatch(drafts, filesAlreadyOnDisk(scan.resources, drafts));
  }
}

/**
 * The drafts of a disk scan whose files are already exactly on disk, so applying them would only
 * re-read every file to find nothing to write (for a snapshot of 10,000 resources that was 2 s).
 * Their content came from the disk; what may differ is resource.json, which is left to apply
 * unless every draft of the resource carries the scanned metadata itself, unchanged by defaults.
 * Deletes are always applied (they only remove what is left).
 */
function filesAlreadyOnDisk(scanned: readonly ScannedResource[], drafts: readonly Draft[]): Set<Draft> {
  const byKey = byResource(drafts);
  const out = new Set<Draft>();
  for (const r of scanned) {
    const group = byKey.get(indexKey(r.collection, r.address));
    if (!group) continue;
    if (group.some((d) => d.deleted && d.version === 'primary')) continue;
    // Metadata taken over as scanned (a snapshot's, kept as the master wrote it) is the file's own;
    // any other (a change found by a rescan) is new and must be written.
    if (!r.metaAsOnDisk || group.some((d) => d.meta !== r.meta)) continue;
    for (const d of group) out.add(d);
  }
  return out;
}

function notFound(addr: ResourceAddress, what: string, collection: Collection): GwError {
  return new GwError('GW_ERR_CONFIG_NOT_FOUND', { resource: addr.address, what: `${what} in ${collection}` }, { resource: addr.address, collection });
}
