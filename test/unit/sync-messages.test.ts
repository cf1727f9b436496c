import { describe, expect, it } from 'vitest';

import { entryBatches, SYNC_BINARY_MESSAGE_SCHEMA, SYNC_MESSAGE_SCHEMA, SYNC_MESSAGE_TYPES } from '../../src/core/sync/messages.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';
import { Prng } from '../helpers/prng.js';

const schemas = new SchemaRegistry();
schemas.add(SYNC_MESSAGE_SCHEMA as unknown as { $id: string });
schemas.add(SYNC_BINARY_MESSAGE_SCHEMA as unknown as { $id: string });
const valid = (m: unknown): boolean => schemas.validate(SYNC_MESSAGE_SCHEMA.$id, structuredClone(m)).ok;
/** A binary frame's header (its payload travels beside it). */
const validHeader = (m: unknown): boolean => schemas.validate(SYNC_BINARY_MESSAGE_SCHEMA.$id, structuredClone(m)).ok;

const sig = 'a'.repeat(64);
const entry = {
  revision: 3,
  op: 'update',
  collection: 'core',
  address: 'opc-connection/plc1',
  module: 'opcua',
  type: 'opc-connection',
  name: 'plc1',
  version: 'primary',
  content: { endpointUrl: 'opc.tcp://x:4840' },
  signature: sig,
  deleted: false,
  meta: { uuid: 'u', enabled: true, lastModification: { actor: 'a', timestamp: 't' }, signature: sig, backupSignature: null },
  actor: 'a',
  timestamp: 't',
};

const GOOD = [
  { type: 'sync.request', holder: null, revision: 0, full: false },
  { type: 'sync.request', holder: '9f23104d-e5a5-46a1-b553-d45c42680373', revision: 12, full: true },
  { type: 'sync.begin', op: 1, kind: 'full', revision: 4 },
  { type: 'sync.entries', from: 2, upTo: 3, latest: 3, entries: [entry] },
  { type: 'sync.snapshotStream', op: 2, id: 'abc-2', revision: 4 },
  { type: 'sync.snapshotFiles', id: 'abc-2', files: [{ path: 'a/b.json', size: 2, sha256: sig }] },
  { type: 'sync.snapshotEnd', id: 'abc-2', totals: { files: 1, totalBytes: 2, totalSha256: sig } },
  { type: 'sync.snapshotAbort', id: 'abc-2', reason: 'the master could not read the configuration for a full snapshot: EIO' },
  { type: 'sync.ack', revision: 3 },
  { type: 'sync.snapshotReceived', id: 'abc-2', bytes: 4194304 },
];

