import type {
  SyncBegin,
  SyncEntries,
  SyncKind,
  SyncMessage,
  SyncSnapshotBegin,
  SyncSnapshotBinaryChunk,
  SyncSnapshotChunk,
  SyncSnapshotEnd,
  SyncSnapshotAbort,
  SyncSnapshotFiles,
  SyncSnapshotStream,
} from '../../core/sync/messages.js';
import { GwError } from '../../core/errors.js';
import type { ConfigStore } from '../config/config-store.js';
import type { EventLog } from '../events/event-log.js';
import type { Logger } from '../logger.js';
import type { SnapshotContents } from '../config/snapshot-contents.js';
import type { ConfigArchiveReason } from '../../core/config-wire.js';
import { BulkWriter } from '../storage/bulk-writer.js';
import { archiveNames, DEFAULT_ARCHIVE_KEEP, recordAndPrune } from './archives.js';
import { SnapshotError, SnapshotSink, type FileListener, type SnapshotCommit } from './snapshot-sink.js';
import type { SyncStateStore } from './sync-state.js';

export interface BackupSideOptions {
  peerUuid: string;
  store: ConfigStore;
  state: SyncStateStore;
  coreDir: string;
  varDir: string;
  events: EventLog;
  logger: Logger;
  send: (message: SyncMessage) => boolean;
  /** syncTimeoutSecs of redundancy.json, read at the start of each operation. */
  timeoutSecs: () => number;
  /** syncArchiveKeep of redundancy.json, read after each new archive (default 5). */
  archiveKeep?: () => number;
  retryMs?: number;
}

/** Up to this size a snapshot's files are kept in memory for the adoption (a few copies of it are held at once). */
const KEEP_CONTENTS_MAX_BYTES = 256 * 1024 * 1024;

interface Operation {
  kind: SyncKind | null;
  /** ms epoch of the sync.begin that started it (for durationMs). */
  startedAt: number;
  revision: number;
  sink: SnapshotSink | null;
  /** The sync state's holder cleared on disk: resolves with the error when it could not be. */
  holderCleared: Promise<unknown>;
  /** The snapshot's files as they arrive (null past KEEP_CONTENTS_MAX_BYTES). */
  contents: SnapshotContents | null;
  manifestRevision: number | null;
  /** Why this node asked for a full snapshot; null when it asked for an incremental one. */
  asked: ConfigArchiveReason | null;
  timer: NodeJS.Timeout;
}

/**
 * The backup's side of one connection to its master: asks to be brought up to date, applies what
 * comes in order, acknowledges it, and swaps in full snapshots. Messages are handled one at a time
 * in arrival order; consecutive sync.entries waiting in the inbox are applied as one batch (one
 * journal fsync) and acknowledged once. A failure or a timeout aborts the operation, keeps the last
 * complete configuration, reports sync.failed and asks again after a short pause.
 */
export class BackupSide {
  private op: Operation | null = null;
  private inbox: SyncMessage[] = [];
  private pumping = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private wantFull = false;
  /** A writer thread started while a full snapshot is on its way (see prepareWriter). */
  private spareWriter: BulkWriter | null = null;
  /** The master's latest revision as far as its messages said. */
  latest: number | null = null;
  /** The delay before the retry after the failure being handled, when not the usual one. */
  private nextRetryMs: number | null = null;
  failed: string | null = null;

  constructor(private readonly o: BackupSideOptions) {}

  get syncing(): boolean {
    return this.op !== null;
  }

  /** Ask for a sync: incremental when possible, unless `full` (an operator's resync). */
  request(full = false): void {
    if (this.closed) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const broken = this.wantFull;
    full ||= this.wantFull;
    this.wantFull = false;
    this.abortOperation();
    this.newOperation();
    const first = this.o.state.holder !== this.o.peerUuid;
    // Recorded beside the archive the snapshot makes (the first reason that holds).
    this.op!.asked = first ? 'first-sync' : broken ? 'sync-broken' : full ? 'resync-requested' : null;
    // A master answers a backup that holds none of its configuration with a full snapshot.
    if (full || first) this.prepareWriter();
    const sent = this.o.send({ type: 'sync.request', holder: this.o.state.holder, revision: this.o.store.syncedRevision, full });
    if (!sent) this.abortOperation();
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.dropWriter();
    if (this.op) {
      // Coded like every other sync.failed: scripts and `resync --wait` read the code, not the text.
      this.o.events.emit('sync.failed', { reason: 'the link to the master went down', code: 'GW_ERR_SYNC_FAILED' });
      this.abortOperation();
    }
    this.inbox = [];
  }

  receive(message: SyncMessage): void {
    if (this.closed) return;
    this.inbox.push(message);
    void this.pump();
  }

