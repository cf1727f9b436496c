/**
 * The backup's side of configuration sync (DESIGN.md section 6) as a pure machine: no fs, no
 * network, no timers, no Date.now. The daemon (src/daemon/sync/sync-backup.ts) feeds it inputs with
 * the time (the master's messages, timer expiries, the results of the disk work it asked for) one
 * at a time through one queue, and carries out the decisions of each step, in order, before the
 * next input (the result of a decision's disk work is the next input, never fed while the step's
 * other decisions are carried out); it re-arms one timer for `nextDeadline`.
 *
 * Rules (S1-S10):
 *
 *  S1  On link up the backup asks (sync.request): incremental from the master revision it holds,
 *      full when it holds none of this master's configuration (`holder` is another) or when an
 *      earlier failure broke the chain of entries (a gap, a refused batch).
 *  S2  An operator's resync asks for a full snapshot; whatever was running is dropped.
 *  S3  One operation at a time, bounded by syncTimeoutSecs from the request (or from the master's
 *      unasked sync.begin): at the deadline it fails with GW_ERR_SYNC_TIMEOUT. The adoption of a
 *      verified snapshot is disk work already committed to, and is not cut short (no deadline runs
 *      while it does). Inputs come one at a time, a disk result before anything that came meanwhile:
 *      a `tick` that falls while entries are being applied is handled after entriesApplied, so a
 *      batch that completes the operation completes it; one that does not leaves it to fail then.
 *  S4  The master's sync.begin replaces whatever was running (a master may push one unasked) and
 *      restates where the master is (`latest`).
 *  S5  A full snapshot is accepted only in its one form: sync.begin (full), sync.snapshotStream,
 *      then manifest entries (sync.snapshotFiles, checked before any of their bytes) each before
 *      the binary chunks of their bytes, chunks in sequence, each starting where the last ended,
 *      never past the last file announced; sync.snapshotEnd with totals equal to the entries and
 *      every byte announced received. Any other order or content refuses it
 *      (GW_ERR_SYNC_SNAPSHOT_REFUSED). Messages naming another snapshot (one replaced or aborted)
 *      are ignored.
 *  S6  The holder is cleared on disk once the staging for a snapshot is ready (a crash from the
 *      swap on then asks for a full snapshot again), and set to the master only after the adoption.
 *      Only a snapshot whose every file was verified is swapped in; then the backup acknowledges the
 *      revision and reports sync.completed.
 *  S7  Entries apply in order, many messages as one batch; a gap fails the sync (GW_ERR_SYNC_GAP)
 *      and a refused batch fails it too, both asking for a full snapshot next. Entries that come
 *      while a snapshot runs, before the master answered, or while a retry is pending are ignored
 *      (the master queues live changes behind its answer; the next answer covers them).
 *  S8  The end of an incremental operation is the backup holding the revision the master's
 *      sync.begin named; it is acknowledged even when no entry was needed.
 *  S9  A failure keeps the last complete configuration, reports sync.failed with its code, and asks
 *      again after `retryMs`, or after syncTimeoutSecs when the master said it could not read its
 *      configuration (asking at once would make it read everything again every second). A retry
 *      already pending stays as it is: a stream of failures must not postpone it forever.
 *  S10 Link down: an operation under way ends with sync.failed (GW_ERR_SYNC_FAILED); nothing more.
 */
import type { JournalEntry } from '../config-model.js';
import type { ConfigArchiveReason } from '../config-wire.js';
import { GwError } from '../errors.js';
import type { SyncAck, SyncEntries, SyncKind, SyncMessage, SyncRequest } from './messages.js';
import {
  DEFAULT_SNAPSHOT_LIMITS,
  ManifestChecker,
  type ManifestLimits,
  type ManifestProblem,
  type SnapshotFile,
} from './snapshot-manifest.js';

export interface BackupSyncSettings {
  /** syncTimeoutSecs, in ms: the bound of one operation (S3). */
  timeoutMs: number;
  /** The pause before asking again after a failure (S9). */
  retryMs: number;
}

