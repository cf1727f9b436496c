import { createHash, randomUUID } from 'node:crypto';

import type { JournalEntry } from '../../core/config-model.js';
import {
  entryBatches,
  SNAPSHOT_CHUNK_BYTES,
  SNAPSHOT_FILES_PER_PART,
  SNAPSHOT_WINDOW_BYTES,
  type SyncSnapshotChunk,
  type SyncEntries,
  type SyncKind,
  type SyncMessage,
  type SyncRequest,
} from '../../core/sync/messages.js';
import { offerFor } from '../../core/sync/master-offer.js';
import type { ConfigStore } from '../config/config-store.js';
import type { EventLog } from '../events/event-log.js';
import type { Logger } from '../logger.js';
import { manifestLines } from '../../core/sync/snapshot-manifest.js';
import { describeFsError } from '../storage/atomic-write.js';
import { streamTree } from '../storage/bulk-reader.js';
import { streamedChunks } from './snapshot-source.js';

export interface MasterSideOptions {
  nodeId: string;
  peerUuid: string;
  store: ConfigStore;
  coreDir: string;
  events: EventLog;
  logger: Logger;
  send: (message: SyncMessage) => boolean;
  /** One chunk of a snapshot in a binary frame; `room`: free bytes before `payload` in its buffer, where the frame's header can go. */
  sendChunk: (chunk: SyncSnapshotChunk['chunk'], payload: Buffer, room: number) => boolean;
  /** Resolves once at most `bytes` are queued for the peer: the snapshot waits here between parts. */
  paced: (bytes: number) => Promise<void>;
}

type Mode = 'idle' | 'catchup' | 'snapshot' | 'streaming' | 'closed';

/** Bytes left before each part's bytes for its frame's header (which is ~120). */
const FRAME_HEADER_ROOM = 512;
/** A streamed part up to this size goes as one frame (frames stop at 8 MiB). */
const SNAPSHOT_PART_FRAME_BYTES = 4 * 1024 * 1024;
/**
 * At most this much of a snapshot is queued for the peer before the next part is sent: two or three
 * parts, enough to keep the socket busy; each byte queued is a byte of the master's memory.
 */
const SNAPSHOT_QUEUED_MAX_BYTES = 8 * 1024 * 1024;

/**
 * The master's side of one connection to a backup. It answers sync.request with a catch-up from the
 * journal or a full snapshot, then pushes every committed change at once, in order; changes
 * committed while a catch-up or snapshot is on its way are queued and sent after it (they are all
 * above the revision it was taken at, because it is taken under the store's lock).
 */
export class MasterSide {
  private mode: Mode = 'idle';
  private op = 0;
  private sentUpTo = 0;
  private queued: JournalEntry[] = [];
  private flushScheduled = false;
  /** The backup's acknowledged revision (master numbering). */
  peerRevision: number | null = null;
  /** The operation whose completion is announced once the backup acknowledges its revision. */
  private pending: { kind: SyncKind; revision: number } | null = null;
  private readonly unsubscribe: () => void;
  /** The snapshot being sent: what the backup reported taken of it, and the send loop waiting for more. */
  private window: { id: string; received: number; wake: (() => void) | null } | null = null;

  constructor(private readonly o: MasterSideOptions) {
    this.unsubscribe = o.store.subscribe((e) => this.onCommit(e));
  }

  get transferring(): boolean {
    return this.mode === 'catchup' || this.mode === 'snapshot';
  }

  close(): void {
    this.mode = 'closed';
    this.op++;
    this.queued = [];
    this.unsubscribe();
    this.window?.wake?.();
  }

  /** sync.snapshotReceived: the backup took `bytes` of snapshot `id`, so more may be sent. */
  onReceived(id: string, bytes: number): void {
    const w = this.window;
    if (w?.id !== id || bytes <= w.received) return;
    w.received = bytes;
    w.wake?.();
  }

  onRequest(req: SyncRequest): Promise<void> {
    const { store, nodeId } = this.o;
    const answer = offerFor(req, { nodeId, revision: store.revision, journalFirst: store.journalFirst });
    this.o.logger.info(
      { peer: this.o.peerUuid, holder: req.holder, revision: req.revision, full: req.full, journalFirst: store.journalFirst, answer },
      'sync requested',
    );
    return answer === 'full' ? this.pushFull() : this.catchUp(req.revision);
  }