  private enqueueFailure(op: Operation, reason: string): void {
    this.inbox.push({ type: 'sync.failure', op, reason } as unknown as SyncMessage);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.inbox.length > 0 && !this.closed) {
        const m = this.inbox.shift()!;
        try {
          if (m.type === 'sync.entries') await this.onEntries(this.drainEntries(m));
          else await this.handle(m);
        } catch (err) {
          await this.fail(err);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** This message and every sync.entries right behind it in the inbox. */
  private drainEntries(first: SyncEntries): SyncEntries[] {
    const out = [first];
    while (this.inbox[0]?.type === 'sync.entries') out.push(this.inbox.shift() as SyncEntries);
    return out;
  }

  private async handle(m: SyncMessage | { type: 'sync.failure'; op: Operation; reason: string }): Promise<void> {
    switch (m.type) {
      case 'sync.failure':
        // The timeout of an operation that finished (or was replaced) meanwhile is void.
        if (m.op !== this.op) return;
        throw new GwError('GW_ERR_SYNC_TIMEOUT', { detail: m.reason });
      case 'sync.begin':
        return this.onBegin(m);
      case 'sync.snapshotBegin':
        return this.onSnapshotBegin(m);
      case 'sync.snapshotStream':
        return this.onSnapshotStream(m);
      case 'sync.snapshotFiles':
        return this.onSnapshotFiles(m);
      case 'sync.snapshotAbort':
        return this.onSnapshotAbort(m);
      case 'sync.snapshotChunk':
        return this.onChunk(m);
      case 'sync.snapshotEnd':
        return this.onSnapshotEnd(m);
      default:
        // sync.request and sync.ack are the backup's own messages: a master never sends them.
        this.o.logger.warn({ type: m.type }, 'sync: ignoring a message a master does not send');
    }
  }

  private onBegin(m: SyncBegin): void {
    // A master may push one unasked (resync on the master): it replaces whatever was running.
    if (!this.op) {
      this.newOperation();
      this.op!.asked = 'resync-by-master';
    }
    const op = this.op!;
    if (op.sink) void op.sink.abort().catch(() => undefined);
    op.sink = null;
    op.contents = null;
    op.kind = m.kind;
    op.revision = m.revision;
    op.startedAt = Date.now();
    this.failed = null;
    if (m.kind === 'full') this.prepareWriter();
    else this.dropWriter();
    // Assigned, not maxed: each answer of the master restates where it is (and one bad message
    // cannot leave the backup waiting forever for a revision that does not exist).
    this.latest = m.revision;
    this.o.events.emit('sync.started', { kind: m.kind, revision: m.revision });
  }

  /**
   * Start the snapshot's writer thread now, while the master reads its core and sends the
   * manifest, rather than when the manifest is in (a thread takes ~60 ms of CPU to boot).
   */
  private prepareWriter(): void {
    if (!this.closed) this.spareWriter ??= new BulkWriter();
  }

  private dropWriter(): void {
    void this.spareWriter?.close();
    this.spareWriter = null;
  }

  /** One sync operation, bounded by syncTimeoutSecs from its start. */
  private newOperation(): void {
    const timeoutSecs = this.o.timeoutSecs();
    const op: Operation = {
      kind: null,
      startedAt: Date.now(),
      revision: -1,
      sink: null,
      holderCleared: Promise.resolve(null),
      contents: null,
      manifestRevision: null,
      asked: null,
      timer: undefined as unknown as NodeJS.Timeout,
    };
    op.timer = setTimeout(() => this.enqueueFailure(op, `timed out after ${timeoutSecs} s (syncTimeoutSecs)`), timeoutSecs * 1000);
    this.op = op;
  }

  private onSnapshotBegin(m: SyncSnapshotBegin): Promise<void> {
    // The files are kept as they arrive, and parsed meanwhile, so the adoption reads nothing back
    // from the disk; past a bound the memory is worth more.
    const keep = m.manifest.totalBytes <= KEEP_CONTENTS_MAX_BYTES;
    return this.startSnapshot(m.manifest.revision, keep, (onFile, writer) =>
      SnapshotSink.begin({ coreDir: this.o.coreDir, varDir: this.o.varDir }, m.manifest, { onFile, writer }),
    );
  }

  /** A streamed snapshot: its size is learnt as its entries come (see onSnapshotFiles). */
  private onSnapshotStream(m: SyncSnapshotStream): Promise<void> {
    return this.startSnapshot(m.revision, true, (onFile, writer) =>
      SnapshotSink.beginStream({ coreDir: this.o.coreDir, varDir: this.o.varDir }, { id: m.id, revision: m.revision }, { onFile, writer }),
    );
  }

  private async startSnapshot(
    revision: number,
    keepContents: boolean,
    open: (onFile: FileListener | undefined, writer: BulkWriter | undefined) => Promise<SnapshotSink>,
  ): Promise<void> {
    const op = this.op;
    if (!op || op.kind !== 'full') throw new SnapshotError('a snapshot arrived without sync.begin');
    if (op.sink) {
      const previous = op.sink;
      op.sink = null;
      await previous.abort();
    }
    const contents = keepContents ? this.o.store.snapshotContents() : null;
    const writer = this.spareWriter ?? undefined;
    this.spareWriter = null;
    const sink = await open(contents ? (rel, parts) => contents.add(rel, parts) : undefined, writer);
    // The link went down, or a new request or answer replaced this operation, while the staging
    // was prepared: nothing refers to this sink any more, so it goes (thread and staging).
    if (this.closed || this.op !== op || op.sink !== null) {
      await sink.abort();
      return;
    }
    op.sink = sink;
    op.contents = contents;
    op.manifestRevision = revision;
    // Not the holder of anything until the new core is adopted: a crash from the swap on asks for
    // a full snapshot again. Written while the transfer runs (not awaited here: the chunks behind
    // this message would wait for its fsync) and awaited before the swap.
    op.holderCleared = this.o.state.update({ holder: null }).then(
      () => null,
      (err: unknown) => err,
    );
  }

  private onSnapshotFiles(m: SyncSnapshotFiles): void {
    const op = this.op;
    const sink = op?.sink;
    // Entries of a snapshot that was replaced or aborted: not ours any more.
    if (!op || !sink || m.id !== sink.manifest.id) return;
    sink.addFiles(m.files);
    if (op.contents && sink.manifest.totalBytes > KEEP_CONTENTS_MAX_BYTES) {
      // Too big to keep in memory after all: the adoption reads the files back from the disk.
      sink.dropFileListener();
      op.contents = null;
    }
  }

  private onSnapshotAbort(m: SyncSnapshotAbort): void {
    // Only the snapshot under way: a late abort of one already replaced says nothing about this one.
    if (!this.op?.sink || m.id !== this.op.sink.manifest.id) return;
    // The master could not read its core: asking again at once would make it read it again every
    // second, its store locked meanwhile. The next request waits a sync timeout, as it did before
    // the master could say why.
    this.nextRetryMs = this.o.timeoutSecs() * 1000;
    throw new GwError('GW_ERR_SYNC_FAILED', { detail: m.reason });
  }

  private async onChunk(m: SyncSnapshotChunk | SyncSnapshotBinaryChunk): Promise<void> {
    const sink = this.op?.sink;
    // A late chunk of a snapshot that was replaced or aborted: not ours any more.
    if (!sink || m.chunk.id !== sink.manifest.id) return;
    try {
      await sink.write(m.chunk, m.payload);
    } catch (err) {
      // Aborted meanwhile (a new request or sync.begin replaced it): its failure is not the new operation's.
      if (this.op?.sink === sink) throw err;
    }
  }

  private async onSnapshotEnd(m: SyncSnapshotEnd): Promise<void> {
    const op = this.op;
    if (!op?.sink || m.id !== op.sink.manifest.id) return;
    const sink = op.sink;
    // A streamed snapshot's totals, and its empty files after the last byte.
    try {
      await sink.end(m.totals);
    } catch (err) {
      // Replaced meanwhile (a new request or sync.begin): its failure is not the new operation's.
      if (this.op === op && op.sink === sink) throw err;
      return;
    }
    const revision = op.manifestRevision!;
    const { store, state } = this.o;
    const started = Date.now();
    let verifyMs = 0;
    const contents = op.contents ?? undefined;
    op.contents = null;
    // The store compares the new core (from `contents`) while this waits for the writer's last
    // files and their hashes: nothing is swapped in, nor committed, unless they all match.
    const verifyAndSwap = async (): Promise<SnapshotCommit> => {
      await sink.verify();
      const notCleared = await op.holderCleared;
      if (notCleared) throw notCleared;
      verifyMs = Date.now() - started;
      return sink.commit();
    };
    // The folders of var/archive before: the one the adoption makes is the one not among them.
    const archivesBefore = await archiveNames(this.o.varDir).catch(() => null);
    const adopted = await store.adoptSnapshot(revision, { contents, swap: verifyAndSwap, unswap: () => sink.rollback() });
    const { archive, durability, syncMs } = adopted.swapped;
    op.sink = null;
    // This node now holds the master's core. The journal's restart committed the adoption, so the
    // sync is complete without waiting for this file: a crash before it is written only costs a
    // full snapshot more at the next start.
    state.update({ holder: this.o.peerUuid }).catch((err: unknown) => this.o.logger.warn({ err }, 'could not write the sync state'));
    // The swap's intent is done with (left behind, the next start only removes it).
    await sink.finish();
    const { created, updated, deleted } = adopted;
    this.o.logger.info({ revision, archive, created, updated, deleted, files: sink.manifest.files.length, durability, syncMs, verifyMs, ...adopted.timings, ms: Date.now() - started }, 'full snapshot adopted');
    // Before the sync is reported complete, so `resync --wait` then `config archives` sees the
    // pruned list; it never fails the sync (recordAndPrune reports its own failures).
    if (archivesBefore) {
      await recordAndPrune({
        varDir: this.o.varDir,
        before: archivesBefore,
        folder: archive,
        record: { reason: op.asked ?? 'journal-behind', sourceRevision: revision, peer: this.o.peerUuid },
        keep: this.o.archiveKeep?.() ?? DEFAULT_ARCHIVE_KEEP,
        logger: this.o.logger,
        events: this.o.events,
      }).catch((err: unknown) => this.o.logger.warn({ err }, 'could not record or prune the archives'));
    }
    // One event for the whole core (not one per resource, which for a big snapshot pushed
    // everything else out of the event window): the core may have changed anywhere.
    this.o.events.emit('config.replaced', { revision: adopted.revision, sourceRevision: revision, created, updated, deleted, archive });
    this.o.send({ type: 'sync.ack', revision: store.syncedRevision });
    this.complete('full', revision, archive);
  }

  private async onEntries(batch: SyncEntries[]): Promise<void> {
    const { store } = this.o;
    // After a failure, until the retry: the catch-up that follows covers these.
    if (this.retryTimer) return;
    if (this.op && this.op.kind !== 'incremental') {
      // Only a snapshot in progress (or a request not yet answered): the master queues live changes
      // until after the snapshot, so these are stale and are covered by what comes.
      return;
    }
    const entries = [];
    let expected = store.syncedRevision;
    let upTo = expected;
    for (const m of batch) {
      this.latest = Math.max(this.latest ?? 0, m.latest, m.upTo);
      if (m.upTo <= upTo) continue;
      if (m.from > upTo) {
        this.wantFull = true;
        throw new GwError('GW_ERR_SYNC_GAP', { from: m.from, revision: upTo });
      }
      for (const e of m.entries) if (e.revision > upTo && e.revision <= m.upTo) entries.push(e);
      upTo = m.upTo;
    }
    if (upTo > expected) {
      try {
        await store.replayBatch(entries);
      } catch (err) {
        // A forged or broken entry: refuse the whole batch; a full snapshot sets things straight.
        this.wantFull = true;
        throw err;
      }
      await store.noteSynced(upTo);
    }
    const op = this.op;
    const done = op !== null && op.kind === 'incremental' && store.syncedRevision >= op.revision;
    // Acknowledge what was applied, and the end of a catch-up even when it brought nothing.
    if (upTo > expected || done) this.o.send({ type: 'sync.ack', revision: store.syncedRevision });
    if (done) this.complete('incremental', op.revision, null);
  }

  private complete(kind: SyncKind, revision: number, archive: string | null): void {
    const durationMs = this.op ? Date.now() - this.op.startedAt : null;
    if (this.op) clearTimeout(this.op.timer);
    this.op = null;
    this.failed = null;
    // durationMs: the time from the master's answer, so a reader needs only this one event.
    this.o.events.emit('sync.completed', { kind, revision, archive, durationMs });
  }

  private async fail(err: unknown): Promise<void> {
    const reason = err instanceof SnapshotError || err instanceof GwError ? err.message : String((err as Error)?.message ?? err);
    const code = err instanceof GwError ? err.code : err instanceof SnapshotError ? 'GW_ERR_SYNC_SNAPSHOT_REFUSED' : 'GW_ERR_SYNC_FAILED';
    this.o.logger.warn({ err, reason }, 'sync failed; keeping the last complete configuration and retrying');
    this.abortOperation();
    this.inbox = this.inbox.filter((m) => m.type !== 'sync.snapshotChunk');
    this.failed = reason;
    this.o.events.emit('sync.failed', { reason, code });
    if (this.closed) return;
    // A retry already pending stays as it is: a stream of failures (live changes that no longer
    // fit after a refused batch) must not postpone it forever.
    const delayMs = this.nextRetryMs ?? this.o.retryMs ?? 1000;
    this.nextRetryMs = null;
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = null;
      this.request();
    }, delayMs);
  }

  private abortOperation(): void {
    const op = this.op;
    this.op = null;
    if (!op) return;
    clearTimeout(op.timer);
    if (op.sink) void op.sink.abort().catch(() => undefined);
  }
}
