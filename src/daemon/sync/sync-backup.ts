import { performance } from 'node:perf_hooks';

import type { ConfigArchiveReason } from '../../core/config-wire.js';
import { GwError } from '../../core/errors.js';
import {
  BackupSyncMachine,
  type BackupSyncDecision,
  type BackupSyncInput,
  type BackupSyncSettings,
  type MasterMessage,
} from '../../core/sync/backup-machine.js';
import { SNAPSHOT_RECEIVED_EVERY_BYTES, type SyncEntries, type SyncMessage } from '../../core/sync/messages.js';
import type { ConfigStore } from '../config/config-store.js';
import type { SnapshotContents } from '../config/snapshot-contents.js';
import type { EventLog } from '../events/event-log.js';
import type { Logger } from '../logger.js';
import { BulkWriter } from '../storage/bulk-writer.js';
import { archiveNames, DEFAULT_ARCHIVE_KEEP, recordAndPrune } from './archives.js';
import { SnapshotSink } from './snapshot-sink.js';
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
  /** syncTimeoutSecs of redundancy.json, read before each input (settings change live). */
  timeoutSecs: () => number;
  /** syncArchiveKeep of redundancy.json, read after each new archive (default 5). */
  archiveKeep?: () => number;
  retryMs?: number;
  /** Monotonic ms; performance.now() unless a test says otherwise. */
  clock?: () => number;
}

type Input = BackupSyncInput extends infer I ? (I extends unknown ? Omit<I, 'now'> : never) : never;

/** A snapshot whose staging is open: its sink, and what its files tell as they arrive (null once handed to the adoption). */
interface OpenSnapshot {
  sink: SnapshotSink;
  contents: SnapshotContents | null;
  /** Payload bytes handed to the writer, and how many of them the master was told of (its send window). */
  taken: number;
  reported: number;
}

const MASTER_MESSAGES = new Set<string>(['sync.begin', 'sync.snapshotStream', 'sync.snapshotFiles', 'sync.snapshotChunk', 'sync.snapshotEnd', 'sync.snapshotAbort']);

function isMasterMessage(m: SyncMessage): m is MasterMessage {
  return MASTER_MESSAGES.has(m.type);
}

function asGwError(err: unknown): GwError {
  return err instanceof GwError ? err : new GwError('GW_ERR_SYNC_FAILED', { detail: String((err as Error)?.message ?? err) });
}

/** What waits for the machine: a master's message (sync.entries are batched when taken) or another input. */
type Queued = { message: SyncMessage } | { input: Input };

/**
 * The backup's side of one connection to its master: the I/O shell around BackupSyncMachine
 * (src/core/sync/backup-machine.ts), which decides everything. Every input goes through one serial
 * queue: the master's messages in arrival order (consecutive sync.entries as one batch: one
 * journal fsync, one ack), the timer's `tick`, an operator's request, the link going down. One
 * input at a time: the machine steps, then its decisions are carried out in order, the disk work
 * they ask for (staging, writer thread, swap, journal) awaited, before the next input. A disk
 * work's result is an input too, queued behind the decisions of its step and ahead of what came
 * from outside meanwhile (the machine learns what its own decisions led to before anything else),
 * never fed from inside another step: no decision of a step runs after a later input changed the
 * machine. Its one deadline (the operation's syncTimeoutSecs, the retry) is a timer whose expiry
 * is a `tick` input, queued like the others.
 */
