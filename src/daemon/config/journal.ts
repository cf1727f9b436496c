import { promises as fsp } from 'node:fs';
import path from 'node:path';

import type { JournalEntry } from '../../core/config-model.js';
import { GwError } from '../../core/errors.js';
import { describeFsError, fsyncDir } from '../storage/atomic-write.js';
import { checkFault } from '../storage/fault-injection.js';

export interface JournalOpenResult {
  journal: ConfigJournal;
  entries: JournalEntry[];
  /** Bytes of a torn last line (a crash in the middle of an append) that were cut off. */
  truncatedBytes: number;
  /** Line numbers of lines in the middle that do not parse (hand-damaged); they are skipped. */
  badLines: number[];
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
  ) {}

  static async open(file: string): Promise<JournalOpenResult> {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    let text = '';
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new GwError('GW_ERR_SETTINGS_UNREADABLE', { file, detail: describeFsError(err) });
      }
    }
    const { entries, goodBytes, badLines } = parseJournal(text);
    const total = Buffer.byteLength(text);
    if (goodBytes < total) await fsp.truncate(file, goodBytes);
    const handle = await fsp.open(file, 'a', 0o640);
    await fsyncDir(path.dirname(file));
    return { journal: new ConfigJournal(file, handle), entries, truncatedBytes: total - goodBytes, badLines };
  }

  /** Append one entry and make it durable: when this resolves the change is committed. */
  async append(entry: JournalEntry): Promise<void> {
    if (!this.handle) throw new Error('config journal is closed');
    let size: number | null = null;
    try {
      checkFault('append', this.file);
      size = (await this.handle.stat()).size;
      await this.handle.appendFile(`${JSON.stringify(entry)}\n`);
      await this.handle.datasync();
    } catch (err) {
      // A failed append (ENOSPC half way) must not leave a torn line that the next append would be
      // glued to: cut back to where this one started. The entry was never committed.
      if (size !== null) await this.handle.truncate(size).catch(() => undefined);
      throw new GwError('GW_ERR_STORAGE_WRITE_FAILED', { file: this.file, detail: describeFsError(err) });
    }
  }

  /** Entries after `revision`, oldest first (the sync engine resumes a backup from here). */
  async since(revision: number): Promise<JournalEntry[]> {
    const text = await fsp.readFile(this.file, 'utf8');
    return parseJournal(text).entries.filter((e) => e.revision > revision);
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    await h?.close();
  }
}

/**
 * Entries of the complete lines. Everything after the last good line (a torn append, or junk lines
 * at the very end) is the tail to cut; a bad line followed by good ones is damage in the middle,
 * reported and kept as it is.
 */
function parseJournal(text: string): { entries: JournalEntry[]; goodBytes: number; badLines: number[] } {
  const entries: JournalEntry[] = [];
  const bad: Array<{ line: number; end: number }> = [];
  let offset = 0;
  let goodBytes = 0;
  const lines = text.split('\n');
  // The last element follows the final newline: empty, or a torn append.
  for (let i = 0; i < lines.length - 1; i++) {
    const line = lines[i]!;
    offset += Buffer.byteLength(line) + 1;
    if (line.trim() === '') continue;
    let parsed: JournalEntry | null = null;
    try {
      const v = JSON.parse(line) as JournalEntry;
      if (typeof v.revision === 'number' && typeof v.address === 'string') parsed = v;
    } catch {
      parsed = null;
    }
    if (parsed) {
      entries.push(parsed);
      goodBytes = offset;
    } else {
      bad.push({ line: i + 1, end: offset });
    }
  }
  if (entries.length === 0 && bad.length === 0) goodBytes = offset;
  return { entries, goodBytes, badLines: bad.filter((b) => b.end <= goodBytes).map((b) => b.line) };
}