describe('sync protocol messages', () => {
  it('every type has a valid example and is a legal link message name', () => {
    expect(new Set(GOOD.map((m) => m.type))).toEqual(new Set(SYNC_MESSAGE_TYPES));
    for (const m of GOOD) expect(valid(m), m.type).toBe(true);
    for (const t of SYNC_MESSAGE_TYPES) expect(t).toMatch(/^sync\.[a-zA-Z]+$/);
  });

  it('the snapshot has one form: no whole manifest, no text chunks, no end without totals; chunk headers only in binary frames', () => {
    expect(SYNC_MESSAGE_TYPES).not.toContain('sync.snapshotBegin');
    expect(SYNC_MESSAGE_TYPES).not.toContain('sync.snapshotChunk');
    expect(valid({ type: 'sync.snapshotBegin', op: 1, manifest: { id: 'abc-1', revision: 4, files: [], totalBytes: 0, totalSha256: sig } })).toBe(false);
    expect(valid({ type: 'sync.snapshotChunk', chunk: { id: 'abc-1', seq: 0, parts: [{ path: 'a/b.json', offset: 0, data: 'e30=' }] } })).toBe(false);
    expect(valid({ type: 'sync.snapshotEnd', id: 'abc-1' })).toBe(false);
    expect(validHeader({ type: 'sync.snapshotChunk', chunk: { id: 'abc-1', seq: 0, file: 0, offset: 0 } })).toBe(true);
    expect(validHeader({ type: 'sync.snapshotChunk', chunk: { id: 'abc-1', seq: 0, parts: [] } })).toBe(false);
    expect(validHeader({ type: 'sync.snapshotChunk', chunk: { id: 'abc', seq: -1, file: 0, offset: 0 } })).toBe(false);
    expect(validHeader({ type: 'sync.snapshotChunk', chunk: { id: 'abc', seq: 0, file: 0, offset: -1 } })).toBe(false);
    expect(validHeader({ type: 'sync.snapshotChunk', chunk: { id: '../x', seq: 0, file: 0, offset: 0 } })).toBe(false);
  });

  it('refuses junk: extra fields, wrong types, negative revisions, local entries, unsafe snapshot ids, negative offsets', () => {
    const bad = [
      { ...GOOD[0], extra: 1 },
      { ...GOOD[0], revision: -1 },
      { ...GOOD[0], revision: 1.5 },
      { ...GOOD[0], holder: '../../etc' },
      { ...GOOD[2], kind: 'partial' },
      { ...GOOD[3], entries: [{ ...entry, collection: 'local' }] },
      { ...GOOD[3], entries: [{ ...entry, revision: 0 }] },
      { ...GOOD[3], entries: [{ ...entry, evil: true }] },
      { ...GOOD[3], entries: [{ ...entry, signature: 'nothex' }] },
      { type: 'sync.snapshotEnd', id: '../x', totals: { files: 1, totalBytes: 2, totalSha256: sig } },
      { type: 'sync.ack' },
      { type: 'sync.snapshotReceived', id: 'abc-2', bytes: -1 },
      { type: 'sync.snapshotReceived', id: '../x', bytes: 1 },
      { type: 'sync.unknown' },
      { type: 'sync.snapshotStream', op: 2, id: '../x', revision: 4 },
      { type: 'sync.snapshotStream', op: 2, id: 'abc', revision: -1 },
      { type: 'sync.snapshotFiles', id: 'abc', files: [{ path: 'a', size: -1, sha256: sig }] },
      { type: 'sync.snapshotFiles', id: 'abc', files: [{ path: 'a', size: 1, sha256: sig, extra: 1 }] },
      { type: 'sync.snapshotFiles', id: 'abc', files: Array.from({ length: 10_001 }, () => ({ path: 'a', size: 1, sha256: sig })) },
      { type: 'sync.snapshotEnd', id: 'abc', totals: { files: 1, totalBytes: 2 } },
      { type: 'sync.snapshotAbort', id: 'abc' },
      { type: 'sync.snapshotAbort', id: 'abc', reason: 'x'.repeat(4097) },
      { type: 'sync.snapshotEnd', id: 'abc', totals: { files: 1, totalBytes: 2, totalSha256: 'nothex' } },
    ];
    for (const m of bad) expect(valid(m), JSON.stringify(m).slice(0, 120)).toBe(false);
  });

  it('random JSON is refused and never throws (seeded)', () => {
    const prng = new Prng(6);
    for (let i = 0; i < 2000; i++) {
      const v = prng.json(4);
      const m = typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...v, type: prng.pick(SYNC_MESSAGE_TYPES) } : v;
      expect(() => valid(m)).not.toThrow();
      expect(valid(m)).toBe(false);
    }
  });
});

describe('entryBatches', () => {
  it('cuts by count and by size, keeps order, and never leaves an entry out (a big one goes alone)', () => {
    const small = Array.from({ length: 450 }, (_, i) => ({ i, pad: 'x'.repeat(10) }));
    const byCount = entryBatches(small);
    expect(byCount.map((b) => b.length)).toEqual([200, 200, 50]);
    expect(byCount.flat()).toEqual(small);
    const big = [{ pad: 'a'.repeat(100) }, { pad: 'b'.repeat(5000) }, { pad: 'c'.repeat(100) }, { pad: 'd'.repeat(100) }];
    const bySize = entryBatches(big, 200, 1000);
    expect(bySize.map((b) => b.length)).toEqual([1, 1, 2]);
    expect(bySize.flat()).toEqual(big);
    expect(entryBatches([])).toEqual([]);
  });
});