export class BackupSide {
  private readonly machine: BackupSyncMachine;
  private readonly clock: () => number;
  /** Inputs from outside (messages, ticks, requests, the link down), first come first served. */
  private inbox: Queued[] = [];
  /** Results of the disk work of the step just carried out, in the order they came: fed first. */
  private results: Input[] = [];
  private pumping = false;
  /** The link went down: nothing more is taken from outside (the machine hears `disconnected` in turn). */
  private closing = false;
  /** The machine heard `disconnected`: nothing more is fed to it. */
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  /** The deadline `timer` was armed for. */
  private armedFor: number | null = null;
  private settings: BackupSyncSettings;
  /** A writer thread started while a full snapshot is on its way (see the prepareWriter decision). */
  private spareWriter: BulkWriter | null = null;
  private readonly snapshots = new Map<string, OpenSnapshot>();
  /** The sync state's holder cleared on disk: resolves with the error when it could not be. */
  private holderCleared: Promise<unknown> = Promise.resolve(null);

  constructor(private readonly o: BackupSideOptions) {
    this.clock = o.clock ?? (() => performance.now());
    this.settings = this.readSettings();
    this.machine = new BackupSyncMachine({ peerUuid: o.peerUuid, holder: o.state.holder, revision: o.store.syncedRevision, settings: this.settings });
    // The master's changes come as replicated batches from now on.
    o.store.expectReplication();
  }

  get syncing(): boolean {
    return this.machine.view().syncing;
  }

  /** The master's latest revision as far as its messages said. */
  get latest(): number | null {
    return this.machine.view().latest;
  }

  get failed(): string | null {
    return this.machine.view().failed;
  }

  /** Ask for a sync: incremental when possible, unless `full` (an operator's resync). */
  request(full = false): void {
    this.enqueue({ input: { type: full ? 'resyncRequested' : 'connected' } });
  }

