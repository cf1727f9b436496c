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
import { collectGarbage } from '../collect-garbage.js';
import { describeFsError, readIfExists } from '../storage/atomic-write.js';
import { FileBatchThread } from '../storage/file-batch.js';
import { SerialQueue } from '../storage/serial-queue.js';
import type { Logger } from '../logger.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { applyEntry, prepareEntries, prepareEntry, syncDirty, type DirtyFiles } from './apply-entry.js';
import { checkReplayed, draftOfReplayed } from './replay-check.js';
import { diffDisk, diffVisitor, removedDrafts, type DiffOptions } from './disk-diff.js';
import { scanStore, type ScannedContent, type ScannedResource } from './disk-scan.js';
import { draftEntry, nextMeta, type Draft } from './entry-draft.js';
import { ConfigJournal, DEFAULT_JOURNAL_MAX_BYTES } from './journal.js';
import { SharedStrings } from './shared-strings.js';
import { contentSignature } from './signature.js';
import { SnapshotContents } from './snapshot-contents.js';
import { resourceDir, versionFile } from './resource-paths.js';
import { byResource, foldIndex, indexEntryOf, indexKey, readStoreState, writeStoreState, type IndexEntry } from './store-state.js';

/**
 * One loaded resource: its resource.json and whether it has a Backup version. Its content stays on
 * disk and is read on demand (read()): the store's memory does not grow with the configuration
 * (100,000 resources held as objects were 1.2 GB). Singleton types (one resource per type, such as
 * gateway-settings) are few and read on hot paths, so their content is held as well.
 */
export interface StoredResource {
  collection: Collection;
  type: ResourceTypeInfo;
  name: string | null;
  address: string;
  hasBackup: boolean;
  meta: ResourceMeta;
  /** The content of a singleton type, as committed; null for named resources (read from disk). */
  held: HeldContent | null;
}

export interface HeldContent {
  primary: Record<string, unknown> | null;
  backup: Record<string, unknown> | null;
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
  /** How long the store waits without a replicated batch before its checkpoint (default 1 s). */
  checkpointIdleMs?: number;
  /**
   * A full snapshot was swapped in by crash recovery just before this open, but never adopted: the
   * startup scan keeps its resource.json files as they are (the master's), so the core stays
   * exactly the snapshot.
   */
  recoveredSnapshot?: boolean;
  /** A snapshot's adoption collects its garbage every this many resources (default ADOPTION_GC_EVERY). */
  adoptionCollectEvery?: number;
  /** One full garbage collection (default collectGarbage; a test counts them). */
  collectGarbage?: () => void;
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
  /**
   * Told each change the adoption makes (resource, version, operation), before its commit point.
   * No list is kept otherwise: a snapshot of 100,000 resources makes 200,000 of them, ~16 MB at
   * the backup's peak, for nobody but a caller that wants them.
   */
  onChange?: (change: AdoptedChange) => void;
}

/** One change of an adopted snapshot. */
export type AdoptedChange = Pick<JournalEntry, 'address' | 'version' | 'op'>;

export interface SnapshotAdoption<S = { archive: string | null }> {
  /** What `swap` resolved with. */
  swapped: S;
  /** This store's revision after the adoption (one revision for the whole snapshot). */
  revision: number;
  created: number;
  updated: number;
  deleted: number;
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
 * Replicated batches (replayBatch) write their files without fsync: the journal holds their whole
 * content and is fsync'd, so they are durable as they are acknowledged, and (4) waits for a
 * checkpoint that fsyncs every file and directory written since the last one (once the store is
 * idle, before any other state write, compaction, adoption or close, or past DIRTY_MAX_PATHS).
 * Until then the state file stays at the last checkpoint's revision and a crash rolls those
 * entries forward. An fsync per file per commit made a burst's apply several times slower than its
 * journal's fsync (a batch of 200 resources: 400 file and 200 directory fsyncs).
 *
 * Every mutation runs one at a time, so revisions are dense and journal order is commit order.
 */
export class ConfigStore {
  revision = 0;
  /** The master's revision applied here by replay() or adoptSnapshot(); 0 on a store never synced. */
  syncedRevision = 0;
  /** Files that failed to parse or validate at the last scan (startup or rescan). */
  problems: ConfigFileProblem[] = [];
  private resources = new Map<string, StoredResource>();
  private index: Record<string, IndexEntry> = {};
  private invalidKeys = new Set<string>();
  /** Committed content found in the journal for files changed on disk since (committedFromJournal). */
  private readonly recovered = new Map<string, Partial<Record<VersionName, { signature: string; content: Record<string, unknown> }>>>();
  private readonly queue = new SerialQueue();
  private readonly subscribers = new Set<(entry: JournalEntry) => void>();
  /** Bound of the journal file; compacted (newest half kept) when a commit takes it over. */
  journalMaxBytes: number;
  private readonly now: () => Date;
  private readonly stateFile: string;
  /** Written by replicated batches since the last checkpoint, not fsync'd yet (see above). */
  private readonly dirty: DirtyFiles = { files: new Set(), dirs: new Set() };
  private checkpointTimer: NodeJS.Timeout | null = null;
  /** Writes replicated batches' files (see prepareEntries); started with the first one. */
  private fileThread: FileBatchThread | null = null;
  /** This process wrote the state file: a start after a crash finds it, and rolls forward from it. */
  private stateWritten = false;