export interface BackupSyncInit {
  /** The master at the other end of this link. */
  peerUuid: string;
  /** The master whose configuration this node's core is (var/sync-state.json), or null. */
  holder: string | null;
  /** The master's revision this backup has applied up to (the store's syncedRevision). */
  revision: number;
  settings: BackupSyncSettings;
  limits?: ManifestLimits;
}

/** The master's messages that reach the machine one at a time (entries come batched, see `entries`). */
export type MasterMessage = Exclude<SyncMessage, SyncEntries | SyncRequest | SyncAck>;

export type BackupSyncInput = (
  | { type: 'connected' }
  | { type: 'resyncRequested' }
  | { type: 'settingsChanged'; settings: BackupSyncSettings }
  | { type: 'tick' }
  | { type: 'message'; message: MasterMessage }
  /** Consecutive sync.entries as received: applied as one batch (one journal fsync). */
  | { type: 'entries'; batch: readonly SyncEntries[] }
  /** The staging for snapshot `id` is ready (openSnapshot done). */
  | { type: 'snapshotOpened'; id: string }
  /** The store applied the entries of applyEntries; `revision` is its synced revision now. */
  | { type: 'entriesApplied'; revision: number }
  /** Snapshot `id` was swapped in and committed; `revision`: the store's synced revision now. */
  | { type: 'snapshotAdopted'; id: string; revision: number; archive: string | null }
  /**
   * Disk work failed: of snapshot `id` (open, write, verify, swap, adoption), or of applyEntries
   * (`id` null; `wantFull`: the entries were refused, so only a full snapshot sets things straight).
   */
  | { type: 'ioFailed'; id: string | null; error: GwError; wantFull?: boolean }
  | { type: 'disconnected' }
) & { now: number };

/** A part of a chunk's payload: the next `length` bytes of one file, and whether they start and complete it. */
export interface SnapshotPart {
  rel: string;
  length: number;
  /** The file's first bytes: create or truncate it. */
  truncate: boolean;
  complete: boolean;
}

export type SyncEventData = Record<string, string | number | boolean | null>;

export type BackupSyncDecision =
  | { type: 'send'; message: SyncRequest | SyncAck }
  | { type: 'emit'; event: 'sync.started' | 'sync.completed' | 'sync.failed'; data: SyncEventData }
  /** A full snapshot is expected: start a writer thread now (it takes a while to boot). */
  | { type: 'prepareWriter' }
  | { type: 'dropWriter' }
  /** Prepare an empty staging directory (and writer) for snapshot `id`; answer snapshotOpened or ioFailed. */
  | { type: 'openSnapshot'; id: string; revision: number }
  /** Entries announced and checked: the writer learns them (chunks name files by index). */
  | { type: 'addFiles'; id: string; files: readonly SnapshotFile[] }
  /** Write `payload` cut into `parts`, from file index `file` at `offset`; a failure is ioFailed. */
  | { type: 'write'; id: string; file: number; offset: number; parts: SnapshotPart[]; payload: Uint8Array }
  /** Verify every file, swap the staging in, adopt it; answer snapshotAdopted or ioFailed. */
  | { type: 'adopt'; id: string; revision: number; files: number; asked: ConfigArchiveReason }
  /** Drop snapshot `id` (its staging and writer), unless its swap has begun. */
  | { type: 'abortSnapshot'; id: string }
  /** Write var/sync-state.json's holder (S6). */
  | { type: 'setHolder'; holder: string | null }
  /** Apply the entries and note the master revision `upTo` as synced; answer entriesApplied or ioFailed. */
  | { type: 'applyEntries'; entries: JournalEntry[]; upTo: number };

export interface BackupSyncStep {
  decisions: BackupSyncDecision[];
  /** When to send `tick` (monotonic ms), or null for no timer. */
  nextDeadline: number | null;
}

export interface BackupSyncView {
  /** An operation is under way. */
  syncing: boolean;
  /** The master's latest revision as far as its messages said. */
  latest: number | null;
  /** Why the last operation failed, until one succeeds. */
  failed: string | null;
  /** The master revision this backup has applied up to. */
  revision: number;
  holder: string | null;
}

