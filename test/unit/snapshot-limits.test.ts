import { describe, expect, it } from 'vitest';

import { DEFAULT_SNAPSHOT_LIMITS, ManifestChecker, type SnapshotFile } from '../../src/core/sync/snapshot-manifest.js';

const PART = 1024;
const sha = (i: number): string => i.toString(16).padStart(64, '0');

/** The manifest of `resources` resources as a master announces it: three files each, in tree order, in parts of 1,024. */
function announce(checker: ManifestChecker, resources: number, fileSize: number) {
  const names = ['backupConfig.json', 'config.json', 'resource.json'];
  const total = resources * names.length;
  for (let from = 0; from < total; from += PART) {
    const part: SnapshotFile[] = [];
    for (let i = from; i < Math.min(total, from + PART); i++) {
      part.push({ path: `opcua/opc-connection/r-${String(Math.floor(i / 3)).padStart(6, '0')}/${names[i % 3]}`, size: fileSize, sha256: sha(i) });
    }
    const problem = checker.add(part);
    if (problem) return problem;
  }
  return null;
}

describe('default snapshot limits', () => {
  it('accept the 100,000-resource benchmark tree (300,000 files, ~800 MB; refused at maxFiles 200,000 on 2026-12-04), and refuse a file or a byte past them', () => {
    // The benchmark's tree: 100,000 resources, ~2,700 bytes a file.
    const checker = new ManifestChecker(DEFAULT_SNAPSHOT_LIMITS);
    expect(announce(checker, 100_000, 2_700)).toBeNull();
    expect(checker.bytes).toBe(810_000_000);

    // Past the count: refused on the part's count, before its entries are looked at.
    const filler: SnapshotFile = { path: 'x/y', size: 0, sha256: sha(0) };
    const over = DEFAULT_SNAPSHOT_LIMITS.maxFiles - 300_000 + 1;
    expect(checker.add(new Array<SnapshotFile>(over).fill(filler))).toEqual({ path: null, problem: `more than ${DEFAULT_SNAPSHOT_LIMITS.maxFiles} files` });

    // Past the bytes: one more file that brings the total one byte over.
    const bytes = new ManifestChecker(DEFAULT_SNAPSHOT_LIMITS);
    expect(announce(bytes, 100_000, 2_700)).toBeNull();
    const fits = { path: 'x/fits', size: DEFAULT_SNAPSHOT_LIMITS.maxBytes - 810_000_000, sha256: sha(1) };
    expect(bytes.add([fits])).toBeNull();
    expect(bytes.add([{ path: 'x/over', size: 1, sha256: sha(2) }])).toEqual({ path: null, problem: `more than ${DEFAULT_SNAPSHOT_LIMITS.maxBytes} bytes` });
  });
});