  private constructor(
    private readonly options: ConfigStoreOptions,
    private readonly journal: ConfigJournal,
  ) {
    this.now = options.now ?? (() => new Date());
    this.journalMaxBytes = options.journalMaxBytes ?? DEFAULT_JOURNAL_MAX_BYTES;
    this.stateFile = path.join(options.varDir, STATE_FILE);
  }

  private get adoptionCollectEvery(): number {
    return this.options.adoptionCollectEvery ?? ADOPTION_GC_EVERY;
  }

  /** A collection in the middle of an adoption: pages compacted as V8 chooses (see collectGarbage). */
  private collect(): void {
    if (this.options.collectGarbage) this.options.collectGarbage();
    else collectGarbage({ compact: false });
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
  locked<T>(fn: (read: (resource: StoredResource, version: VersionName) => Promise<Record<string, unknown>>) => Promise<T>): Promise<T> {
    // read() would wait for this very lock when a file does not match: inside it, read directly.
    return this.exclusive(() => fn((resource, version) => this.readUnlocked(resource, version)));
  }

  /** Open the store: finish any change a crash interrupted, then load the disk and journal hand edits. */
  static async open(options: ConfigStoreOptions): Promise<{ store: ConfigStore; startup: JournalEntry[] }> {
    const state = await readStoreState(path.join(options.varDir, STATE_FILE));
    // The journal is read a line at a time and its entries are not kept: with a state file only
    // those above its revision matter (a crash interrupted them); without one (first start, or
    // removed) the journal's history is the committed state, folded into the index as it is read.
    const index: Record<string, IndexEntry> = state?.index ?? {};
    let synced = state?.syncedRevision ?? 0;
    const above: JournalEntry[] = [];
    const { journal, base, truncatedBytes, badLines, last } = await ConfigJournal.openStreaming(path.join(options.varDir, 'config-journal.ndjson'), (e) => {
      if (state) {
        if (e.revision > state.revision) above.push(e);
        return;
      }
      foldIndex(index, e);
      synced = Math.max(synced, e.sourceRevision ?? 0);
    });
    const store = new ConfigStore(options, journal);
    if (truncatedBytes > 0) options.logger.warn({ file: journal.file, bytes: truncatedBytes }, 'cut a torn last line off the config journal');
    if (badLines.length > 0) options.logger.warn({ file: journal.file, lines: badLines }, 'config journal has damaged lines; they are skipped');
    store.index = index;
    store.syncedRevision = synced;
    store.revision = state ? state.revision : (last ?? 0);
    // The journal restarted at a snapshot adoption the state file does not show (a crash between
    // the two, or a write of the state file that failed): the disk holds the snapshot.
    const adoptionInterrupted = base !== null && store.revision < base.revision;
    if (base !== null) {
      store.revision = Math.max(store.revision, base.revision);
      store.syncedRevision = Math.max(store.syncedRevision, base.sourceRevision);
    }
    const pending = above.filter((e) => e.revision > store.revision);
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

  /**
   * The content of one version of a loaded resource, as committed. A named resource's is read from
   * its file: one changed by hand since gwd loaded it (not rescanned yet: another content, invalid,
   * removed) is refused with GW_ERR_CONFIG_FILE_CHANGED rather than served unchecked. Read without
   * the store's lock first (a read does not wait behind a rescan); a file that does not match is
   * read once more under it, where no commit can be replacing it at that moment.
   */
  async read(resource: StoredResource, version: VersionName): Promise<Record<string, unknown>> {
    const first = await this.readVersion(resource, version);
    if (!(first instanceof GwError)) return first;
    return this.exclusive(async () => {
      const current = this.resources.get(indexKey(resource.collection, resource.address));
      if (!current) throw new GwError('GW_ERR_CONFIG_NOT_FOUND', { resource: resource.address, what: `Primary version in ${resource.collection}` }, { resource: resource.address, collection: resource.collection });
      return this.readUnlocked(current, version);
    });
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
      if (existing.hasBackup) throw new GwError('GW_ERR_CONFIG_EXISTS', { resource: addr.address, what: 'Backup version' });
      const value = this.validated(addr, 'backup', content ?? (await this.readUnlocked(existing, 'primary')));
      const meta = this.nextMeta(existing.meta, actor, { backupSignature: contentSignature(value) });
      const entry = await this.commit(this.draft(addr, collection, 'backup', 'create', value, meta, actor));
      return { entry, op: 'create' };
    });
  }