  /**
   * The link went down: what still waits from outside is dropped, and the machine hears it after
   * the step under way (a swap already begun ends first, S3) and the results of its disk work.
   */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.inbox = [{ input: { type: 'disconnected' } }];
    void this.pump();
  }

  receive(message: SyncMessage): void {
    this.enqueue({ message });
  }

  private enqueue(item: Queued): void {
    if (this.closing) return;
    this.inbox.push(item);
    void this.pump();
  }

  private readSettings(): BackupSyncSettings {
    return { timeoutMs: this.o.timeoutSecs() * 1000, retryMs: this.o.retryMs ?? 1000 };
  }

  /**
   * The one consumer of both queues: results first, then the next input from outside. Runs
   * synchronously up to the first disk work, so a request on an idle side is sent at once.
   */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed) {
        const input = this.results.shift() ?? this.nextInput();
        if (input === undefined) {
          if (this.inbox.length === 0) break;
          continue;
        }
        await this.step(input);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The next input from outside, or undefined (the inbox empty, or the message not the machine's). */
  private nextInput(): Input | undefined {
    const item = this.inbox.shift();
    if (!item) return undefined;
    if ('input' in item) return item.input;
    const m = item.message;
    if (m.type === 'sync.entries') return { type: 'entries', batch: this.drainEntries(m) };
    if (isMasterMessage(m)) return { type: 'message', message: m };
    // sync.request and sync.ack are the backup's own messages: a master never sends them.
    this.o.logger.warn({ type: m.type }, 'sync: ignoring a message a master does not send');
    return undefined;
  }

  /** This message and every sync.entries right behind it in the inbox. */
  private drainEntries(first: SyncEntries): SyncEntries[] {
    const out = [first];
    for (let next = this.inbox[0]; next && 'message' in next && next.message.type === 'sync.entries'; next = this.inbox[0]) {
      out.push(next.message);
      this.inbox.shift();
    }
    return out;
  }

  /**
   * One input to the machine, then its decisions carried out in order (disk work awaited); the
   * results of that work are queued for the pump, never fed from here.
   */
  private async step(input: Input): Promise<void> {
    const settings = this.readSettings();
    if (settings.timeoutMs !== this.settings.timeoutMs || settings.retryMs !== this.settings.retryMs) {
      this.settings = settings;
      this.machine.handle({ type: 'settingsChanged', settings, now: this.clock() });
    }
    const { decisions, nextDeadline } = this.machine.handle({ ...input, now: this.clock() } as BackupSyncInput);
    if (input.type === 'disconnected') this.closed = true;
    this.arm(nextDeadline);
    for (const d of decisions) {
      const result = await this.apply(d);
      if (result) this.results.push(result);
    }
  }

  private arm(deadline: number | null): void {
    // Every chunk of a snapshot is an input, and the deadline seldom moves during one: keep the timer.
    if (this.timer && deadline === this.armedFor && !this.closing) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = deadline;
    if (deadline === null || this.closing) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.enqueue({ input: { type: 'tick' } });
    }, Math.max(0, deadline - this.clock()));
  }

  /** Carry out one decision; the input it leads to (the result of disk work), if any. */
  private async apply(d: BackupSyncDecision): Promise<Input | undefined> {
    switch (d.type) {
      case 'send':
        // Once the link is down, a message would reach the next connection, which has its own side.
        if (!this.closing) this.o.send(d.message);
        return;
      case 'emit':
        if (d.event === 'sync.failed') this.o.logger.warn(d.data, 'sync failed; keeping the last complete configuration and retrying');
        this.o.events.emit(d.event, d.data);
        return;
      case 'prepareWriter':
        if (!this.closing) this.spareWriter ??= new BulkWriter();
        return;
      case 'dropWriter':
        void this.spareWriter?.close();
        this.spareWriter = null;
        return;
      case 'openSnapshot':
        return this.openSnapshot(d.id);
      case 'addFiles': {
        const open = this.snapshots.get(d.id);
        if (!open) return;
        open.sink.addFiles(d.files);
        return;
      }
      case 'write': {
        const open = this.snapshots.get(d.id);
        if (!open) return;
        // Read first: the payload's buffer may move to the writer thread (then it reads as empty here).
        const length = d.payload.length;
        try {
          // Resolves once the writer thread has the bytes (a few runs in flight): the next chunk is
          // taken while these are written.
          await open.sink.write(d.file, d.offset, d.parts, d.payload);
        } catch (err) {
          return { type: 'ioFailed', id: d.id, error: asGwError(err) };
        }
        // The master sends only so far beyond what was taken: chunks wait on its side, not in
        // this inbox (a disk slower than the network had a whole snapshot queued here, 1.1 GB).
        open.taken += length;
        if (open.taken - open.reported >= SNAPSHOT_RECEIVED_EVERY_BYTES && !this.closing) {
          open.reported = open.taken;
          this.o.send({ type: 'sync.snapshotReceived', id: d.id, bytes: open.taken });
        }
        return;
      }
      case 'adopt':
        return this.adopt(d.id, d.revision, d.files, d.asked);
      case 'abortSnapshot': {
        const open = this.snapshots.get(d.id);
        this.snapshots.delete(d.id);
        if (open) void open.sink.abort().catch(() => undefined);
        return;
      }
      case 'setHolder':
        if (d.holder === null) {
          // Written while the transfer runs (the chunks behind would otherwise wait for its fsync)
          // and awaited before the swap.
          this.holderCleared = this.o.state.update({ holder: null }).then(
            () => null,
            (err: unknown) => err,
          );
        } else {
          // The journal's restart committed the adoption already: a crash before this is written
          // only costs a full snapshot more at the next start.
          this.o.state.update({ holder: d.holder }).catch((err: unknown) => this.o.logger.warn({ err }, 'could not write the sync state'));
        }
        return;
      case 'applyEntries':
        return this.applyEntries(d.entries, d.upTo);
    }
  }

  private async openSnapshot(id: string): Promise<Input | undefined> {
    // The files are parsed, checked and signed as they arrive, and only those facts kept (not the
    // content, whatever the snapshot's size), so the adoption reads nothing back from the disk.
    const contents = this.o.store.snapshotContents();
    const writer = this.spareWriter ?? undefined;
    this.spareWriter = null;
    let sink: SnapshotSink;
    try {
      sink = await SnapshotSink.open({ coreDir: this.o.coreDir, varDir: this.o.varDir }, id, { onFile: (rel, parts) => contents.add(rel, parts), writer });
    } catch (err) {
      return { type: 'ioFailed', id, error: asGwError(err) };
    }
    if (this.closing) {
      // The link went down meanwhile: the machine is about to drop the operation (and would clear
      // the holder first, costing a full snapshot at the next link up for nothing).
      await sink.abort();
      return undefined;
    }
    this.snapshots.set(id, { sink, contents, taken: 0, reported: 0 });
    return { type: 'snapshotOpened', id };
  }

  private async adopt(id: string, revision: number, files: number, asked: ConfigArchiveReason): Promise<Input | undefined> {
    const open = this.snapshots.get(id);
    if (!open) return undefined;
    const { sink } = open;
    const { store } = this.o;
    const contents = open.contents ?? undefined;
    open.contents = null;
    const started = Date.now();
    let verifyMs = 0;
    // The store compares the new core (from `contents`) while this waits for the writer's last
    // files and their hashes: nothing is swapped in, nor committed, unless they all match.
    const verifyAndSwap = async () => {
      await sink.verify();
      const notCleared = await this.holderCleared;
      if (notCleared) throw notCleared;
      verifyMs = Date.now() - started;
      return sink.commit();
    };
    // The folders of var/archive before: the one the adoption makes is the one not among them.
    const archivesBefore = await archiveNames(this.o.varDir).catch(() => null);
    let adopted;
    try {
      adopted = await store.adoptSnapshot(revision, { contents, swap: verifyAndSwap, unswap: () => sink.rollback() });
    } catch (err) {
      this.snapshots.delete(id);
      void sink.abort().catch(() => undefined);
      return { type: 'ioFailed', id, error: asGwError(err) };
    }
    this.snapshots.delete(id);
    const { archive, durability, syncMs } = adopted.swapped;
    const { created, updated, deleted, timings, revision: adoptedRevision } = adopted;
    // The swap's intent is done with (left behind, the next start only removes it).
    await sink.finish();
    this.o.logger.info({ revision, archive, created, updated, deleted, files, durability, syncMs, verifyMs, ...timings, ms: Date.now() - started }, 'full snapshot adopted');
    // Before the sync is reported complete, so `resync --wait` then `config archives` sees the
    // pruned list; it never fails the sync (recordAndPrune reports its own failures).
    if (archivesBefore) {
      await recordAndPrune({
        varDir: this.o.varDir,
        before: archivesBefore,
        folder: archive,
        record: { reason: asked, sourceRevision: revision, peer: this.o.peerUuid },
        keep: this.o.archiveKeep?.() ?? DEFAULT_ARCHIVE_KEEP,
        logger: this.o.logger,
        events: this.o.events,
      }).catch((err: unknown) => this.o.logger.warn({ err }, 'could not record or prune the archives'));
    }
    // One event for the whole core (not one per resource, which for a big snapshot pushed
    // everything else out of the event window): the core may have changed anywhere.
    this.o.events.emit('config.replaced', { revision: adoptedRevision, sourceRevision: revision, created, updated, deleted, archive });
    return { type: 'snapshotAdopted', id, revision: store.syncedRevision, archive };
  }

  private async applyEntries(entries: Parameters<ConfigStore['replayBatch']>[0], upTo: number): Promise<Input> {
    const { store } = this.o;
    try {
      await store.replayBatch(entries);
    } catch (err) {
      // A forged or broken entry: the whole batch is refused; a full snapshot sets things straight.
      return { type: 'ioFailed', id: null, error: asGwError(err), wantFull: true };
    }
    try {
      await store.noteSynced(upTo);
    } catch (err) {
      return { type: 'ioFailed', id: null, error: asGwError(err) };
    }
    return { type: 'entriesApplied', revision: store.syncedRevision };
  }
}