  onAck(revision: number): void {
    this.peerRevision = Math.max(this.peerRevision ?? 0, revision);
    if (this.pending && this.peerRevision >= this.pending.revision) {
      const { kind, revision: r } = this.pending;
      this.pending = null;
      this.o.events.emit('sync.completed', { kind, revision: r, archive: null, peer: this.o.peerUuid });
    }
  }

  /**
   * Send a full snapshot of core (on request, or `gwctl redundancy resync` on the master) as it is
   * read: each part's manifest entries, then its bytes, while the reader threads read the next
   * parts, and the totals at the end. The backup checks and writes the first files while the master
   * is still reading (reading 30,000 files before sending anything left the backup idle for a
   * quarter of the sync). Read under the store's lock: every commit after it is queued and sent
   * after the snapshot.
   */
  async pushFull(): Promise<void> {
    const { sendChunk } = this.o;
    const op = ++this.op;
    // A snapshot still being sent waits no longer: it sees the new op and gives up the store's lock.
    this.window?.wake?.();
    const { store, coreDir } = this.o;
    const started = Date.now();
    const id = randomUUID();
    let files = 0;
    let totalBytes = 0;
    const totalHash = createHash('sha256');
    let readMs = 0;
    let revision = 0;
    const sent = await store.locked(async () => {
      if (op !== this.op) return false;
      revision = store.revision;
      this.o.events.emit('sync.started', { kind: 'full', revision, peer: this.o.peerUuid });
      this.mode = 'snapshot';
      this.queued = [];
      this.pending = { kind: 'full', revision };
      const lost = (): false => {
        this.lost();
        return false;
      };
      if (!this.o.send({ type: 'sync.begin', op, kind: 'full', revision })) return lost();
      if (!this.o.send({ type: 'sync.snapshotStream', op, id, revision })) return lost();
      let seq = 0;
      const window: NonNullable<MasterSide['window']> = { id, received: 0, wake: null };
      this.window = window;
      let sentBytes = 0;
      try {
        for await (const part of streamTree(coreDir, SNAPSHOT_FILES_PER_PART, FRAME_HEADER_ROOM)) {
          // A newer request replaced this one (its own answer follows), or the link went down.
          if (op !== this.op || this.mode !== 'snapshot') return false;
          const entries = part.files.map((f) => ({ path: f.rel, size: f.data.length, sha256: f.sha256 }));
          if (!this.o.send({ type: 'sync.snapshotFiles', id, files: entries })) return lost();
          // One frame for the part, its header written in the room left before its bytes (a
          // copy of every byte, and the garbage collections its buffers caused, cost the master
          // ~10% of its time); cut in chunks only when the part is larger than a frame should be.
          for (const chunk of streamedChunks(part, files, SNAPSHOT_PART_FRAME_BYTES, SNAPSHOT_CHUNK_BYTES)) {
            // No further than a window beyond what the backup reported taken (it reports as it
            // hands chunks to its writer): a backup whose disk is slower than the network would
            // otherwise hold the rest of the snapshot in memory.
            while (sentBytes - window.received > SNAPSHOT_WINDOW_BYTES && op === this.op && this.mode === 'snapshot') {
              await new Promise<void>((resolve) => (window.wake = resolve));
              window.wake = null;
            }
            if (op !== this.op || this.mode !== 'snapshot') return false;
            if (!sendChunk({ id, seq: seq++, file: chunk.file, offset: chunk.offset }, chunk.payload, chunk.room)) return lost();
            sentBytes += chunk.payload.length;
          }
          files += entries.length;
          totalBytes += part.bytes.length;
          totalHash.update(manifestLines(entries));
          // What the network has not taken yet stays bounded (a few parts): without this wait the
          // master queued the whole snapshot (100,000 resources: 800 MB) as fast as it read it.
          await this.o.paced(SNAPSHOT_QUEUED_MAX_BYTES);
        }
      } catch (err) {
        // Replaced or closed meanwhile: nobody waits for this one any more.
        if (op !== this.op || this.mode !== 'snapshot') return false;
        // The backup, which has part of it, is told why (rather than waiting out its sync timeout).
        const reason = this.readFailed(err);
        // Bounded like the message's schema (an errno message quotes the path, which may be long).
        const told = `the master ${reason}`;
        this.o.send({ type: 'sync.snapshotAbort', id, reason: told.length > 4096 ? `${told.slice(0, 4093)}...` : told });
        this.mode = 'idle';
        throw err;
      }
      readMs = Date.now() - started;
      const totals = { files, totalBytes, totalSha256: totalHash.digest('hex') };
      return this.o.send({ type: 'sync.snapshotEnd', id, totals }) || lost();
    });
    if (!sent || op !== this.op) return;
    this.o.logger.info({ files, bytes: totalBytes, revision, readMs, ms: Date.now() - started }, 'full snapshot sent');
    this.startStreaming(revision);
  }

