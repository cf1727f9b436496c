import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

// @ts-expect-error: a plain .mjs module of the benchmark harness, without types.
import { NOTES_BEGIN, NOTES_END, RUN_BEGIN, RUN_END, updateBenchmarksDoc } from '../../bench/lib/benchmarks-doc.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
type Update = (doc: string, parts: { run: string; notes: string }) => string;
const update = updateBenchmarksDoc as Update;

/** The "## " headings of a document, in order. */
const headings = (doc: string): string[] => doc.split('\n').filter((l) => l.startsWith('## '));

describe('docs/benchmarks.md as a full run rewrites it', () => {
  it('keeps every section written by hand (a run used to replace the whole file with its table and the notes)', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/benchmarks.md'), 'utf8');
    const notes = readFileSync(path.join(ROOT, 'bench/NOTES.md'), 'utf8');
    const handWritten = doc.slice(doc.indexOf(RUN_END) + RUN_END.length, doc.indexOf(NOTES_BEGIN));
    expect(handWritten).toMatch(/## \d{4}-\d{2}-\d{2}/);

    const first = update(doc, { run: '## Latest full run: 2030-01-01\n\n| table one |', notes });
    expect(first).toContain(handWritten);
    expect(first).toContain('## Latest full run: 2030-01-01\n\n| table one |');
    expect(first.slice(first.indexOf(NOTES_BEGIN))).toBe(`${NOTES_BEGIN}\n${notes.trim()}\n${NOTES_END}\n`);

    // A second run: its table in the block, the first one kept right after it as a dated section.
    const second = update(first, { run: '## Latest full run: 2030-02-01\n\n| table two |', notes: '## How each figure is measured\n\nnew notes' });
    expect(second).toContain(handWritten);
    expect(headings(second).slice(0, 2)).toEqual(['## Latest full run: 2030-02-01', '## Full run: 2030-01-01']);
    // Then every section that followed the first run's table up to the notes, as it was (an earlier
    // run's table, kept as a dated section, included).
    const handHeadings = (d: string): string[] => headings(d.slice(0, d.indexOf(NOTES_BEGIN)));
    expect(handHeadings(second).slice(2)).toEqual(handHeadings(first).slice(1));
    expect(second).toContain('| table one |');
    expect(second.slice(second.indexOf(NOTES_BEGIN))).toBe(`${NOTES_BEGIN}\n## How each figure is measured\n\nnew notes\n${NOTES_END}\n`);
    // Nothing doubled: each block once.
    for (const marker of [RUN_BEGIN, RUN_END, NOTES_BEGIN, NOTES_END]) expect(second.split(marker)).toHaveLength(2);
  });

  it('adds the blocks to a document without them, keeps its sections, and refuses half a block', () => {
    const doc = '# Benchmarks\n\nintro\n\n## 2029-05-05: by hand\n\nkept $& $1 text\n';
    const out = update(doc, { run: '## Latest full run: 2030-01-01\n\n| t |', notes: 'notes' });
    expect(headings(out)).toEqual(['## Latest full run: 2030-01-01', '## 2029-05-05: by hand']);
    expect(out).toContain('kept $& $1 text');
    expect(out.endsWith(`${NOTES_BEGIN}\nnotes\n${NOTES_END}\n`)).toBe(true);
    expect(() => update(`${doc}${RUN_BEGIN}\n`, { run: 'r', notes: 'n' })).toThrow(/not a pair/);
  });
});
