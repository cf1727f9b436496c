import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';

import type { JournalEntry } from '../../src/core/config-model.js';
import { ConfigJournal, type JournalBase } from '../../src/daemon/config/journal.js';
import { readLines } from '../../src/daemon/storage/line-reader.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempFile(): string {
  const temp = makeTempDir();
  cleanups.push(temp.cleanup);
  return path.join(temp.dir, 'config-journal.ndjson');
}

const entry = (revision: number, pad = ''): JournalEntry => ({ revision, address: `opc-connection/c${revision}`, pad }) as unknown as JournalEntry;
const line = (e: JournalEntry | JournalBase): string => `${JSON.stringify(e)}\n`;
const bytes = (s: string): number => Buffer.byteLength(s);

/**
 * How a journal read as one string was parsed before reading became streamed: the oracle the
 * streamed reading must agree with (entries, base, the bytes kept, the damaged lines reported).
 */
function parseWhole(text: string): { entries: JournalEntry[]; base: JournalBase | null; goodBytes: number; badLines: number[] } {
  const entries: JournalEntry[] = [];
  let base: JournalBase | null = null;
  const bad: Array<{ line: number; end: number }> = [];
  let offset = 0;
  let goodBytes = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length - 1; i++) {
    const l = lines[i]!;
    offset += Buffer.byteLength(l) + 1;
    if (l.trim() === '') continue;
    let parsed: JournalEntry | null = null;
    let isBase = false;
    try {
      const v = JSON.parse(l) as JournalEntry | JournalBase;
      if ('base' in v && v.base === true && Number.isSafeInteger(v.revision) && Number.isSafeInteger(v.sourceRevision)) {
        base = v;
        isBase = true;
      } else if (typeof v.revision === 'number' && typeof (v as JournalEntry).address === 'string') {
        parsed = v as JournalEntry;
      }
    } catch {
      parsed = null;
    }
    if (isBase) goodBytes = offset;
    else if (parsed) {
      entries.push(parsed);
      goodBytes = offset;
    } else bad.push({ line: i + 1, end: offset });
  }
  if (entries.length === 0 && base === null && bad.length === 0) goodBytes = offset;
  return { entries, base, goodBytes, badLines: bad.filter((b) => b.end <= goodBytes).map((b) => b.line) };
}

/** The newest lines whose bytes fit in half of maxBytes minus the base line, the newest always. */
function newestThatFit(lines: string[], maxBytes: number, baseLine: string): string[] {
  const budget = Math.floor(maxBytes / 2) - bytes(baseLine);
  let from = lines.length;
  let kept = 0;
  while (from > 0) {
    const next = bytes(lines[from - 1]!);
    if (from < lines.length && kept + next > budget) break;
    kept += next;
    from--;
  }
  return lines.slice(from);
}

async function openCollecting(file: string, readChunkBytes?: number) {
  const seen: JournalEntry[] = [];
  const opened = await ConfigJournal.openStreaming(file, (e) => void seen.push(e), { readChunkBytes });
  cleanups.push(() => opened.journal.close());
  return { ...opened, seen };
}