  removeBackup(addr: ResourceAddress, collection: Collection, actor: string): Promise<WriteOutcome> {
    return this.exclusive(async () => {
      const existing = this.writable(addr, collection);
      if (!existing?.hasBackup) throw notFound(addr, 'Backup version', collection);
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
      const diff: DiffOptions = { actor: 'check', timestamp: this.now().toISOString() };
      const scan = await scanStore(this.options.resourcesDir, this.types, this.options.schemas, { visit: diffVisitor(this.index, diff) });
      return { problems: scan.problems, changes: diffDisk(scan, this.index, this.types, diff), resources: scan.resources.length };
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
      this.checkReplayed(entry, new Map());
      await this.commit(draftOfReplayed(entry));
      return true;
    });
  }

  /**
   * replay() for a batch, in order, committed together: one journal write and fsync and one state
   * write for the whole batch instead of one per entry. Every entry is checked before its commit,
   * so a batch with a forged entry changes nothing: as its files are staged (a chunk of resources
   * at a time, each just before the file-batch thread makes its directories: see prepareUnsynced),
   * so that checking a burst overlaps writing it. Returns how many were applied.
   */
  replayBatch(entries: readonly JournalEntry[]): Promise<number> {
    return this.exclusive(async () => {
      let last = this.syncedRevision;
      const drafts: Draft[] = [];
      for (const e of entries) {
        if (e.revision <= last) continue;
        drafts.push(draftOfReplayed(e));
        last = e.revision;
      }
      if (drafts.length === 0) return 0;
      // What an entry checks depends only on the entries of its own resource before it, and a
      // resource's entries are checked together, in order.
      const present = new Map<string, boolean>();
      const committed = await this.commitBatch(drafts, undefined, true, (list) => {
        for (const e of list) this.checkReplayed(e, present);
      });
      return committed.length;
    });
  }

