import { promises as fsp } from 'node:fs';
import path from 'node:path';

import {
  DEFAULT_PAUSE_MS,
  makePause,
  makeResume,
  newerPauseRecord,
  pauseEndsAt,
  pauseInForce,
  pauseSummary,
  samePauseDecision,
  PAUSE_FILE_SCHEMA,
  PAUSE_MESSAGE_TYPE,
  PAUSE_RECORD_SCHEMA,
  type PauseFile,
  type PauseMessage,
  type PauseRecord,
  type PauseSummary,
} from '../../core/redundancy/pause-record.js';
import { describeProblems } from '../../core/schema-errors.js';
import type { EventLog } from '../events/event-log.js';
import type { PeerLink } from '../gan/peer-link.js';
import type { Logger } from '../logger.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { writeJsonAtomic } from '../storage/atomic-write.js';
import { SerialQueue } from '../storage/serial-queue.js';

export const PAUSE_FILE = 'redundancy-pause.json';

/** The longest setTimeout node takes; a later end is reached in several steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface PauseServiceOptions {
  nodeId: string;
  /** This node's name as a person reads it (its label, else the system name), at the time of asking. */
  nodeName: () => string;
  varDir: string;
  schemas: SchemaRegistry;
  events: EventLog;
  logger: Logger;
  /** The redundancy engine's input (rule 12): the machine holds every activity while paused. */
  setPaused: (paused: boolean) => Promise<void>;
  /** Wall clock, ms (tests move it). */
  now?: () => number;
}

type Origin = 'local' | 'peer' | 'expiry' | 'startup';

/**
 * Rule 12, the pair-wide pause: owns this node's pause record (var/redundancy-pause.json), tells the
 * engine whether the pair is paused, ends a pause when its `until` passes, and keeps the record
 * equal on both nodes over the link (hello field `pause`, message `pause.record`; the newer record
 * wins, see src/core/redundancy/pause-record.ts). A damaged file is reported and ignored.
 */
export class PauseService {
  private record: PauseRecord | null = null;
  /** The end of the pause in `record` was announced (resumed event) already. */
  private endReported = true;
  /** What the engine was last told. */
  private applied = false;
  private timer: NodeJS.Timeout | null = null;
  private link: PeerLink | null = null;
  /** The connected peer knows `pause.record` (its hello has a `pause` field). */
  private peerAware = false;
  private readonly writes = new SerialQueue();
  private readonly file: string;
  private readonly now: () => number;
  private stopped = false;
  /** The file on disk is damaged: kept aside (never overwritten) before the first write. */
  private damagedOnDisk = false;

  private constructor(private readonly options: PauseServiceOptions) {
    this.file = path.join(options.varDir, PAUSE_FILE);
    this.now = options.now ?? Date.now;
  }

  /** Register the schemas of the record, the file and the message (once per registry). */
  static registerSchemas(schemas: SchemaRegistry): void {
    for (const s of [PAUSE_RECORD_SCHEMA, PAUSE_FILE_SCHEMA]) {
      if (!schemas.has(s.$id)) schemas.add(s as unknown as { $id: string });
    }
  }