describe('config journal read a line at a time', () => {
  it('a torn last line is cut off and a damaged middle line is reported and kept, as the whole-file reading did', async () => {
    const file = tempFile();
    const good = [entry(1, 'é'.repeat(40)), entry(2), entry(4, '€')];
    const text = line(good[0]!) + line(good[1]!) + '{"revision":3,"addr\n' + line(good[2]!) + '{"revision":5,"address":"opc-conn';
    writeFileSync(file, text);
    // A chunk smaller than every line: each line is put together from several reads.
    const opened = await openCollecting(file, 7);
    expect(opened.seen).toEqual(good);
    expect(opened.badLines).toEqual([3]);
    expect(opened.truncatedBytes).toBe(bytes('{"revision":5,"address":"opc-conn'));
    expect(opened.last).toBe(4);
    expect(opened.journal.first).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe(text.slice(0, text.lastIndexOf('\n') + 1));
    expect(opened.journal.size).toBe(statSync(file).size);
    // The next append starts on a clean line; the damaged line stays where it was.
    await opened.journal.append(entry(5));
    const again = await openCollecting(file);
    expect(again.seen.map((e) => e.revision)).toEqual([1, 2, 4, 5]);
    expect(again.badLines).toEqual([3]);
    expect(again.truncatedBytes).toBe(0);
  });

  it('any journal (entries, base lines, damage, blank lines, a torn tail) opens as the whole-file reading opened it, whatever the read chunk', async () => {
    const lineOf = fc.oneof(
      fc.tuple(fc.nat({ max: 1000 }), fc.string({ unit: 'binary', maxLength: 30 })).map(([r, pad]) => line(entry(r, pad)).slice(0, -1)),
      fc.tuple(fc.nat({ max: 1000 }), fc.nat({ max: 1000 })).map(([r, s]) => JSON.stringify({ base: true, revision: r, sourceRevision: s, timestamp: 't' })),
      fc.constantFrom('', '  ', '\r', '{"revision":3,"addr', 'null', '5', '{"base":true}', '{"revision":"7","address":"x"}', 'garbage é'),
      fc.nat({ max: 1000 }).map((r) => `${line(entry(r)).slice(0, -1)}\r`),
    );
    const journal = fc.tuple(fc.array(lineOf, { maxLength: 12 }), fc.oneof(fc.constant(''), lineOf));
    await fc.assert(
      fc.asyncProperty(journal, fc.integer({ min: 1, max: 64 }), async ([lines, tail], chunk) => {
        const file = tempFile();
        const text = lines.map((l) => `${l}\n`).join('') + tail;
        writeFileSync(file, text);
        const want = parseWhole(text);
        const opened = await openCollecting(file, chunk);
        expect(opened.seen).toEqual(want.entries);
        expect(opened.base).toEqual(want.base);
        expect(opened.badLines).toEqual(want.badLines);
        expect(opened.truncatedBytes).toBe(bytes(text) - want.goodBytes);
        expect(opened.last).toBe(want.entries.at(-1)?.revision ?? null);
        expect(opened.journal.first).toBe(want.entries[0]?.revision ?? null);
        expect(readFileSync(file)).toEqual(Buffer.from(text).subarray(0, want.goodBytes));
        expect(await opened.journal.since(500)).toEqual(want.entries.filter((e) => e.revision > 500));
        await opened.journal.close();
      }),
      { numRuns: 150 },
    );
  });

  it('a journal of thousands of lines read in chunks far smaller than it: every entry once, in order, and since() after any revision', async () => {
    const file = tempFile();
    const all = Array.from({ length: 5000 }, (_, i) => entry(i + 1, 'ü'.repeat(i % 300)));
    writeFileSync(file, all.map(line).join(''));
    for (const chunk of [509, 65_536]) {
      const opened = await openCollecting(file, chunk);
      expect(opened.seen).toEqual(all);
      expect((await opened.journal.since(4990)).map((e) => e.revision)).toEqual([4991, 4992, 4993, 4994, 4995, 4996, 4997, 4998, 4999, 5000]);
      expect(await opened.journal.since(0)).toHaveLength(5000);
      await opened.journal.close();
    }
  });

  it('readLines gives each line with its end offset, a line longer than many chunks whole, and a last line without newline as incomplete', async () => {
    const file = tempFile();
    const long = 'ä'.repeat(5000);
    writeFileSync(file, `a\n\n${long}\nend`);
    const seen: Array<[string, number, boolean]> = [];
    for await (const l of readLines(file, 13)) seen.push([l.bytes.toString('utf8'), l.end, l.complete]);
    expect(seen).toEqual([
      ['a', 2, true],
      ['', 3, true],
      [long, 3 + bytes(long) + 1, true],
      ['end', 3 + bytes(long) + 1 + 3, false],
    ]);
  });
});