  /**
   * checkReplayed() of replay-check.ts, and an entry that removes the Backup version of a resource
   * this node does not have is refused: it would leave a lone resource.json behind, and it means
   * this node missed something (the sync engine asks for a full snapshot then). `present`: what the
   * entries of the same resource before it in the same batch created or removed.
   */
  private checkReplayed(entry: JournalEntry, present: Map<string, boolean>): void {
    checkReplayed(entry, this.types);
    const key = indexKey(entry.collection, entry.address);
    const exists = present.get(key) ?? this.resources.has(key);
    if (entry.deleted && entry.version === 'backup' && !exists) {
      throw new GwError('GW_ERR_CONFIG_INVALID', { resource: entry.address, version: entry.version, detail: 'it removes the Backup version of a resource this node does not have' });
    }
    if (entry.version === 'primary') present.set(key, !entry.deleted);
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
      // The files not fsync'd yet are in the core about to be swapped out, and the journal that
      // holds them restarts: they are made durable (the archive keeps them) before either.
      if (this.hasDirty()) await this.saveState();
      const { contents } = snapshot;
      const revision = this.revision + 1;
      const plan = (): Promise<AdoptionPlan> => this.adoptionPlan(sourceRevision, contents, snapshot.onChange);
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
      const [adoption, scanMs] = planResult.value;
      // What the plan's scan left behind is collected before the commit makes its own garbage (the
      // index entries, the maps' growth): see ADOPTION_GC_EVERY.
      if (adoption.loaded.size >= this.adoptionCollectEvery) this.collect();
      try {
        // Only resource.json files the master's did not match are written (rare: hand edits on
        // the master not yet rescanned), and what deletes leave; everything else is on disk as
        // the master has it.
        const entries = adoption.toWrite.map((d): JournalEntry => ({ ...d, revision }));
        await (await prepareEntries(this.options.resourcesDir, entries)).apply();
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
      // As for a rescan: resources with an invalid file keep what was loaded (they are in
      // neither list).
      this.revision = revision;
      this.syncedRevision = sourceRevision;
      for (const key of adoption.changed) this.recovered.delete(key);
      for (const key of adoption.removed) {
        this.recovered.delete(key);
        this.resources.delete(key);
        delete this.index[key];
      }
      // The plan's map and index become the store's (grown while the plan ran, before its
      // collection, not here again: 100,000 entries each); what else the store holds (local
      // resources, core ones whose files are invalid now) joins them.
      for (const [key, stored] of this.resources) if (!adoption.loaded.has(key)) adoption.loaded.set(key, stored);
      this.resources = adoption.loaded;
      for (const key in this.index) if (!Object.hasOwn(adoption.index, key)) adoption.index[key] = this.index[key]!;
      this.index = adoption.index;
      // The snapshot's content was never held: what singletons hold is read from the new core.
      await this.holdSingletons('core');
      this.problems = [...this.problems.filter((p) => p.collection !== 'core'), ...adoption.problems];
      this.invalidKeys = new Set([...[...this.invalidKeys].filter((k) => !k.startsWith('core/')), ...adoption.invalidKeys]);
      // Adopted (the journal says so); a stale state file is caught up at the next start. So the
      // caller need not wait for it (10,000 resources: ~1.3 MB and an fsync): it is queued behind
      // this job in the store's queue, which close() waits for to its end.
      void this.queue.run(() => this.saveStateOrWarn());
      const timings = { swapMs: Math.round(swapMs), scanMs: Math.round(scanMs), totalMs: Math.round(performance.now() - t0) };
      const { created, updated, deleted } = adoption;
      return { swapped, revision, created, updated, deleted, timings };
    });
  }

  /**
   * A holder for what the files of a full snapshot tell as they arrive: it parses, signs and checks
   * each resource version against its type's schema meanwhile (adoptSnapshot then finds that done).
   */
  snapshotContents(): SnapshotContents {
    return new SnapshotContents(this.types, this.options.schemas);
  }

  /**
   * What adopting the new core changes against what this store last committed, worked out resource
   * by resource as the scan reads them, without touching the store: each valid resource is kept
   * only as the entry the store will hold (`loaded`), and only the changes whose files must still
   * be written are kept whole. At 100,000 resources, a list of the scanned resources beside their
   * 200,000 changes and then the store's entries was most of a backup's peak memory.
   */
  private async adoptionPlan(sourceRevision: number, contents?: SnapshotContents, onChange?: (change: AdoptedChange) => void): Promise<AdoptionPlan> {
    const coreIndex: Record<string, IndexEntry> = {};
    for (const [key, entry] of Object.entries(this.index)) if (key.startsWith('core/')) coreIndex[key] = entry;
    const actor = 'sync:snapshot';
    const diff: DiffOptions = { actor, timestamp: this.now().toISOString(), sourceRevision, keepMeta: true };
    const visit = diffVisitor(coreIndex, diff);
    const plan: AdoptionPlan = { loaded: new Map(), index: {}, changed: [], removed: [], toWrite: [], created: 0, updated: 0, deleted: 0, problems: [], invalidKeys: new Set() };
    const shared = new SharedStrings();
    const count = (d: Draft): void => {
      if (d.op === 'create') plan.created += 1;
      else if (d.op === 'update') plan.updated += 1;
      else plan.deleted += 1;
    };
    const scan = await scanStore(this.options.resourcesDir, this.types, this.options.schemas, {
      collections: ['core'],
      preloaded: contents,
      keepResources: false,
      // Nothing is collected per resource (the visitor returns no summaries): what the store
      // keeps is built here, the rest is counted or told to onChange.
      visit: (r) => {
        const drafts = visit(r, NO_CONTENT);
        const key = internalized(indexKey(r.collection, r.address));
        const stored = this.loaded(r, key, actor, shared);
        for (const d of drafts) {
          applyTo(stored, d);
          count(d);
        }
        plan.loaded.set(key, stored);
        // A resource that changed is indexed from its new metadata (what foldIndex makes of its
        // changes), any other keeps its entry.
        plan.index[key] = drafts.length > 0 ? indexEntryOf(stored.meta) : coreIndex[key]!;
        if (plan.loaded.size % this.adoptionCollectEvery === 0) this.collect();
        if (drafts.length === 0) return [];
        plan.changed.push(key);
        if (!filesOnDisk(r, drafts)) for (const d of drafts) plan.toWrite.push(d);
        if (onChange) for (const { address, version, op } of drafts) onChange({ address, version, op });
        return [];
      },
    });
    for (const p of scan.problems) this.options.logger.warn({ file: p.path, problems: p.problems }, 'config file is invalid; not loaded, left untouched');
    plan.problems = scan.problems;
    plan.invalidKeys = scan.invalidKeys;
    for (const d of removedDrafts(coreIndex, (key) => plan.loaded.has(key) || scan.invalidKeys.has(key), this.types, diff)) {
      plan.removed.push(indexKey(d.collection, d.address));
      plan.toWrite.push(d);
      onChange?.({ address: d.address, version: d.version, op: d.op });
      count(d);
    }
    return plan;
  }