/** A snapshot as it arrives: its entries so far and where the next byte goes. */
interface Intake {
  id: string;
  revision: number;
  checker: ManifestChecker;
  /**
   * The entries from index `base` on: the one the next byte goes to and those announced after it.
   * Bytes come in manifest order, so an entry the position has passed is let go (a snapshot of
   * 100,000 resources announces 300,000).
   */
  files: Array<Pick<SnapshotFile, 'path' | 'size'>>;
  base: number;
  /** Entries announced in all. */
  announced: number;
  nextSeq: number;
  /** Index in the manifest (`base` and on: in `files`) and offset in that file of the next byte. */
  at: { file: number; offset: number };
  /** receiving; ended: the totals checked, the adoption asked for (S3: no timeout from here). */
  ended: boolean;
}

interface Operation {
  kind: SyncKind | null;
  startedAt: number;
  deadline: number;
  timeoutMs: number;
  /** The master revision the operation brings this node to (from sync.begin). */
  revision: number;
  /** Why this node asked for a full snapshot, recorded beside the archive it makes. */
  asked: ConfigArchiveReason | null;
  snapshot: Intake | null;
}

export class BackupSyncMachine {
  private settings: BackupSyncSettings;
  private readonly limits: ManifestLimits;
  private readonly peerUuid: string;
  private holder: string | null;
  private revision: number;
  private latest: number | null = null;
  private failed: string | null = null;
  private op: Operation | null = null;
  private retryAt: number | null = null;
  /** The delay before the retry of the failure being handled, when not the usual one (S9). */
  private nextRetryMs: number | null = null;
  private wantFull = false;
  private closed = false;
  private lastNow = -Infinity;
  private out: BackupSyncDecision[] = [];
  private now = 0;

  constructor(init: BackupSyncInit) {
    this.peerUuid = init.peerUuid;
    this.holder = init.holder;
    this.revision = init.revision;
    this.settings = init.settings;
    this.limits = init.limits ?? DEFAULT_SNAPSHOT_LIMITS;
  }

  view(): BackupSyncView {
    return { syncing: this.op !== null, latest: this.latest, failed: this.failed, revision: this.revision, holder: this.holder };
  }

  handle(input: BackupSyncInput): BackupSyncStep {
    // Time only moves forward here, whatever the clock says.
    this.now = Math.max(input.now, this.lastNow);
    this.lastNow = this.now;
    this.out = [];
    if (!this.closed) this.dispatch(input);
    return { decisions: this.out, nextDeadline: this.closed ? null : this.deadline() };
  }

  private dispatch(input: BackupSyncInput): void {
    switch (input.type) {
      case 'connected':
        return this.request(false);
      case 'resyncRequested':
        return this.request(true);
      case 'settingsChanged':
        this.settings = input.settings;
        return;
      case 'tick':
        return this.onTick();
      case 'message':
        return this.onMessage(input.message);
      case 'entries':
        return this.onEntries(input.batch);
      case 'snapshotOpened':
        return this.onOpened(input.id);
      case 'entriesApplied':
        return this.onApplied(input.revision);
      case 'snapshotAdopted':
        return this.onAdopted(input.id, input.revision, input.archive);
      case 'ioFailed':
        // Of a snapshot replaced or aborted meanwhile: not the current operation's failure.
        if (input.id !== null && this.op?.snapshot?.id !== input.id) return;
        if (input.wantFull) this.wantFull = true;
        return this.fail(input.error);
      case 'disconnected':
        return this.disconnect();
    }
  }

  /** The operation's timeout (S3), unless its snapshot is being adopted, and the retry (S9). */
  private deadline(): number | null {
    const op = this.op;
    const timeout = op && !op.snapshot?.ended ? op.deadline : null;
    if (timeout === null) return this.retryAt;
    return this.retryAt === null ? timeout : Math.min(timeout, this.retryAt);
  }

