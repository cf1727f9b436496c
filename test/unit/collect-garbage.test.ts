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