  /**
   * Record that the master's changes up to `sourceRevision` are all here, when the last of them were
   * ones never replicated (the master's local resources): without it the backup would look behind.
   */
  noteSynced(sourceRevision: number): Promise<void> {
    return this.exclusive(async () => {
      if (sourceRevision <= this.syncedRevision) return;
      this.syncedRevision = sourceRevision;
      // Behind a replicated batch not checkpointed yet, the checkpoint writes it; lost in a crash,
      // the backup only asks again from the last of the master's entries it holds.
      if (this.hasDirty()) return;
      await this.saveState();
    });
  }

  /** Journal entries after `revision`, for a peer that resumes. */
  since(revision: number): Promise<JournalEntry[]> {
    return this.journal.since(revision);
  }

  async close(): Promise<void> {
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = null;
    await this.queue.idle();
    // A clean stop leaves nothing to roll forward (and a hand edit made while stopped is seen as one).
    if (this.hasDirty()) await this.saveStateOrWarn();
    await this.fileThread?.close();
    this.fileThread = null;
    await this.journal.close();
  }

  // --- internals ---

  /** read() for a caller that holds the store's lock. */
  private async readUnlocked(resource: StoredResource, version: VersionName): Promise<Record<string, unknown>> {
    const content = await this.readVersion(resource, version);
    if (content instanceof GwError) throw content;
    return content;
  }

  /** The committed content of a version, or the error that says why the file no longer holds it. */
  private async readVersion(resource: StoredResource, version: VersionName): Promise<Record<string, unknown> | GwError> {
    const held = resource.held?.[version];
    if (held) return held;
    const key = indexKey(resource.collection, resource.address);
    const committed = version === 'primary' ? this.index[key]?.primary : this.index[key]?.backup;
    if (!committed) {
      return new GwError('GW_ERR_CONFIG_NOT_FOUND', { resource: resource.address, what: `${version === 'primary' ? 'Primary' : 'Backup'} version in ${resource.collection}` }, { resource: resource.address, collection: resource.collection });
    }
    const file = path.join(resourceDir(this.options.resourcesDir, resource.collection, resource.type.module, resource.type.type, resource.name), versionFile(version));
    const changed = (detail: string): GwError => new GwError('GW_ERR_CONFIG_FILE_CHANGED', { resource: resource.address, file, detail }, { resource: resource.address, file });
    let text: string | undefined;
    try {
      text = await readIfExists(file);
    } catch (err) {
      return changed(`could not be read (${describeFsError(err)})`);
    }
    let value: unknown;
    let problem: string | null = null;
    if (text === undefined) {
      problem = 'was removed';
    } else {
      try {
        value = JSON.parse(text);
      } catch {
        problem = 'is no longer valid JSON';
      }
    }
    if (problem === null && (value === null || typeof value !== 'object' || Array.isArray(value) || contentSignature(value) !== committed)) problem = 'was changed';
    if (problem === null) return value as Record<string, unknown>;
    // Edited by hand and not rescanned (or broken): the last good version stays in effect while
    // the journal holds it, which is every change since the last full snapshot adopted here, up to
    // syncJournalMaxBytes.
    return (await this.committedFromJournal(key, version, committed)) ?? changed(problem);
  }

  /**
   * The content a version was committed with, from the journal: for a file changed on disk since.
   * Kept once found (until the resource changes again): the whole journal is read to find it.
   */
  private async committedFromJournal(key: string, version: VersionName, signature: string): Promise<Record<string, unknown> | null> {
    const kept = this.recovered.get(key)?.[version];
    if (kept && kept.signature === signature) return kept.content;
    let found: Record<string, unknown> | null = null;
    await this.journal.each((e) => {
      if (e.version === version && e.signature === signature && e.content && indexKey(e.collection, e.address) === key) found = e.content;
    });
    if (found) this.recovered.set(key, { ...this.recovered.get(key), [version]: { signature, content: found } });
    return found;
  }