  private onTick(): void {
    const op = this.op;
    if (op && !op.snapshot?.ended && op.deadline <= this.now) {
      this.fail(new GwError('GW_ERR_SYNC_TIMEOUT', { detail: `timed out after ${op.timeoutMs / 1000} s (syncTimeoutSecs)` }));
    }
    if (this.retryAt !== null && this.retryAt <= this.now) {
      this.retryAt = null;
      this.request(false);
    }
  }

  /** S1, S2: ask for a sync, incremental when possible. */
  private request(full: boolean): void {
    this.retryAt = null;
    const broken = this.wantFull;
    full ||= broken;
    this.wantFull = false;
    this.abortOperation();
    const op = this.newOperation();
    const first = this.holder !== this.peerUuid;
    op.asked = first ? 'first-sync' : broken ? 'sync-broken' : full ? 'resync-requested' : null;
    // A master answers a backup that holds none of its configuration with a full snapshot.
    if (full || first) this.out.push({ type: 'prepareWriter' });
    this.out.push({ type: 'send', message: { type: 'sync.request', holder: this.holder, revision: this.revision, full } });
  }

  private newOperation(): Operation {
    const { timeoutMs } = this.settings;
    this.op = { kind: null, startedAt: this.now, deadline: this.now + timeoutMs, timeoutMs, revision: -1, asked: null, snapshot: null };
    return this.op;
  }

  private onMessage(m: MasterMessage): void {
    switch (m.type) {
      case 'sync.begin':
        return this.onBegin(m.kind, m.revision);
      case 'sync.snapshotStream':
        return this.onStream(m.id, m.revision);
      case 'sync.snapshotFiles':
        return this.onFiles(m.id, m.files);
      case 'sync.snapshotChunk':
        return this.onChunk(m.chunk, m.payload);
      case 'sync.snapshotEnd':
        return this.onEnd(m.id, m.totals);
      case 'sync.snapshotAbort':
        return this.onAbort(m.id, m.reason);
    }
  }

  /** S4. */
  private onBegin(kind: SyncKind, revision: number): void {
    if (!this.op) this.newOperation().asked = 'resync-by-master';
    const op = this.op!;
    this.dropSnapshot(op);
    op.kind = kind;
    op.revision = revision;
    op.startedAt = this.now;
    this.failed = null;
    this.out.push({ type: kind === 'full' ? 'prepareWriter' : 'dropWriter' });
    // Assigned, not maxed: each answer restates where the master is (and one bad message cannot
    // leave the backup waiting forever for a revision that does not exist).
    this.latest = revision;
    this.emit('sync.started', { kind, revision });
  }

  /** S5: a snapshot begins; its staging is prepared. */
  private onStream(id: string, revision: number): void {
    const op = this.op;
    if (!op || op.kind !== 'full') return this.refuse('a snapshot arrived without sync.begin');
    this.dropSnapshot(op);
    op.snapshot = { id, revision, checker: new ManifestChecker(this.limits), files: [], base: 0, announced: 0, nextSeq: 0, at: { file: 0, offset: 0 }, ended: false };
    this.out.push({ type: 'openSnapshot', id, revision });
  }

  /** S6: the staging is ready; one that was replaced while it was prepared goes at once. */
  private onOpened(id: string): void {
    if (this.op?.snapshot?.id !== id) {
      this.out.push({ type: 'abortSnapshot', id });
      return;
    }
    this.holder = null;
    this.out.push({ type: 'setHolder', holder: null });
  }

  /** The intake of snapshot `id` under way, or null (S5: another snapshot's messages are ignored). */
  private intake(id: string): Intake | null {
    const s = this.op?.snapshot;
    return s && s.id === id ? s : null;
  }

  private onFiles(id: string, files: readonly SnapshotFile[]): void {
    const s = this.intake(id);
    if (!s) return;
    if (s.ended) return this.refuse('manifest entries after the end of the snapshot');
    const problem = s.checker.add(files);
    if (problem) return this.refuse(manifestRefused(problem));
    // Path and size are all the cutting of chunks needs: the hash goes to the writer (which checks
    // it) and is not kept here, 300,000 of them for 100,000 resources.
    for (const f of files) s.files.push({ path: f.path, size: f.size });
    s.announced += files.length;
    this.out.push({ type: 'addFiles', id, files });
  }