  /** Read the record from var/ (none, or a damaged file: not paused, reported in the log and events). */
  static async load(options: PauseServiceOptions): Promise<PauseService> {
    PauseService.registerSchemas(options.schemas);
    const service = new PauseService(options);
    let text: string | null = null;
    try {
      text = await fsp.readFile(service.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') service.damaged(`could not be read: ${(err as Error).message}`);
    }
    if (text !== null) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        service.damaged(`is not JSON: ${(err as Error).message}`);
      }
      if (value !== undefined) {
        const checked = options.schemas.check(PAUSE_FILE_SCHEMA.$id, value);
        if (checked.ok) {
          const file = value as PauseFile;
          service.record = file.record;
          service.endReported = file.endReported;
        } else {
          service.damaged(`is invalid: ${describeProblems(checked.problems)}`);
        }
      }
    }
    return service;
  }

  private damaged(detail: string): void {
    this.damagedOnDisk = true;
    // Not paused is the state gwd had before pauses existed: the node runs by the other rules.
    this.options.logger.warn({ file: this.file, detail }, 'pause file ignored: the pair is not paused on this node');
    this.options.events.emit('redundancy.pause.ignored', { file: this.file, detail });
  }

  /**
   * Tell the engine before it starts (a node restarted during a pause must not take over at the end
   * of its join wait), report a pause that ended while gwd was down, arm the expiry.
   */
  async start(): Promise<void> {
    const nowMs = this.now();
    if (this.record && this.record.paused && !pauseInForce(this.record, nowMs) && !this.endReported) {
      this.emitResumed(this.record, null, 'startup');
      this.endReported = true;
      this.persist();
    }
    await this.apply();
  }

  attachLink(link: PeerLink): void {
    this.link = link;
    link.setHelloExtra(() => ({ pause: this.record }), 'pause');
    // Before the redundancy engine hears of the peer: a pause the peer brings must hold this node
    // before the machine decides anything about that peer (a returning master's recovery, say).
    link.prependListener('up', (peer) => {
      this.peerAware = Object.hasOwn(peer.hello, 'pause');
      if (!this.peerAware) return;
      const theirs = peer.hello.pause as unknown;
      if (theirs !== null && !this.options.schemas.check(PAUSE_RECORD_SCHEMA.$id, theirs).ok) {
        this.options.logger.warn({ peer: peer.uuid }, "peer hello carries an invalid pause record; keeping this node's");
        return;
      }
      this.merge((theirs as PauseRecord | null) ?? null, 'peer');
      // Ours is newer (or the peer has none): the peer adopts it from our hello too, but a change
      // made while the hellos crossed would be missed without this.
      if (this.record !== null && !samePauseDecision(this.record, theirs as PauseRecord | null)) this.send();
    });
    link.on('down', () => {
      this.peerAware = false;
    });
    link.on('message', (message) => {
      if (message.type === PAUSE_MESSAGE_TYPE) this.merge((message as unknown as PauseMessage).record, 'peer');
    });
  }

  /** `gwctl redundancy pause`: `forMs` 0 is until resumed, absent 60 minutes. */
  async pause(args: { forMs?: number; reason?: string }): Promise<PauseSummary> {
    const nowMs = this.now();
    const reason = args.reason?.trim() ? args.reason.trim() : null;
    const next = makePause(this.record, { nowMs, forMs: args.forMs ?? DEFAULT_PAUSE_MS, reason, by: this.actor() });
    await this.adopt(next, 'local', { persistFirst: true });
    this.send();
    return pauseSummary(next, nowMs)!;
  }

  /** `gwctl redundancy resume`: ends the pause on both nodes; true when a pause in force ended. */
  async resume(): Promise<boolean> {
    if (this.record === null || !this.record.paused) return false;
    const wasPaused = this.paused;
    const next = makeResume(this.record, { nowMs: this.now(), by: this.actor() });
    await this.adopt(next, 'local', { persistFirst: true });
    this.send();
    return wasPaused;
  }

  /** What status shows as `redundancy.paused`. */
  summary(): PauseSummary | null {
    return pauseSummary(this.record, this.now());
  }

  get paused(): boolean {
    return pauseInForce(this.record, this.now());
  }

  /** The record's writes reach the disk; no timer keeps the process alive. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.writes.idle();
  }

  private actor(): { uuid: string; name: string } {
    return { uuid: this.options.nodeId, name: this.options.nodeName() };
  }

  /** A record from the peer: adopted when it is newer than ours. */
  private merge(theirs: PauseRecord | null, origin: Origin): void {
    if (theirs === null || samePauseDecision(this.record, theirs)) return;
    if (newerPauseRecord(this.record, theirs) !== theirs) return;
    void this.adopt(theirs, origin, { persistFirst: false }).catch((err: unknown) =>
      this.options.logger.error({ err }, 'could not adopt the pause record from the peer'),
    );
  }

  /**
   * Make `next` this node's record: announce what changed, tell the engine, keep the file. An
   * operator's change is written first (a failed write changes nothing and is the caller's error);
   * the peer's is applied at once (synchronously, before the engine's next input) and written after.
   */
  private async adopt(next: PauseRecord, origin: Origin, opts: { persistFirst: boolean }): Promise<void> {
    if (opts.persistFirst) {
      await this.writeFile({ version: 1, record: next, endReported: !pauseInForce(next, this.now()) });
      // A newer record from the peer came in during the write: it holds (and is written after ours).
      if (newerPauseRecord(this.record, next) !== next) return;
    }
    const nowMs = this.now();
    const before = this.record;
    const wasPaused = pauseInForce(before, nowMs);
    const isPaused = pauseInForce(next, nowMs);
    this.record = next;
    this.endReported = !isPaused;
    if (isPaused) this.emitPaused(next, origin);
    else if (wasPaused) this.emitResumed(before!, next.paused ? null : next, origin);
    const applying = this.apply();
    if (!opts.persistFirst) this.persist();
    await applying;
  }

  /** The engine follows the record; the timer is armed for the record's end. */
  private apply(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const nowMs = this.now();
    const paused = pauseInForce(this.record, nowMs);
    const endsAt = pauseEndsAt(this.record);
    if (paused && endsAt !== null && !this.stopped) {
      this.timer = setTimeout(() => this.expire(), Math.min(MAX_TIMER_MS, Math.max(0, endsAt - nowMs)));
      this.timer.unref();
    }
    if (paused === this.applied) return Promise.resolve();
    this.applied = paused;
    return this.options.setPaused(paused);
  }

  private expire(): void {
    this.timer = null;
    if (this.stopped) return;
    const record = this.record;
    if (record && !pauseInForce(record, this.now()) && !this.endReported) {
      this.emitResumed(record, null, 'expiry');
      this.endReported = true;
      this.persist();
    }
    // Not yet (a timer longer than node allows, or a clock set back): apply() re-arms it.
    void this.apply();
  }

  private emitPaused(record: PauseRecord, origin: Origin): void {
    const data = { ...pauseSummary(record, this.now())!, origin };
    this.options.logger.info(data, 'redundancy paused');
    this.options.events.emit('redundancy.paused', data);
  }

  /** `pause` is the pause that ended; `resume` the operator's resume, or null when it expired. */
  private emitResumed(pause: PauseRecord, resume: PauseRecord | null, origin: Origin): void {
    const data = {
      since: pause.since,
      until: pause.until,
      by: pause.by,
      reason: pause.reason,
      expired: resume === null,
      resumedBy: resume?.by ?? null,
      origin,
    };
    this.options.logger.info(data, 'redundancy resumed');
    this.options.events.emit('redundancy.resumed', data);
  }

  private send(): void {
    if (!this.link || !this.peerAware || this.record === null) return;
    this.link.send({ type: PAUSE_MESSAGE_TYPE, record: this.record } satisfies PauseMessage);
  }

  /** Write what this node holds now (queued; a later write carries the later state). */
  private persist(): void {
    const snapshot: PauseFile | null = this.record ? { version: 1, record: this.record, endReported: this.endReported } : null;
    if (!snapshot) return;
    void this.writeFile(snapshot).catch((err: unknown) =>
      this.options.logger.error({ err, file: this.file }, 'could not write the pause file; the pause holds until gwd stops'),
    );
  }

  private writeFile(content: PauseFile): Promise<void> {
    return this.writes.run(async () => {
      if (this.damagedOnDisk) {
        // What was there stays for a person to read; the new record goes in its own file.
        const aside = `${this.file}.damaged-${new Date(this.now()).toISOString().replace(/[:.]/g, '-')}`;
        await fsp.rename(this.file, aside).catch((err: unknown) => {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        });
        this.damagedOnDisk = false;
        this.options.logger.warn({ file: this.file, keptAs: aside }, 'damaged pause file kept aside');
      }
      await writeJsonAtomic(this.file, content);
    });
  }
}