  /**
   * Singleton resources hold their content (see StoredResource): taken from the disk for those of
   * `collection` that do not hold it yet (after a snapshot, whose content was never in memory).
   */
  private async holdSingletons(collection: Collection): Promise<void> {
    for (const r of this.resources.values()) {
      if (r.collection !== collection || !r.type.singleton) continue;
      const held: HeldContent = { primary: r.held?.primary ?? null, backup: r.held?.backup ?? null };
      const versions: VersionName[] = r.hasBackup ? ['primary', 'backup'] : ['primary'];
      for (const v of versions) {
        if (held[v]) continue;
        const read = await this.readVersion({ ...r, held: null }, v);
        // A file that does not hold what was committed stays unread: read() reports it.
        held[v] = read instanceof GwError ? null : read;
      }
      this.resources.set(indexKey(r.collection, r.address), { ...r, held });
    }
  }

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
   * `deferFiles`: the files are not fsync'd and the state write waits for a checkpoint (see the
   * class comment). `check`: throws for entries that must not be committed; called (on every entry,
   * each resource's together and in order) before anything of them is written, and before the append.
   */
  private async commitBatch(drafts: readonly Draft[], onDisk?: ReadonlySet<Draft>, deferFiles = false, check?: (entries: readonly JournalEntry[]) => void): Promise<JournalEntry[]> {
    if (drafts.length === 0) return [];
    // Without a valid state file a start takes the journal for what is on disk and rolls nothing
    // forward (open()): one is written before the first commit whose files are not fsync'd. If it
    // cannot be, this batch's files are fsync'd as any other commit's.
    if (deferFiles && !this.stateWritten) deferFiles = await this.saveState().then(() => true, () => false);
    const committed = drafts.map((d, i): JournalEntry => ({ revision: this.revision + 1 + i, ...d }));
    // Staged before the append: a replicated batch that does not fit on the disk is refused whole
    // (the backup keeps its configuration and does not acknowledge it) instead of being journaled
    // and served with its files missing.
    const prepared = await prepareEntries(
      this.options.resourcesDir,
      onDisk ? committed.filter((_, i) => !onDisk.has(drafts[i]!)) : committed,
      deferFiles ? { dirty: this.dirty, thread: this.fileBatchThread() } : undefined,
      check,
    );
    try {
      await this.journal.appendMany(committed);
    } catch (err) {
      await prepared.abort();
      throw err;
    }
    // The files are renamed (on the file-batch thread for a replicated batch) while memory is
    // updated: both only follow the commit point, and both are done before the lock is let go.
    const applied = prepared.apply();
    applied.catch(() => undefined);
    try {
      for (const entry of committed) {
        this.revision = entry.revision;
        if (entry.sourceRevision !== undefined) this.syncedRevision = Math.max(this.syncedRevision, entry.sourceRevision);
        this.applyInMemory(entry);
        foldIndex(this.index, entry);
      }
    } catch (err) {
      await applied.catch(() => undefined);
      throw err;
    }
    try {
      await applied;
    } catch (err) {
      this.options.logger.error({ err, revisions: [committed[0]!.revision, committed.at(-1)!.revision] }, 'config changes are journaled but their files could not be written');
      throw err;
    }
    // Durable (journal and files): a stale state file only makes the next start apply them again.
    if (!deferFiles || this.dirty.files.size + this.dirty.dirs.size >= DIRTY_MAX_PATHS) await this.saveStateOrWarn();
    else this.checkpointWhenIdle();
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
    // Compaction drops old entries: none may be one a crash would still have to roll forward.
    if (this.journal.size > this.journalMaxBytes && this.hasDirty()) await this.saveStateOrWarn();
    if (this.hasDirty()) return;
    try {
      const done = await this.journal.compactIfOver(this.journalMaxBytes);
      if (done) this.options.logger.info({ file: this.journal.file, ...done }, 'compacted the config journal');
    } catch (err) {
      this.options.logger.error({ err }, 'config journal compaction failed; it keeps growing until the next try');
    }
  }

  private applyInMemory(entry: JournalEntry): void {
    const key = indexKey(entry.collection, entry.address);
    this.recovered.delete(key);
    if (entry.deleted && entry.version === 'primary') {
      this.resources.delete(key);
      return;
    }
    const current = this.resources.get(key);
    const next: StoredResource = current
      ? { ...current }
      : { collection: entry.collection, type: this.types.get(entry.type)!, name: entry.name, address: entry.address, hasBackup: false, meta: entry.meta!, held: null };
    applyTo(next, entry);
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

  /**
   * Resources as scanned into memory; the drafts committed after it bring their metadata. `held`:
   * the content of singletons, when the scan read it.
   */
  private load(scanned: readonly ScannedResource[], actor: string, held?: ReadonlyMap<string, ScannedContent>): void {
    const shared = new SharedStrings();
    for (const r of scanned) {
      const key = internalized(indexKey(r.collection, r.address));
      const content = r.type.singleton ? held?.get(key) : undefined;
      const stored = this.loaded(r, key, actor, shared);
      if (content) stored.held = { primary: content.primary, backup: content.backup };
      this.resources.set(key, stored);
    }
  }

  /**
   * The entry the store holds for a scanned resource (`key` its internalized indexKey), before the
   * changes found for it; `shared` shares each author's name and time among all of them.
   */
  private loaded(r: ScannedResource, key: string, actor: string, shared: SharedStrings): StoredResource {
    // What every resource keeps in memory, kept small (100,000 of them): its signatures are the
    // index's own strings when they are equal (not a second copy of each 64-character hash), its
    // author's name and time one string for all, its key one flat string shared with the index.
    const meta = r.meta ?? this.nextMeta(undefined, actor, {});
    const known = this.index[key];
    if (known?.primary === meta.signature) meta.signature = known.primary;
    if (known?.backup != null && known.backup === meta.backupSignature) meta.backupSignature = known.backup;
    meta.lastModification.actor = shared.share(meta.lastModification.actor);
    meta.lastModification.timestamp = shared.share(meta.lastModification.timestamp);
    return {
      collection: r.collection,
      type: r.type,
      name: r.name,
      address: r.address,
      hasBackup: r.backupSignature !== null,
      // A resource without resource.json gets its metadata from the create entry that follows.
      meta,
      held: null,
    };
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

  /**
   * Start the thread that writes replicated batches' files now (a backup linked to its master),
   * so that the first live change does not wait for its boot (~60 ms of CPU, as bulk-writer.ts says).
   */
  expectReplication(): void {
    this.fileBatchThread();
  }

  /** The thread for replicated batches' files, started again if it died. */
  private fileBatchThread(): FileBatchThread {
    if (this.fileThread === null || this.fileThread.failure !== null) this.fileThread = new FileBatchThread();
    return this.fileThread;
  }

  private hasDirty(): boolean {
    return this.dirty.files.size + this.dirty.dirs.size > 0;
  }

  /**
   * A checkpoint once no replicated batch came for CHECKPOINT_IDLE_MS: a burst's batches do not
   * wait for fsyncs of files the next batches may replace, and a store at rest has its state file
   * at its revision. Queued as a store job, so it never runs inside a commit.
   */
  private checkpointWhenIdle(): void {
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = null;
      void this.exclusive(async () => {
        if (this.hasDirty()) await this.saveStateOrWarn();
      });
    }, this.options.checkpointIdleMs ?? CHECKPOINT_IDLE_MS);
    this.checkpointTimer.unref();
  }

  /** The state file at the store's revision: every file written without fsync is fsync'd first. */
  private async saveState(): Promise<void> {
    if (this.hasDirty()) {
      const t0 = performance.now();
      const paths = this.dirty.files.size + this.dirty.dirs.size;
      const durability = await syncDirty(this.options.resourcesDir, this.dirty);
      this.options.logger.debug({ paths, durability, ms: Math.round(performance.now() - t0), revision: this.revision }, 'config checkpoint: replicated files made durable');
    }
    await writeStoreState(this.stateFile, {
      version: 1,
      revision: this.revision,
      syncedRevision: this.syncedRevision,
      index: this.index,
    });
    this.stateWritten = true;
  }

  /**
   * Compare the disk with what was last committed and journal every difference as a change by
   * `actor` (see disk-diff.ts). Every valid resource on disk is loaded first, so a change to only
   * its Backup version lands on the loaded Primary; resources with an invalid file keep what was
   * loaded before.
   */
  private async reconcile(actor: string, sourceRevision?: number, keepMeta = false): Promise<JournalEntry[]> {
    const diff: DiffOptions = { actor, timestamp: this.now().toISOString(), sourceRevision, keepMeta };
    const visit = diffVisitor(this.index, diff);
    // Each resource is diffed as it is read: only the changes found keep their content (and the
    // singletons theirs), not the whole store.
    const held = new Map<string, ScannedContent>();
    const scan = await scanStore(this.options.resourcesDir, this.types, this.options.schemas, {
      visit: (r, content) => {
        if (r.type.singleton) held.set(indexKey(r.collection, r.address), content);
        return visit(r, content);
      },
    });
    this.problems = scan.problems;
    this.invalidKeys = scan.invalidKeys;
    for (const p of scan.problems) this.options.logger.warn({ file: p.path, problems: p.problems }, 'config file is invalid; not loaded, left untouched');
    this.load(scan.resources, actor, held);
    const drafts = diffDisk(scan, this.index, this.types, diff);
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
    if (group && filesOnDisk(r, group)) for (const d of group) out.add(d);
  }
  return out;
}