  private onChunk(chunk: { id: string; seq: number; file: number; offset: number }, payload: Uint8Array): void {
    const s = this.intake(chunk.id);
    if (!s) return;
    if (s.ended) return this.refuse('chunk after the end of the snapshot');
    if (chunk.seq !== s.nextSeq) return this.refuse(`chunk ${chunk.seq} out of order (expected ${s.nextSeq})`);
    s.nextSeq++;
    const cut = cutPayload(s, chunk, payload.length);
    if ('problem' in cut) return this.refuse(cut.problem);
    this.out.push({ type: 'write', id: s.id, file: cut.file, offset: cut.offset, parts: cut.parts, payload });
  }

  private onEnd(id: string, totals: { files: number; totalBytes: number; totalSha256: string }): void {
    const s = this.intake(id);
    if (!s) return;
    if (s.ended) return this.refuse('the end of the snapshot twice');
    const problem = s.checker.finish(totals);
    if (problem) return this.refuse(manifestRefused(problem));
    // Empty files after the last byte are created now.
    const tail = cutPayload(s, null, 0);
    if ('problem' in tail) return this.refuse(tail.problem);
    // Every byte announced must have come (the writer's check before the swap says so again).
    const short = s.files[s.at.file - s.base];
    if (short) return this.refuse(`${short.path}: incomplete (${s.at.offset} of ${short.size} bytes)`);
    if (tail.parts.length > 0) this.out.push({ type: 'write', id, file: tail.file, offset: tail.offset, parts: tail.parts, payload: new Uint8Array(0) });
    s.ended = true;
    this.out.push({ type: 'adopt', id, revision: s.revision, files: s.announced, asked: this.op!.asked ?? 'journal-behind' });
  }

  /** S9: the master could not read its core; the next request waits a sync timeout. */
  private onAbort(id: string, reason: string): void {
    if (!this.intake(id)) return;
    this.nextRetryMs = this.settings.timeoutMs;
    this.fail(new GwError('GW_ERR_SYNC_FAILED', { detail: reason }));
  }

  /** S6: the new core is in; this node holds the master's configuration. */
  private onAdopted(id: string, revision: number, archive: string | null): void {
    this.holder = this.peerUuid;
    this.revision = revision;
    this.out.push({ type: 'setHolder', holder: this.peerUuid });
    this.out.push({ type: 'send', message: { type: 'sync.ack', revision } });
    const s = this.op?.snapshot;
    if (s && s.id === id) this.complete('full', s.revision, archive);
  }

  /** S7, S8. */
  private onEntries(batch: readonly SyncEntries[]): void {
    if (this.retryAt !== null) return;
    const op = this.op;
    if (op && op.kind !== 'incremental') return;
    const entries: JournalEntry[] = [];
    const expected = this.revision;
    let upTo = expected;
    for (const m of batch) {
      this.latest = Math.max(this.latest ?? 0, m.latest, m.upTo);
      if (m.upTo <= upTo) continue;
      if (m.from > upTo) {
        this.wantFull = true;
        return this.fail(new GwError('GW_ERR_SYNC_GAP', { from: m.from, revision: upTo }));
      }
      for (const e of m.entries) if (e.revision > upTo && e.revision <= m.upTo) entries.push(e);
      upTo = m.upTo;
    }
    if (upTo > expected) {
      this.out.push({ type: 'applyEntries', entries, upTo });
      return;
    }
    // Nothing new: the end of a catch-up is acknowledged even when it brought nothing.
    if (op && op.revision <= this.revision) {
      this.out.push({ type: 'send', message: { type: 'sync.ack', revision: this.revision } });
      this.complete('incremental', op.revision, null);
    }
  }

  private onApplied(revision: number): void {
    this.revision = revision;
    this.out.push({ type: 'send', message: { type: 'sync.ack', revision } });
    const op = this.op;
    if (op && op.kind === 'incremental' && revision >= op.revision) this.complete('incremental', op.revision, null);
  }