describe('config journal compaction a line at a time', () => {
  it('a journal far over the bound keeps exactly the newest entries that fit, after the base line, and drops damaged lines', async () => {
    const file = tempFile();
    const base: JournalBase = { base: true, revision: 10, sourceRevision: 99, timestamp: '2026-12-04T00:00:00.000Z' };
    const lines = Array.from({ length: 400 }, (_, i) => line(entry(11 + i, 'ö'.repeat((i * 37) % 250))));
    // Damage among the newest lines, which are kept: it must not be copied.
    const text = line(base) + lines.slice(0, 390).join('') + 'damaged line\n' + lines.slice(390).join('');
    writeFileSync(file, text);
    const opened = await openCollecting(file, 100);
    expect(opened.badLines).toEqual([392]);
    const maxBytes = 20_000;
    expect(bytes(text)).toBeGreaterThan(5 * maxBytes);
    const kept = newestThatFit(lines, maxBytes, line(base));
    expect(kept.length).toBeGreaterThan(10);
    expect(kept.length).toBeLessThan(lines.length);

    const result = await opened.journal.compactIfOver(maxBytes);
    expect(result).toEqual({ dropped: lines.length - kept.length, first: JSON.parse(kept[0]!).revision, bytes: bytes(line(base) + kept.join('')) });
    expect(readFileSync(file, 'utf8')).toBe(line(base) + kept.join(''));
    expect(opened.journal.size).toBe(statSync(file).size);
    expect(opened.journal.first).toBe(result!.first);

    // Appends go on after the compacted lines, and a reopen sees the same journal.
    await opened.journal.append(entry(411));
    const again = await openCollecting(file);
    expect(again.base).toEqual(base);
    expect(again.seen.map((e) => e.revision)).toEqual([...kept.map((l) => JSON.parse(l).revision as number), 411]);
    expect(again.badLines).toEqual([]);
    expect(again.truncatedBytes).toBe(0);
  });

  it('the newest entry is kept even when it alone is over the budget', async () => {
    const file = tempFile();
    const lines = [line(entry(1)), line(entry(2)), line(entry(3, 'x'.repeat(3000)))];
    writeFileSync(file, lines.join(''));
    const opened = await openCollecting(file, 256);
    expect(await opened.journal.compactIfOver(1000)).toEqual({ dropped: 2, first: 3, bytes: bytes(lines[2]!) });
    expect(readFileSync(file, 'utf8')).toBe(lines[2]);
  });

  it('any journal over any bound compacts to what the whole-file compaction kept', async () => {
    const sizes = fc.array(fc.nat({ max: 400 }), { minLength: 1, maxLength: 60 });
    await fc.assert(
      fc.asyncProperty(sizes, fc.integer({ min: 100, max: 20_000 }), fc.integer({ min: 1, max: 512 }), fc.boolean(), async (pads, maxBytes, chunk, withBase) => {
        const file = tempFile();
        const base = withBase ? line({ base: true, revision: 1, sourceRevision: 5, timestamp: 't' }) : '';
        const lines = pads.map((n, i) => line(entry(i + 2, 'ß'.repeat(n))));
        writeFileSync(file, base + lines.join(''));
        const opened = await openCollecting(file, chunk);
        const result = await opened.journal.compactIfOver(maxBytes);
        const total = bytes(base + lines.join(''));
        if (total <= maxBytes) {
          expect(result).toBeNull();
          expect(readFileSync(file, 'utf8')).toBe(base + lines.join(''));
        } else {
          const kept = newestThatFit(lines, maxBytes, base);
          expect(readFileSync(file, 'utf8')).toBe(base + kept.join(''));
          expect(result).toEqual({ dropped: lines.length - kept.length, first: JSON.parse(kept[0]!).revision, bytes: bytes(base + kept.join('')) });
        }
        await opened.journal.close();
      }),
      { numRuns: 100 },
    );
  });
});

describe('config journal in bounded memory', () => {
  it('regression: a journal of 600 MB opens, answers since() and compacts in a process whose heap is 256 MB (reading it as one string could not)', () => {
    const file = tempFile();
    // Lines of ~8 KB, as a rescan of large resources writes them; revisions dense from 1.
    const pad = 'x'.repeat(8000);
    const target = 600 * 1024 * 1024;
    let written = 0;
    let revision = 0;
    const fd = openSync(file, 'w');
    try {
      while (written < target) {
        const lines: string[] = [];
        for (let i = 0; i < 128; i++) {
          revision++;
          lines.push(line({ ...entry(revision), op: 'update', collection: 'core', content: { pad } } as JournalEntry));
        }
        written += writeSync(fd, lines.join(''));
      }
    } finally {
      closeSync(fd);
    }
    const maxBytes = 100 * 1024 * 1024;
    const child = fileURLToPath(new URL('../helpers/journal-memory-child.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--max-old-space-size=256', '--import', 'tsx', child, file, String(maxBytes)], { encoding: 'utf8', timeout: 90_000 });
    expect(run.status, run.stderr).toBe(0);
    const seen = JSON.parse(run.stdout) as Record<string, unknown> & { maxRssBytes: number; compacted: { bytes: number; first: number } };
    expect(seen).toMatchObject({ visited: revision, ordered: true, last: revision, badLines: 0, truncatedBytes: 0, since: [revision - 2, revision - 1, revision] });
    expect(seen.compacted.bytes).toBeLessThanOrEqual(maxBytes / 2);
    expect(seen).toMatchObject({ reopenedFirst: seen.compacted.first, reopenedLast: revision, reopenedBytes: seen.compacted.bytes });
    expect(seen.reopenedEntries).toBe(revision - seen.compacted.first + 1);
    expect(statSync(file).size).toBe(seen.compacted.bytes);
    // The heap stayed far under the file: one chunk and one line at a time.
    console.log(`journal of ${written} bytes: child peak RSS ${Math.round(seen.maxRssBytes / 2 ** 20)} MiB`);
    expect(seen.maxRssBytes).toBeLessThan(written / 2);
  }, 120_000);
});