/** filesAlreadyOnDisk for one scanned resource and its drafts. */
function filesOnDisk(r: ScannedResource, group: readonly Draft[]): boolean {
  if (group.some((d) => d.deleted && d.version === 'primary')) return false;
  // Metadata taken over as scanned (a snapshot's, kept as the master wrote it) is the file's own;
  // any other (a change found by a rescan) is new and must be written.
  return r.metaAsOnDisk && group.every((d) => d.meta === r.meta);
}

/**
 * `entry` (not a removal of the resource) applied to what the store holds of its resource, in
 * place: its flags and metadata; a singleton's content as the entry carries it.
 */
function applyTo(stored: StoredResource, entry: Draft): void {
  if (entry.version === 'backup') stored.hasBackup = !entry.deleted;
  if (entry.meta) stored.meta = entry.meta;
  if (stored.type.singleton) {
    // An entry without content (a snapshot's, on disk already) leaves the version to holdSingletons().
    const held: HeldContent = { primary: stored.held?.primary ?? null, backup: stored.held?.backup ?? null };
    held[entry.version] = entry.deleted ? null : entry.content;
    stored.held = held;
  }
}

/**
 * What adopting a snapshot changes (adoptionPlan), before its commit point: nothing of it is in
 * the store yet.
 */
interface AdoptionPlan {
  /** Every valid resource of the new core, as the store will hold it, by internalized indexKey. */
  loaded: Map<string, StoredResource>;
  /** The index entry of each resource of `loaded`. */
  index: Record<string, IndexEntry>;
  /** The keys of `loaded` with changes. */
  changed: string[];
  /** The keys of the core resources the new core no longer has. */
  removed: string[];
  /** The changes whose files are not on disk as the snapshot left them (deletes, rewritten resource.json). */
  toWrite: Draft[];
  created: number;
  updated: number;
  deleted: number;
  problems: ConfigFileProblem[];
  invalidKeys: Set<string>;
}

