import { createReadStream, promises as fsp, type WriteStream, createWriteStream } from 'node:fs';
import path from 'node:path';

import type { EventRecord } from '../../core/wire.js';

export type EventListener = (event: EventRecord) => void;

export interface EventLogOptions {
  /** NDJSON file the events are appended to (var/events.ndjson); null keeps events in memory only. */
  file: string | null;
  /** Events kept in memory for `GET /v0/events` (default 10,000). */
  capacity?: number;
  /** The file is rotated to `<file>.1` past this size (default 16 MiB). */
  maxFileBytes?: number;
  now?: () => Date;
}

/**
 * The daemon's event stream: a sequence number that keeps growing across restarts (it is read back
 * from the log file), a bounded in-memory window for readers, and listeners for `follow` streams.
 */
export class EventLog {
  private readonly buffer: EventRecord[] = [];
  private readonly listeners = new Set<EventListener>();
  private readonly capacity: number;
  private readonly maxFileBytes: number;
  private readonly now: () => Date;
  private stream: WriteStream | null = null;
  private fileBytes = 0;
  private seq = 0;

  private constructor(private readonly options: EventLogOptions) {
    this.capacity = options.capacity ?? 10_000;
    this.maxFileBytes = options.maxFileBytes ?? 16 * 1024 * 1024;
    this.now = options.now ?? (() => new Date());
  }

  static async open(options: EventLogOptions): Promise<EventLog> {
    const log = new EventLog(options);
    if (options.file) {
      await fsp.mkdir(path.dirname(options.file), { recursive: true });
      await log.loadTail(options.file);
      log.stream = createWriteStream(options.file, { flags: 'a' });
      // A full disk must not take the daemon down: the in-memory stream goes on.
      log.stream.on('error', () => {
        log.stream = null;
      });
    }
    return log;
  }

  get lastSeq(): number {
    return this.seq;
  }

  emit<T extends Record<string, unknown>>(type: string, data: T): EventRecord<T> {
    const event: EventRecord<T> = { seq: ++this.seq, time: this.now().toISOString(), type, data };
    this.buffer.push(event);
    if (this.buffer.length > this.capacity) this.buffer.splice(0, this.buffer.length - this.capacity);
    this.append(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A broken reader must never stop the others or the emitter.
      }
    }
    return event;
  }

  /** Events with seq greater than `since`, oldest first, from the in-memory window. */
  since(since: number, limit = this.capacity): EventRecord[] {
    const out: EventRecord[] = [];
    for (const e of this.buffer) {
      if (e.seq > since) {
        out.push(e);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    const stream = this.stream;
    this.stream = null;
    if (stream) await new Promise<void>((resolve) => stream.end(resolve));
  }

  private append(event: EventRecord): void {
    if (!this.stream || !this.options.file) return;
    const line = `${JSON.stringify(event)}\n`;
    this.fileBytes += Buffer.byteLength(line);
    this.stream.write(line);
    if (this.fileBytes > this.maxFileBytes) this.rotate(this.options.file);
  }

  private rotate(file: string): void {
    const old = this.stream;
    this.stream = null;
    old?.end(() => {
      fsp
        .rename(file, `${file}.1`)
        .catch(() => undefined)
        .finally(() => {
          this.fileBytes = 0;
          const next = createWriteStream(file, { flags: 'a' });
          next.on('error', () => {
            if (this.stream === next) this.stream = null;
          });
          this.stream = next;
        });
    });
  }

  /** Restore seq and the in-memory window from the log; junk lines (a torn last write) are skipped. */
  private async loadTail(file: string): Promise<void> {
    let size = 0;
    try {
      size = (await fsp.stat(file)).size;
    } catch {
      return;
    }
    this.fileBytes = size;
    const start = Math.max(0, size - 4 * 1024 * 1024);
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve) => {
      createReadStream(file, { start })
        .on('data', (c) => chunks.push(c as Buffer))
        .on('error', () => resolve())
        .on('end', () => resolve());
    });
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    if (start > 0) lines.shift(); // first line may be cut
    for (const line of lines) {
      if (!line) continue;
      try {
        const e = JSON.parse(line) as EventRecord;
        if (typeof e.seq === 'number' && typeof e.type === 'string' && e.seq > this.seq) {
          this.seq = e.seq;
          this.buffer.push(e);
        }
      } catch {
        // skip
      }
    }
    if (this.buffer.length > this.capacity) this.buffer.splice(0, this.buffer.length - this.capacity);
  }
}