  /** A started sync always ends with an event: here the core could not be read. Returns the reason. */
  private readFailed(err: unknown): string {
    const reason = `could not read the configuration for a full snapshot: ${describeFsError(err)}`;
    this.o.events.emit('sync.failed', { reason, code: 'GW_ERR_SYNC_FAILED', peer: this.o.peerUuid });
    return reason;
  }

  private async catchUp(from: number): Promise<void> {
    const op = ++this.op;
    const { store } = this.o;
    const { entries, revision } = await store.locked(async () => {
      const all = await store.since(from);
      this.mode = 'catchup';
      this.queued = [];
      return { entries: all, revision: store.revision };
    });
    if (op !== this.op) return;
    this.pending = { kind: 'incremental', revision };
    this.o.events.emit('sync.started', { kind: 'incremental', revision, peer: this.o.peerUuid });
    if (!this.o.send({ type: 'sync.begin', op, kind: 'incremental', revision })) return this.lost();
    let sent = from;
    const batches = entryBatches(entries);
    for (const [i, batch] of batches.entries()) {
      const upTo = i === batches.length - 1 ? revision : batch.at(-1)!.revision;
      if (!this.o.send(this.entriesMessage(sent, upTo, batch))) return this.lost();
      sent = upTo;
      if (i < batches.length - 1) await new Promise((r) => setImmediate(r));
      if (op !== this.op) return;
    }
    // Always one message, so the backup learns it is up to date even when nothing changed.
    if (entries.length === 0 && !this.o.send(this.entriesMessage(from, revision, []))) return this.lost();
    this.startStreaming(revision);
  }

  private startStreaming(revision: number): void {
    this.mode = 'streaming';
    this.sentUpTo = revision;
    const queued = this.queued.filter((e) => e.revision > revision);
    this.queued = [];
    if (queued.length > 0) this.sendLive(queued);
  }

  private onCommit(entry: JournalEntry): void {
    if (this.mode === 'catchup' || this.mode === 'snapshot' || this.mode === 'streaming') this.queued.push(entry);
    // Idle: the backup's request will read it from the journal.
    if (this.mode !== 'streaming' || this.flushScheduled) return;
    // Coalesce a burst committed in one turn of the loop into one message.
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.mode !== 'streaming') return;
      const entries = this.queued.filter((e) => e.revision > this.sentUpTo);
      this.queued = [];
      if (entries.length > 0) this.sendLive(entries);
    });
  }

  private sendLive(entries: JournalEntry[]): void {
    for (const batch of entryBatches(entries)) {
      const upTo = batch.at(-1)!.revision;
      if (!this.o.send(this.entriesMessage(this.sentUpTo, upTo, batch))) return this.lost();
      this.sentUpTo = upTo;
    }
  }

  /** Local entries are never sent, but the range still covers them so the backup's revision advances. */
  private entriesMessage(from: number, upTo: number, batch: JournalEntry[]): SyncEntries {
    const entries = batch.filter((e): e is JournalEntry & { collection: 'core' } => e.collection === 'core').map(({ sourceRevision: _s, ...e }) => e);
    return { type: 'sync.entries', from, upTo, latest: this.o.store.revision, entries };
  }

  private lost(): void {
    this.o.logger.debug({ peer: this.o.peerUuid }, 'sync: the link went down while sending');
    this.mode = 'idle';
    this.window?.wake?.();
  }
}