function notFound(addr: ResourceAddress, what: string, collection: Collection): GwError {
  return new GwError('GW_ERR_CONFIG_NOT_FOUND', { resource: addr.address, what: `${what} in ${collection}` }, { resource: addr.address, collection });
}

/** A scanned resource's content, not held (a received snapshot's). */
const NO_CONTENT: ScannedContent = { primary: null, backup: null };

/**
 * An adoption collects its garbage once per this many resources it has built, and once after its
 * plan when it built at least that many. Comparing a resource makes ~8 KB of short-lived objects,
 * and V8 let the heap grow to about twice the live set before it collected: a backup adopting
 * 100,000 resources reached a heap of ~250 MB (its live set ~100-130 MB) in two seconds. A full
 * collection of that heap pauses the main thread ~100-200 ms, four or five times in an adoption of
 * 100,000; a smaller core (10,000 resources) is not paused at all.
 */
const ADOPTION_GC_EVERY = 25_000;

/** A checkpoint after this long without a replicated batch (see the class comment). */
const CHECKPOINT_IDLE_MS = 1000;

/**
 * Paths written without fsync past which a replicated batch checkpoints at once: what a crash has
 * to roll forward (reading each file back) stays bounded, as does the memory naming them.
 */
const DIRTY_MAX_PATHS = 20_000;

/** var/config-state.json (see store-state.ts). */
const STATE_FILE = 'config-state.json';

/**
 * `text` as one flat, internalized string: a key built by concatenation stays a rope of its parts
 * in memory, and the same key read from the state file is already the internalized one.
 */
function internalized(text: string): string {
  return Object.keys({ [text]: 0 })[0]!;
}