  private complete(kind: SyncKind, revision: number, archive: string | null): void {
    // durationMs: from the master's answer, so a reader needs only this one event.
    const durationMs = this.op ? Math.round(this.now - this.op.startedAt) : null;
    this.op = null;
    this.failed = null;
    this.emit('sync.completed', { kind, revision, archive, durationMs });
  }

  private refuse(detail: string): void {
    this.fail(new GwError('GW_ERR_SYNC_SNAPSHOT_REFUSED', { detail }));
  }

  /** S9. */
  private fail(err: GwError): void {
    this.abortOperation();
    this.failed = err.message;
    this.emit('sync.failed', { reason: err.message, code: err.code });
    const delayMs = this.nextRetryMs ?? this.settings.retryMs;
    this.nextRetryMs = null;
    this.retryAt ??= this.now + delayMs;
  }

  /** S10. */
  private disconnect(): void {
    this.retryAt = null;
    this.out.push({ type: 'dropWriter' });
    if (this.op) {
      // Coded like every other sync.failed: scripts and `resync --wait` read the code, not the text.
      this.emit('sync.failed', { reason: 'the link to the master went down', code: 'GW_ERR_SYNC_FAILED' });
      this.abortOperation();
    }
    this.closed = true;
  }

  private abortOperation(): void {
    if (this.op) this.dropSnapshot(this.op);
    this.op = null;
  }

  private dropSnapshot(op: Operation): void {
    if (op.snapshot) this.out.push({ type: 'abortSnapshot', id: op.snapshot.id });
    op.snapshot = null;
  }

  private emit(event: 'sync.started' | 'sync.completed' | 'sync.failed', data: SyncEventData): void {
    this.out.push({ type: 'emit', event, data });
  }
}

function manifestRefused(problem: ManifestProblem): string {
  return `manifest refused: ${problem.path ? `${problem.path}: ` : ''}${problem.problem}`;
}

/**
 * A chunk's payload cut by the sizes of the entries announced, from where the previous chunk ended
 * (`chunk` null: only the empty files at that position, at the end of the snapshot). Moves the
 * intake's position past the bytes.
 */
function cutPayload(
  s: Pick<Intake, 'files' | 'base' | 'at'>,
  chunk: { seq: number; file: number; offset: number } | null,
  length: number,
): { file: number; offset: number; parts: SnapshotPart[] } | { problem: string } {
  const { files, at } = s;
  const entry = (i: number): Pick<SnapshotFile, 'path' | 'size'> | undefined => files[i - s.base];
  if (chunk && (chunk.file !== at.file || chunk.offset !== at.offset)) {
    // A chunk names the file its first byte belongs to. Empty files just before it may not have
    // been passed yet (they may be announced after the previous chunk): a chunk may name any of
    // them, or the first file with bytes after them.
    let nonEmpty = at.file;
    while (at.offset === 0 && entry(nonEmpty)?.size === 0) nonEmpty++;
    if (at.offset !== 0 || chunk.offset !== 0 || chunk.file < at.file || chunk.file > nonEmpty) {
      return { problem: `chunk ${chunk.seq} starts at file ${chunk.file} offset ${chunk.offset}, expected file ${at.file} offset ${at.offset}` };
    }
  }
  const start = { file: at.file, offset: at.offset };
  const parts: SnapshotPart[] = [];
  let used = 0;
  // Empty files take no bytes: each is created as the position reaches it.
  for (let f = entry(at.file); f !== undefined && (used < length || f.size === 0); f = entry(at.file)) {
    const n = Math.min(f.size - at.offset, length - used);
    parts.push({ rel: f.path, length: n, truncate: at.offset === 0, complete: at.offset + n === f.size });
    used += n;
    at.offset += n;
    if (at.offset === f.size) {
      at.file += 1;
      at.offset = 0;
    }
  }
  if (used < length) return { problem: `chunk ${chunk!.seq}: ${length - used} bytes past the last file of the manifest` };
  // The entries passed are let go, in steps (not one shift per file).
  const passed = at.file - s.base;
  if (passed >= 4096 && passed * 2 >= files.length) {
    files.splice(0, passed);
    s.base = at.file;
  }
  return { ...start, parts };
}
