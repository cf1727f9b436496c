/**
 * Run in a child process with a small heap (--max-old-space-size) by test/api/config-journal.test.ts:
 * open, read from and compact a journal far larger than that heap, then print what it saw as one
 * JSON line. Usage: node --import tsx journal-memory-child.ts <journal file> <maxBytes>
 */
import { ConfigJournal } from '../../src/daemon/config/journal.js';

const [file, maxBytesArg] = process.argv.slice(2);
const maxBytes = Number(maxBytesArg);

let visited = 0;
let ordered = true;
let previous = 0;
const opened = await ConfigJournal.openStreaming(file!, (e) => {
  visited++;
  if (e.revision <= previous) ordered = false;
  previous = e.revision;
});
const last = opened.last!;
const tail = await opened.journal.since(last - 3);
const compacted = await opened.journal.compactIfOver(maxBytes);
await opened.journal.close();

let reopenedEntries = 0;
const reopened = await ConfigJournal.openStreaming(file!, () => void reopenedEntries++);
await reopened.journal.close();

process.stdout.write(
  `${JSON.stringify({
    visited,
    ordered,
    last,
    badLines: opened.badLines.length,
    truncatedBytes: opened.truncatedBytes,
    since: tail.map((e) => e.revision),
    compacted,
    reopenedEntries,
    reopenedFirst: reopened.journal.first,
    reopenedLast: reopened.last,
    reopenedBytes: reopened.journal.size,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    heapLimitBytes: (await import('node:v8')).getHeapStatistics().heap_size_limit,
  })}\n`,
);
