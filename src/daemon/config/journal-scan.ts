import type { JournalEntry } from '../../core/config-model.js';
import { GwError } from '../../core/errors.js';
import { describeFsError } from '../storage/atomic-write.js';
import { type FileLine, readLines } from '../storage/line-reader.js';

/**
 * The first line of a journal restarted after an adopted full snapshot: the store's revision the
 * snapshot was adopted at (so the revision never goes back, even if the state file is lost) and the
 * master's revision it brought.
 */
export interface JournalBase {
  base: true;
  revision: number;
  sourceRevision: number;
  timestamp: string;
}

/** Where a good entry's line lies in the file, newline included. */
export interface JournalLine {
  end: number;
  bytes: number;
}

/** A good entry, in file order; a returned promise is awaited before the next line is read. */
export type JournalVisitor = (entry: JournalEntry, line: JournalLine) => void | Promise<void>;

export interface JournalScan {
  /** The last base line seen (a journal restarted by a snapshot adoption has one, first). */
  base: JournalBase | null;
  /** Bytes up to the end of the last good line: what the file is cut back to at open. */
  goodBytes: number;
  totalBytes: number;
  /** Line numbers (from 1) of damaged lines followed by good ones; they are skipped, and kept. */
  badLines: number[];
  entries: number;
  first: number | null;
  last: number | null;
}

/**
 * Read a journal a line at a time, handing each good entry to `visit` and keeping none: memory is
 * one read chunk and one line, not the file (one rescan batch can take it past V8's longest string,
 * far past the heap). Everything after the last good line (a torn append, or junk lines at the very
 * end) is the tail to cut; a bad line followed by good ones is damage in the middle, reported and
 * kept as it is. A missing file reads as empty when `missingIsEmpty`.
 */
export async function scanJournal(
  file: string,
  visit: JournalVisitor,
  options: { chunkBytes?: number; missingIsEmpty?: boolean } = {},
): Promise<JournalScan> {
  let base: JournalBase | null = null;
  const bad: Array<{ line: number; end: number }> = [];
  let entries = 0;
  let first: number | null = null;
  let last: number | null = null;
  // Offset past the last complete line, and past everything read (a torn last line included).
  let offset = 0;
  let total = 0;
  let goodBytes = 0;
  let lineNo = 0;
  const lines = readLines(file, options.chunkBytes);
  try {
    for (;;) {
      let next: IteratorResult<FileLine, void>;
      try {
        next = await lines.next();
      } catch (err) {
        if (options.missingIsEmpty && (err as NodeJS.ErrnoException).code === 'ENOENT') break;
        throw new GwError('GW_ERR_SETTINGS_UNREADABLE', { file, detail: describeFsError(err) });
      }
      if (next.done) break;
      const { bytes, end, complete } = next.value;
      total = end;
      // The piece after the final newline: a torn append, never parsed.
      if (!complete) break;
      const start = offset;
      offset = end;
      lineNo++;
      const text = bytes.toString('utf8');
      if (text.trim() === '') continue;
      const parsed = parseLine(text);
      if (parsed === null) {
        bad.push({ line: lineNo, end });
        continue;
      }
      goodBytes = end;
      if (parsed.base) {
        base = parsed.base;
        continue;
      }
      const entry = parsed.entry;
      entries++;
      first ??= entry.revision;
      last = entry.revision;
      const done = visit(entry, { end, bytes: end - start });
      if (done) await done;
    }
  } finally {
    await lines.return();
  }
  if (entries === 0 && base === null && bad.length === 0) goodBytes = offset;
  return { base, goodBytes, totalBytes: total, badLines: bad.filter((b) => b.end <= goodBytes).map((b) => b.line), entries, first, last };
}

/** A base line, an entry, or null for a line that is neither (damaged). */
function parseLine(line: string): { base: JournalBase; entry?: undefined } | { base?: undefined; entry: JournalEntry } | null {
  try {
    const v = JSON.parse(line) as JournalEntry | JournalBase;
    if ('base' in v && v.base === true && Number.isSafeInteger(v.revision) && Number.isSafeInteger(v.sourceRevision)) return { base: v };
    if (typeof v.revision === 'number' && typeof (v as JournalEntry).address === 'string') return { entry: v as JournalEntry };
  } catch {
    // Not JSON, or not an object ('base' in 5 throws): damaged.
  }
  return null;
}
