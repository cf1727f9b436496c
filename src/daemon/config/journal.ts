import { promises as fsp } from 'node:fs';
import path from 'node:path';

import type { JournalEntry } from '../../core/config-model.js';
import { GwError } from '../../core/errors.js';
import { describeFsError, fsyncDir, stageFileStreamed } from '../storage/atomic-write.js';
import { checkFault } from '../storage/fault-injection.js';
import { DEFAULT_READ_CHUNK_BYTES } from '../storage/line-reader.js';
import { type JournalBase, scanJournal, type JournalVisitor } from './journal-scan.js';
import { copyRanges, NewestThatFit, writeAll } from './journal-tail.js';

export type { JournalBase, JournalLine, JournalVisitor } from './journal-scan.js';

/** Characters of journal text written at a time by appendMany (one fsync for all of it). */
const APPEND_PIECE_CHARS = 8 * 1024 * 1024;

/** Default bound of the journal file (redundancy.json syncJournalMaxBytes). */
export const DEFAULT_JOURNAL_MAX_BYTES = 100 * 1024 * 1024;

export interface CompactionResult {
  /** Entries dropped from the head. */
  dropped: number;
  /** Oldest revision still in the journal. */
  first: number | null;
  bytes: number;
}

export interface JournalReadOptions {
  /** Bytes read at a time when the journal is read (open, since, compaction); tests make it small. */
  readChunkBytes?: number;
}

export interface JournalStreamOpenResult {
  journal: ConfigJournal;
  /** Set when the journal was restarted by a snapshot adoption. */
  base: JournalBase | null;
  /** Bytes of a torn last line (a crash in the middle of an append) that were cut off. */
  truncatedBytes: number;
  /** Line numbers of lines in the middle that do not parse (hand-damaged); they are skipped. */
  badLines: number[];
  /** Revision of the last entry, or null when there is none. */
  last: number | null;
}

export interface JournalOpenResult extends JournalStreamOpenResult {
  entries: JournalEntry[];
}

/**
 * var/config-journal.ndjson: one committed change per line, appended and fsync'd before any file of
 * the store is touched (write-ahead; see config-store.ts for the order and why).
 *
 * A crash in the middle of an append leaves a last line without its newline or that does not parse:
 * that change was never acknowledged and no file was written for it, so the tail is cut off at open
 * and the next append starts on a clean line.
 */
export class ConfigJournal {
  private constructor(
    readonly file: string,
    private handle: fsp.FileHandle | null,
    private bytes: number,
    private firstRevision: number | null,
    private baseLine: string,
    private readonly readChunkBytes: number,
  ) {}

  /** Size of the journal file in bytes. */
  get size(): number {
    return this.bytes;
  }

  /**
   * The oldest revision still in the journal (its tail after compaction), or null when empty. A peer
   * that has applied up to `first - 1` can still resume from the journal; an older one cannot.
   */
  get first(): number | null {
    return this.firstRevision;
  }

  /**
   * Open the journal, handing each good entry to `visit` in order and keeping none of them (the file
   * can be far larger than the heap). A torn last line is cut off; damaged lines in the middle are
   * reported and left in place.
   */
  static async openStreaming(file: string, visit: JournalVisitor, options: JournalReadOptions = {}): Promise<JournalStreamOpenResult> {
    const readChunkBytes = options.readChunkBytes ?? DEFAULT_READ_CHUNK_BYTES;
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const scan = await scanJournal(file, visit, { chunkBytes: readChunkBytes, missingIsEmpty: true });
    if (scan.goodBytes < scan.totalBytes) await fsp.truncate(file, scan.goodBytes);
    const handle = await fsp.open(file, 'a', 0o640);
    await fsyncDir(path.dirname(file));
    const baseLine = scan.base ? `${JSON.stringify(scan.base)}\n` : '';
    const journal = new ConfigJournal(file, handle, scan.goodBytes, scan.first, baseLine, readChunkBytes);
    return { journal, base: scan.base, truncatedBytes: scan.totalBytes - scan.goodBytes, badLines: scan.badLines, last: scan.last };
  }

  /** openStreaming with every entry collected: for journals known to be small (tests). */
  static async open(file: string, options: JournalReadOptions = {}): Promise<JournalOpenResult> {
    const entries: JournalEntry[] = [];
    const opened = await ConfigJournal.openStreaming(file, (e) => void entries.push(e), options);
    return { ...opened, entries };
  }

