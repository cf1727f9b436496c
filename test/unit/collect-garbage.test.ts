import { describe, expect, it } from 'vitest';

import { collectGarbage } from '../../src/daemon/collect-garbage.js';

describe('collectGarbage (the start lets go of its startup scan\'s heap)', () => {
  it('runs a full collection without --expose-gc on the command line: garbage left by a large piece of work is gone after it', () => {
    // What a scan leaves: many small objects, dead once it is over, promoted by the collections that ran meanwhile.
    let kept: unknown[] | null = [];
    for (let i = 0; i < 300_000; i++) kept.push({ i, s: `resource-${i}`, meta: { enabled: true } });
    const withGarbage = process.memoryUsage().heapUsed;
    kept = null;
    const ms = collectGarbage();
    expect(ms).toBeTypeOf('number');
    const after = process.memoryUsage().heapUsed;
    // ~30 MB of objects dead: most of it is gone (a collection V8 chose itself might not have run yet).
    expect(withGarbage - after).toBeGreaterThan(15 * 2 ** 20);
    // And again: the function is found once and kept.
    expect(collectGarbage()).toBeTypeOf('number');
    expect(kept).toBeNull();
  });
});

describe('collectGarbage gives back the pages that the survivors of a large piece of work are spread over', () => {
  it('compacts: after a scan-like workload that keeps one object in three, the heap V8 holds comes down near what is live', () => {
    // The startup scan builds the store's map while it reads: what survives is spread over every
    // page the scan grew. A collection that only frees leaves those pages committed (V8 releases
    // wholly empty pages only); this one must move the survivors together and release the rest.
    const mb = 2 ** 20;
    collectGarbage();
    const base = process.memoryUsage();
    let kept: unknown[] = [];
    let dropped: unknown[] | null = [];
    for (let i = 0; i < 600_000; i++) {
      const o = { i, s: `resource-${i}-${'x'.repeat(24)}`, meta: { enabled: true, n: [i, i + 1] } };
      if (i % 3 === 0) kept.push(o);
      else dropped.push(o);
    }
    const grown = process.memoryUsage().heapTotal - base.heapTotal;
    dropped = null;
    collectGarbage({ compact: true });
    const after = process.memoryUsage();
    const live = after.heapUsed - base.heapUsed;
    const held = after.heapTotal - base.heapTotal;
    // The work grew the heap by well over 100 MB, a third of it still live.
    expect(grown).toBeGreaterThan(100 * mb);
    // Without compaction the heap stayed at ~70% of its growth; compacted, it keeps what is live
    // and at most a third of the growth beside it.
    expect(held - live).toBeLessThan(grown / 3);
    expect(kept.length).toBe(200_000);
    kept = [];
  });
});