  /**
   * Start afresh from `base` (a full snapshot adopted at base.revision): the current file moves to
   * `archiveFile` and a new one holding only the base line replaces it, atomically (temp file,
   * fsync, rename, fsync dir). Once this returns the restart is durable. Returns whether there was
   * a file to archive.
   */
  async restart(archiveFile: string, base: Omit<JournalBase, 'base'>): Promise<boolean> {
    const line = `${JSON.stringify({ base: true, ...base })}\n`;
    let archived = false;
    await this.replaceWith((out) => writeAll(out, Buffer.from(line)), async () => {
      await fsp.mkdir(path.dirname(archiveFile), { recursive: true });
      // A hard link keeps the journal in place until the rename: a crash leaves the old or the new.
      try {
        await fsp.link(this.file, archiveFile);
        archived = true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EXDEV') {
          await fsp.copyFile(this.file, archiveFile);
          archived = true;
        } else if (code !== 'ENOENT') {
          throw err;
        }
      }
      if (archived) await fsyncDir(path.dirname(archiveFile));
    });
    this.baseLine = line;
    this.bytes = Buffer.byteLength(line);
    this.firstRevision = null;
    return archived;
  }

  /** Append one entry and make it durable: when this resolves the change is committed. */
  async append(entry: JournalEntry): Promise<void> {
    if (!this.handle) throw new Error('config journal is closed');
    await this.appendMany([entry]);
  }

  /** Append several entries with one write and one fsync: they are committed together. */
  async appendMany(entries: readonly JournalEntry[]): Promise<void> {
    if (!this.handle) throw new Error('config journal is closed');
    if (entries.length === 0) return;
    let size: number | null = null;
    let written = 0;
    try {
      checkFault('append', this.file);
      size = (await this.handle.stat()).size;
      // Written in pieces of about APPEND_PIECE_CHARS: the entries of a rescan of 100,000 resources
      // joined into one string are past V8's longest string ("Invalid string length").
      let piece: string[] = [];
      let chars = 0;
      for (const e of entries) {
        const line = `${JSON.stringify(e)}\n`;
        piece.push(line);
        chars += line.length;
        if (chars >= APPEND_PIECE_CHARS) {
          written += await this.appendPiece(piece.join(''));
          piece = [];
          chars = 0;
        }
      }
      if (piece.length > 0) written += await this.appendPiece(piece.join(''));
      await this.handle.datasync();
    } catch (err) {
      // A failed append (ENOSPC half way, fsync failing) must not leave a torn line that the next
      // append would be glued to, nor entries that were refused: cut back to where it started.
      if (size !== null) await this.handle.truncate(size).catch(() => undefined);
      throw new GwError('GW_ERR_STORAGE_WRITE_FAILED', { file: this.file, detail: describeFsError(err) });
    }
    this.bytes += written;
    this.firstRevision ??= entries[0]!.revision;
  }

  /** One piece of an append; its size in bytes. */
  private async appendPiece(text: string): Promise<number> {
    const bytes = Buffer.from(text, 'utf8');
    await this.handle!.appendFile(bytes);
    return bytes.length;
  }

  /**
   * Keep the journal under `maxBytes`: once it is over, rewrite it atomically (temp file, fsync,
   * rename, fsync dir) with only the newest entries that fit in half of it, so compaction runs
   * rarely. The newest entry is always kept. The dropped head is history a backup can no longer
   * resume from: one older than `first` gets a full snapshot instead. Call only between appends
   * (the store runs it under its lock). After a compaction the journal alone is no longer the whole
   * history: a store that loses var/config-state.json rebuilds its index from the entries kept and
   * journals the rest of the disk again as changes found by the startup scan.
   */
  async compactIfOver(maxBytes: number): Promise<CompactionResult | null> {
    if (!this.handle || this.bytes <= maxBytes) return null;
    // Two passes over the file, a line at a time: the first finds the newest entries that fit
    // (numbers only), the second copies their lines as they are, after the base line.
    const baseLine = Buffer.from(this.baseLine);
    const tail = new NewestThatFit(Math.floor(maxBytes / 2) - baseLine.length);
    const scan = await scanJournal(this.file, (e, line) => tail.push(line, e.revision), { chunkBytes: this.readChunkBytes });
    await this.replaceWith(async (out) => {
      // The base line stays first: it is what keeps the revision from going back.
      await writeAll(out, baseLine);
      await copyRanges(this.file, tail.ranges(), out, this.readChunkBytes);
    });
    this.bytes = baseLine.length + tail.bytes;
    this.firstRevision = tail.first;
    return { dropped: scan.entries - tail.count, first: this.firstRevision, bytes: this.bytes };
  }

  /** Entries after `revision`, oldest first (the sync engine resumes a backup from here). */
  async since(revision: number): Promise<JournalEntry[]> {
    const after: JournalEntry[] = [];
    await this.each((e) => void (e.revision > revision && after.push(e)));
    return after;
  }

  /** Every entry, oldest first, a line at a time: none is kept here. */
  async each(visit: (entry: JournalEntry) => void): Promise<void> {
    await scanJournal(this.file, visit, { chunkBytes: this.readChunkBytes });
  }

  /**
   * Replace the file with what `write` writes, atomically: staged first (a full disk refuses it
   * before anything is touched), then renamed over the file with the append handle closed around
   * it; `beforeRename` runs just before the rename.
   */
  private async replaceWith(write: (out: fsp.FileHandle) => Promise<void>, beforeRename?: () => Promise<void>): Promise<void> {
    const staged = await stageFileStreamed(this.file, write, { mode: 0o640 });
    try {
      await this.handle?.close();
      this.handle = null;
      await beforeRename?.();
      await staged.commit();
    } catch (err) {
      await staged.abort();
      throw err instanceof GwError ? err : new GwError('GW_ERR_STORAGE_WRITE_FAILED', { file: this.file, detail: describeFsError(err) });
    } finally {
      this.handle ??= await fsp.open(this.file, 'a', 0o640);
    }
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    await h?.close();
  }
}
