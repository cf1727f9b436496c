import { createHash } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { GwError } from '../../src/core/errors.js';
import {
  BackupSyncMachine,
  type BackupSyncDecision,
  type BackupSyncInput,
  type BackupSyncStep,
  type MasterMessage,
} from '../../src/core/sync/backup-machine.js';
import type { SyncEntries } from '../../src/core/sync/messages.js';
import { isSafeRelativePath, ManifestChecker, manifestLines, type SnapshotFile } from '../../src/core/sync/snapshot-manifest.js';

const MASTER = '11111111-1111-1111-1111-111111111111';
const OTHER = '22222222-2222-2222-2222-222222222222';
const TIMEOUT = 60_000;
const RETRY = 1000;
const sig = 'a'.repeat(64);
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

type In = BackupSyncInput extends infer I ? (I extends unknown ? Omit<I, 'now'> : never) : never;

/** The machine on a fake clock (ms), starting at 1000. */
function harness(init: { holder?: string | null; revision?: number; limits?: { maxFiles: number; maxBytes: number } } = {}) {
  const machine = new BackupSyncMachine({
    peerUuid: MASTER,
    holder: init.holder === undefined ? MASTER : init.holder,
    revision: init.revision ?? 5,
    settings: { timeoutMs: TIMEOUT, retryMs: RETRY },
    limits: init.limits,
  });
  let now = 1000;
  const h = {
    machine,
    get now() {
      return now;
    },
    step: (input: In): BackupSyncStep => machine.handle({ ...input, now } as BackupSyncInput),
    msg: (message: MasterMessage): BackupSyncStep => h.step({ type: 'message', message }),
    /** Moves the clock to the last deadline asked for (or by `ms`) and ticks. */
    advance: (ms: number): BackupSyncStep => {
      now += ms;
      return h.step({ type: 'tick' });
    },
  };
  return h;
}

const kinds = (s: BackupSyncStep): string[] => s.decisions.map((d) => (d.type === 'emit' ? `emit:${d.event}` : d.type === 'send' ? `send:${d.message.type}` : d.type));
const emitted = (s: BackupSyncStep, event: string) =>
  s.decisions.flatMap((d) => (d.type === 'emit' && d.event === event ? [d.data] : []));
const only = <T extends BackupSyncDecision['type']>(s: BackupSyncStep, type: T) =>
  s.decisions.filter((d): d is Extract<BackupSyncDecision, { type: T }> => d.type === type);

function entries(from: number, upTo: number, latest = upTo): SyncEntries {
  const list = [];
  for (let r = from + 1; r <= upTo; r++) list.push({ revision: r } as SyncEntries['entries'][number]);
  return { type: 'sync.entries', from, upTo, latest, entries: list };
}

function totalsOf(files: SnapshotFile[]) {
  return { files: files.length, totalBytes: files.reduce((n, f) => n + f.size, 0), totalSha256: createHash('sha256').update(manifestLines(files)).digest('hex') };
}

/** A full sync begun and its staging opened: ready for entries and chunks of snapshot `id`. */
function snapshotStarted(h: ReturnType<typeof harness>, id = 'snap-1', revision = 9) {
  h.msg({ type: 'sync.begin', op: 1, kind: 'full', revision });
  const stream = h.msg({ type: 'sync.snapshotStream', op: 1, id, revision });
  expect(only(stream, 'openSnapshot')).toEqual([{ type: 'openSnapshot', id, revision }]);
  const opened = h.step({ type: 'snapshotOpened', id });
  expect(only(opened, 'setHolder')).toEqual([{ type: 'setHolder', holder: null }]);
}

describe('backup sync machine: asking (S1, S2)', () => {
  it('a backup holding this master asks for an incremental sync from its revision; the operation is bounded by syncTimeoutSecs', () => {
    const h = harness();
    const s = h.step({ type: 'connected' });
    expect(s.decisions).toEqual([{ type: 'send', message: { type: 'sync.request', holder: MASTER, revision: 5, full: false } }]);
    expect(s.nextDeadline).toBe(h.now + TIMEOUT);
    expect(h.machine.view().syncing).toBe(true);
  });

  it('a backup holding another master (or nothing) prepares a writer for the full snapshot the master will answer with', () => {
    for (const holder of [OTHER, null]) {
      const s = harness({ holder }).step({ type: 'connected' });
      expect(kinds(s)).toEqual(['prepareWriter', 'send:sync.request']);
      expect(only(s, 'send')[0]!.message).toMatchObject({ holder, full: false });
    }
  });

  it("an operator's resync asks for a full snapshot and drops the snapshot under way", () => {
    const h = harness();
    h.step({ type: 'connected' });
    snapshotStarted(h);
    const s = h.step({ type: 'resyncRequested' });
    expect(s.decisions).toEqual([
      { type: 'abortSnapshot', id: 'snap-1' },
      { type: 'prepareWriter' },
      { type: 'send', message: { type: 'sync.request', holder: null, revision: 5, full: true } },
    ]);
    // Chunks of the dropped snapshot are not this operation's.
    expect(h.msg({ type: 'sync.snapshotChunk', chunk: { id: 'snap-1', seq: 0, file: 0, offset: 0 }, payload: new Uint8Array(1) }).decisions).toEqual([]);
  });
});

describe('backup sync machine: incremental (S7, S8)', () => {
  it('applies entries in order as one batch, acknowledges and completes at the revision sync.begin named', () => {
    const h = harness();
    h.step({ type: 'connected' });
    const begin = h.msg({ type: 'sync.begin', op: 1, kind: 'incremental', revision: 8 });
    expect(kinds(begin)).toEqual(['dropWriter', 'emit:sync.started']);
    const batch = h.step({ type: 'entries', batch: [entries(5, 6), entries(6, 8)] });
    const apply = only(batch, 'applyEntries');
    expect(apply.map((d) => [d.upTo, d.entries.map((e) => e.revision)])).toEqual([[8, [6, 7, 8]]]);
    const done = h.step({ type: 'entriesApplied', revision: 8 });
    expect(kinds(done)).toEqual(['send:sync.ack', 'emit:sync.completed']);
    expect(emitted(done, 'sync.completed')[0]).toMatchObject({ kind: 'incremental', revision: 8, archive: null });
    expect(done.nextDeadline).toBeNull();
    expect(h.machine.view()).toMatchObject({ syncing: false, revision: 8, latest: 8, failed: null });
  });

  it('a catch-up that brings nothing is still acknowledged and completed', () => {
    const h = harness();
    h.step({ type: 'connected' });
    h.msg({ type: 'sync.begin', op: 1, kind: 'incremental', revision: 5 });
    const s = h.step({ type: 'entries', batch: [entries(5, 5)] });
    expect(kinds(s)).toEqual(['send:sync.ack', 'emit:sync.completed']);
  });

  it('entries already held are skipped; live entries after the sync apply and are acknowledged', () => {
    const h = harness();
    h.step({ type: 'entries', batch: [entries(3, 5)] });
    const s = h.step({ type: 'entries', batch: [entries(4, 7)] });
    expect(only(s, 'applyEntries')[0]!.entries.map((e) => e.revision)).toEqual([6, 7]);
    expect(kinds(h.step({ type: 'entriesApplied', revision: 7 }))).toEqual(['send:sync.ack']);
  });

  it('a gap fails the sync with GW_ERR_SYNC_GAP; entries are ignored until the retry, which asks for a full snapshot', () => {
    const h = harness();
    const s = h.step({ type: 'entries', batch: [entries(9, 10)] });
    expect(emitted(s, 'sync.failed')).toEqual([expect.objectContaining({ code: 'GW_ERR_SYNC_GAP' })]);
    expect(only(s, 'applyEntries')).toEqual([]);
    expect(s.nextDeadline).toBe(h.now + RETRY);
    expect(h.step({ type: 'entries', batch: [entries(5, 6)] }).decisions).toEqual([]);
    const retry = h.advance(RETRY);
    expect(only(retry, 'send')[0]!.message).toEqual({ type: 'sync.request', holder: MASTER, revision: 5, full: true });
  });

  it('a batch the store refused asks for a full snapshot next', () => {
    const h = harness();
    h.step({ type: 'entries', batch: [entries(5, 6)] });
    const s = h.step({ type: 'ioFailed', id: null, error: new GwError('GW_ERR_CONFIG_INVALID', { file: 'x', detail: 'forged' }), wantFull: true });
    expect(emitted(s, 'sync.failed')[0]).toMatchObject({ code: 'GW_ERR_CONFIG_INVALID' });
    expect(only(h.advance(RETRY), 'send')[0]!.message).toMatchObject({ full: true });
  });

  it('entries during a snapshot or before the master answered are ignored (the master queues them behind its answer)', () => {
    const h = harness();
    h.step({ type: 'connected' });
    expect(h.step({ type: 'entries', batch: [entries(5, 6)] }).decisions).toEqual([]);
    snapshotStarted(h);
    expect(h.step({ type: 'entries', batch: [entries(5, 6)] }).decisions).toEqual([]);
  });
});

describe('backup sync machine: a full snapshot (S5, S6)', () => {
  it('entries before their bytes, chunks cut by the sizes, the adoption not cut short by the timeout, then ack and completed', () => {
    const h = harness();
    h.step({ type: 'connected' });
    const begin = h.msg({ type: 'sync.begin', op: 1, kind: 'full', revision: 9 });
    expect(kinds(begin)).toEqual(['prepareWriter', 'emit:sync.started']);
    expect(emitted(begin, 'sync.started')[0]).toEqual({ kind: 'full', revision: 9 });
    h.msg({ type: 'sync.snapshotStream', op: 1, id: 's1', revision: 9 });
    h.step({ type: 'snapshotOpened', id: 's1' });
    const files: SnapshotFile[] = [
      { path: 'a/empty', size: 0, sha256: sha256('') },
      { path: 'b/config.json', size: 3, sha256: sha256('abc') },
      { path: 'c/config.json', size: 2, sha256: sha256('de') },
      { path: 'z/empty', size: 0, sha256: sha256('') },
    ];
    const added = h.msg({ type: 'sync.snapshotFiles', id: 's1', files });
    expect(added.decisions).toEqual([{ type: 'addFiles', id: 's1', files }]);
    // The first chunk names the first file with bytes: the empty one before it is created on the way.
    const w1 = only(h.msg({ type: 'sync.snapshotChunk', chunk: { id: 's1', seq: 0, file: 1, offset: 0 }, payload: Buffer.from('ab') }), 'write')[0]!;
    expect([w1.file, w1.offset, w1.parts.map((p) => [p.rel, p.length, p.truncate, p.complete])]).toEqual([0, 0, [['a/empty', 0, true, true], ['b/config.json', 2, true, false]]]);
    const w2 = only(h.msg({ type: 'sync.snapshotChunk', chunk: { id: 's1', seq: 1, file: 1, offset: 2 }, payload: Buffer.from('cde') }), 'write')[0]!;
    // The empty file after the last byte comes with it, as it is announced already.
    expect([w2.file, w2.offset, w2.parts.map((p) => [p.rel, p.length, p.truncate, p.complete])]).toEqual([
      1,
      2,
      [
        ['b/config.json', 1, false, true],
        ['c/config.json', 2, true, true],
        ['z/empty', 0, true, true],
      ],
    ]);
    const end = h.msg({ type: 'sync.snapshotEnd', id: 's1', totals: totalsOf(files) });
    expect(only(end, 'write')).toEqual([]);
    expect(only(end, 'adopt')).toEqual([{ type: 'adopt', id: 's1', revision: 9, files: 4, asked: 'journal-behind' }]);
    expect(end.nextDeadline).toBeNull();
    expect(emitted(h.advance(2 * TIMEOUT), 'sync.failed')).toEqual([]);
    const adopted = h.step({ type: 'snapshotAdopted', id: 's1', revision: 9, archive: '/var/archive/t' });
    expect(adopted.decisions).toEqual([
      { type: 'setHolder', holder: MASTER },
      { type: 'send', message: { type: 'sync.ack', revision: 9 } },
      { type: 'emit', event: 'sync.completed', data: { kind: 'full', revision: 9, archive: '/var/archive/t', durationMs: 2 * TIMEOUT } },
    ]);
    expect(h.machine.view()).toMatchObject({ syncing: false, holder: MASTER, revision: 9 });
  });

  it('records why the snapshot was asked for: first sync, broken chain, resync, pushed by the master', () => {
    const asked = (h: ReturnType<typeof harness>): string => {
      snapshotStarted(h);
      return only(h.msg({ type: 'sync.snapshotEnd', id: 'snap-1', totals: totalsOf([]) }), 'adopt')[0]!.asked;
    };
    const first = harness({ holder: null });
    first.step({ type: 'connected' });
    expect(asked(first)).toBe('first-sync');
    const broken = harness();
    broken.step({ type: 'entries', batch: [entries(7, 8)] });
    broken.advance(RETRY);
    expect(asked(broken)).toBe('sync-broken');
    const resync = harness();
    resync.step({ type: 'resyncRequested' });
    expect(asked(resync)).toBe('resync-requested');
    // Unasked: the master's own resync.
    expect(asked(harness())).toBe('resync-by-master');
  });

  it('refuses what is not the one form, in any order or content, with GW_ERR_SYNC_SNAPSHOT_REFUSED and drops the staging', () => {
    const f = (p: string, size = 1, hash = sig): SnapshotFile => ({ path: p, size, sha256: hash });
    const cases: Array<[string, (h: ReturnType<typeof harness>) => BackupSyncStep, RegExp, { maxFiles: number; maxBytes: number }?]> = [
      ['unsafe path', (h) => h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('../etc/passwd')] }), /manifest refused: \.\.\/etc\/passwd: unsafe path/],
      ['listed twice across parts', (h) => (h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('x/c')] }), h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('x/c')] })), /listed twice/],
      ['a file under a file', (h) => (h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('x/a')] }), h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('x/a/b')] })), /x\/a: nested under a listed file/],
      ['a file over a file', (h) => (h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('x/a/b')] }), h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('x/a')] })), /x\/a: nested under a listed file/],
      ['a malformed hash', (h) => h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('x/a', 1, 'nothex')] }), /bad sha256/],
      ['too many files', (h) => h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('x/a'), f('x/b')] }), /more than 1 files/, { maxFiles: 1, maxBytes: 10 }],
      ['too many bytes', (h) => h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('x/a', 11)] }), /more than 10 bytes/, { maxFiles: 5, maxBytes: 10 }],
      ['bytes before their entries', (h) => (h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('x/a', 2)] }), h.msg({ type: 'sync.snapshotChunk', chunk: { id: 'snap-1', seq: 0, file: 0, offset: 0 }, payload: Buffer.from('abc') })), /chunk 0: 1 bytes past the last file of the manifest/],
      ['a chunk out of order', (h) => (h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('x/a', 2)] }), h.msg({ type: 'sync.snapshotChunk', chunk: { id: 'snap-1', seq: 1, file: 0, offset: 0 }, payload: Buffer.from('ab') })), /chunk 1 out of order \(expected 0\)/],
      ['a chunk past the next file with bytes', (h) => (h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('e/x', 1, sha256('x')), f('e/y', 1, sha256('y'))] }), h.msg({ type: 'sync.snapshotChunk', chunk: { id: 'snap-1', seq: 0, file: 1, offset: 0 }, payload: Buffer.from('y') })), /starts at file 1 offset 0, expected file 0 offset 0/],
      ['a wrong file count at the end', (h) => h.msg({ type: 'sync.snapshotEnd', id: 'snap-1', totals: { ...totalsOf([]), files: 1 } }), /1 files announced at the end, 0 listed/],
      ['wrong bytes at the end', (h) => (h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('x/a')] }), h.msg({ type: 'sync.snapshotEnd', id: 'snap-1', totals: { ...totalsOf([f('x/a')]), totalBytes: 2 } })), /totalBytes does not match/],
      ['a wrong total hash', (h) => h.msg({ type: 'sync.snapshotEnd', id: 'snap-1', totals: { ...totalsOf([]), totalSha256: sig } }), /totalSha256 does not match/],
      ['entries whose bytes never came', (h) => (h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [f('x/a', 2), f('x/b', 3)] }), h.msg({ type: 'sync.snapshotChunk', chunk: { id: 'snap-1', seq: 0, file: 0, offset: 0 }, payload: Buffer.from('abc') }), h.msg({ type: 'sync.snapshotEnd', id: 'snap-1', totals: totalsOf([f('x/a', 2), f('x/b', 3)]) })), /x\/b: incomplete \(1 of 3 bytes\)/],
    ];
    for (const [what, act, message, limits] of cases) {
      const h = harness({ limits });
      h.step({ type: 'connected' });
      snapshotStarted(h);
      const s = act(h);
      const failed = emitted(s, 'sync.failed');
      expect(failed, what).toHaveLength(1);
      expect(failed[0]!.code, what).toBe('GW_ERR_SYNC_SNAPSHOT_REFUSED');
      expect(String(failed[0]!.reason), what).toMatch(message);
      expect(only(s, 'abortSnapshot'), what).toEqual([{ type: 'abortSnapshot', id: 'snap-1' }]);
      expect(only(s, 'write').length + only(s, 'adopt').length, what).toBe(0);
      expect(h.machine.view().failed, what).toMatch(message);
    }
  });

  it('refuses anything after the end, and a snapshot without sync.begin', () => {
    for (const late of [
      { type: 'sync.snapshotFiles', id: 'snap-1', files: [] },
      { type: 'sync.snapshotChunk', chunk: { id: 'snap-1', seq: 0, file: 0, offset: 0 }, payload: new Uint8Array(0) },
      { type: 'sync.snapshotEnd', id: 'snap-1', totals: totalsOf([]) },
    ] as MasterMessage[]) {
      const h = harness();
      h.step({ type: 'connected' });
      snapshotStarted(h);
      h.msg({ type: 'sync.snapshotEnd', id: 'snap-1', totals: totalsOf([]) });
      expect(String(emitted(h.msg(late), 'sync.failed')[0]?.reason)).toMatch(/after the end|the end of the snapshot twice/);
    }
    const h = harness();
    h.step({ type: 'connected' });
    const s = h.msg({ type: 'sync.snapshotStream', op: 1, id: 'x', revision: 1 });
    expect(emitted(s, 'sync.failed')[0]).toMatchObject({ code: 'GW_ERR_SYNC_SNAPSHOT_REFUSED', reason: expect.stringContaining('without sync.begin') });
  });

  it('a chunk may name an empty file not yet passed, before the first file with bytes', () => {
    const h = harness();
    h.step({ type: 'connected' });
    snapshotStarted(h);
    const e = (p: string, text: string): SnapshotFile => ({ path: p, size: text.length, sha256: sha256(text) });
    h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [e('e/0', ''), e('e/1', '')] });
    h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: [e('e/2', ''), e('e/x', 'x'), e('e/y', 'y')] });
    const w1 = h.msg({ type: 'sync.snapshotChunk', chunk: { id: 'snap-1', seq: 0, file: 2, offset: 0 }, payload: Buffer.from('x') });
    expect(only(w1, 'write')[0]!.parts.map((p) => p.rel)).toEqual(['e/0', 'e/1', 'e/2', 'e/x']);
    const w2 = h.msg({ type: 'sync.snapshotChunk', chunk: { id: 'snap-1', seq: 1, file: 4, offset: 0 }, payload: Buffer.from('y') });
    expect(only(w2, 'write')[0]!.parts.map((p) => p.rel)).toEqual(['e/y']);
  });

  it('a snapshot replaced while its staging was prepared is dropped when the staging is ready; its late messages and failures are ignored', () => {
    const h = harness();
    h.step({ type: 'connected' });
    h.msg({ type: 'sync.begin', op: 1, kind: 'full', revision: 9 });
    h.msg({ type: 'sync.snapshotStream', op: 1, id: 'old', revision: 9 });
    const replaced = h.msg({ type: 'sync.begin', op: 2, kind: 'full', revision: 10 });
    expect(only(replaced, 'abortSnapshot')).toEqual([{ type: 'abortSnapshot', id: 'old' }]);
    expect(h.step({ type: 'snapshotOpened', id: 'old' }).decisions).toEqual([{ type: 'abortSnapshot', id: 'old' }]);
    expect(h.msg({ type: 'sync.snapshotFiles', id: 'old', files: [] }).decisions).toEqual([]);
    expect(h.msg({ type: 'sync.snapshotAbort', id: 'old', reason: 'x' }).decisions).toEqual([]);
    expect(h.step({ type: 'ioFailed', id: 'old', error: new GwError('GW_ERR_SYNC_FAILED', { detail: 'x' }) }).decisions).toEqual([]);
    expect(h.machine.view().syncing).toBe(true);
  });

  it('an adoption that ends after its operation was replaced still records the new holder and revision', () => {
    const h = harness({ holder: null });
    h.step({ type: 'connected' });
    snapshotStarted(h);
    h.msg({ type: 'sync.snapshotEnd', id: 'snap-1', totals: totalsOf([]) });
    h.step({ type: 'resyncRequested' });
    const s = h.step({ type: 'snapshotAdopted', id: 'snap-1', revision: 9, archive: null });
    expect(kinds(s)).toEqual(['setHolder', 'send:sync.ack']);
    expect(h.machine.view()).toMatchObject({ holder: MASTER, revision: 9, syncing: true });
  });
});

describe('backup sync machine: time-outs and retries (S3, S9, S10)', () => {
  it('an operation that does not finish in syncTimeoutSecs fails with GW_ERR_SYNC_TIMEOUT, then asks again after retryMs', () => {
    const h = harness();
    h.step({ type: 'connected' });
    snapshotStarted(h);
    expect(h.advance(TIMEOUT - 1).decisions).toEqual([]);
    const s = h.advance(1);
    expect(emitted(s, 'sync.failed')).toEqual([{ reason: expect.stringContaining('timed out after 60 s (syncTimeoutSecs)'), code: 'GW_ERR_SYNC_TIMEOUT' }]);
    expect(only(s, 'abortSnapshot')).toHaveLength(1);
    expect(s.nextDeadline).toBe(h.now + RETRY);
    // The staging was ready, so the holder was cleared: the retry is a first sync again.
    expect(kinds(h.advance(RETRY))).toEqual(['prepareWriter', 'send:sync.request']);
  });

  it('empty files announced after the last chunk are created at the end', () => {
    const h = harness();
    h.step({ type: 'connected' });
    snapshotStarted(h);
    const files: SnapshotFile[] = [{ path: 'a', size: 1, sha256: sha256('a') }];
    h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files });
    h.msg({ type: 'sync.snapshotChunk', chunk: { id: 'snap-1', seq: 0, file: 0, offset: 0 }, payload: Buffer.from('a') });
    const tail: SnapshotFile[] = [{ path: 'y', size: 0, sha256: sha256('') }, { path: 'z', size: 0, sha256: sha256('') }];
    h.msg({ type: 'sync.snapshotFiles', id: 'snap-1', files: tail });
    const end = h.msg({ type: 'sync.snapshotEnd', id: 'snap-1', totals: totalsOf([...files, ...tail]) });
    expect(only(end, 'write').map((w) => [w.file, w.offset, w.parts.map((p) => p.rel), w.payload.length])).toEqual([[1, 0, ['y', 'z'], 0]]);
    expect(kinds(end)).toEqual(['write', 'adopt']);
  });

  it('the timeout is the one in force when the operation began', () => {
    const h = harness();
    h.step({ type: 'settingsChanged', settings: { timeoutMs: 2000, retryMs: RETRY } });
    const s = h.step({ type: 'connected' });
    expect(s.nextDeadline).toBe(h.now + 2000);
    h.step({ type: 'settingsChanged', settings: { timeoutMs: TIMEOUT, retryMs: RETRY } });
    expect(emitted(h.advance(2000), 'sync.failed')[0]!.code).toBe('GW_ERR_SYNC_TIMEOUT');
  });

  it('a master that could not read its configuration is asked again only after a sync timeout', () => {
    const h = harness();
    h.step({ type: 'connected' });
    snapshotStarted(h);
    const s = h.msg({ type: 'sync.snapshotAbort', id: 'snap-1', reason: 'the master could not read it' });
    expect(emitted(s, 'sync.failed')[0]).toMatchObject({ code: 'GW_ERR_SYNC_FAILED', reason: expect.stringContaining('the master could not read it') });
    expect(s.nextDeadline).toBe(h.now + TIMEOUT);
  });

  it('a stream of failures does not postpone the retry already pending', () => {
    const h = harness();
    const first = h.step({ type: 'entries', batch: [entries(7, 8)] });
    const at = first.nextDeadline;
    h.advance(RETRY / 2);
    const again = h.step({ type: 'ioFailed', id: null, error: new GwError('GW_ERR_SYNC_FAILED', { detail: 'x' }) });
    expect(again.nextDeadline).toBe(at);
  });

  it('link down: an operation under way ends with sync.failed, and nothing more happens', () => {
    const h = harness();
    h.step({ type: 'connected' });
    snapshotStarted(h);
    const s = h.step({ type: 'disconnected' });
    expect(s.decisions).toEqual([
      { type: 'dropWriter' },
      { type: 'emit', event: 'sync.failed', data: { reason: 'the link to the master went down', code: 'GW_ERR_SYNC_FAILED' } },
      { type: 'abortSnapshot', id: 'snap-1' },
    ]);
    expect(s.nextDeadline).toBeNull();
    expect(h.advance(10 * TIMEOUT).decisions).toEqual([]);
    expect(h.msg({ type: 'sync.begin', op: 3, kind: 'full', revision: 1 }).decisions).toEqual([]);
  });

  it('an idle link going down reports nothing', () => {
    const h = harness();
    expect(kinds(h.step({ type: 'disconnected' }))).toEqual(['dropWriter']);
  });

  it('time never runs backwards: a clock that steps back does not revive a deadline', () => {
    const machine = new BackupSyncMachine({ peerUuid: MASTER, holder: MASTER, revision: 5, settings: { timeoutMs: 100, retryMs: RETRY } });
    machine.handle({ type: 'connected', now: 1000 });
    const late = machine.handle({ type: 'tick', now: 1100 });
    expect(emitted(late, 'sync.failed')).toHaveLength(1);
    expect(machine.handle({ type: 'tick', now: 0 }).decisions).toEqual([]);
  });
});

describe('manifest entries from a peer (ManifestChecker)', () => {
  it('refuses unsafe paths, duplicates, a file nested under another, entries out of tree order, malformed sizes and hashes, and totals that do not match', () => {
    for (const bad of ['../etc/passwd', '/abs', 'a/../../b', 'a//b', 'a\\b', '.', '']) expect(isSafeRelativePath(bad), bad).toBe(false);
    const f = (p: string, hash = sig, size = 1): SnapshotFile => ({ path: p, size, sha256: hash });
    const check = (...parts: SnapshotFile[][]) => {
      const c = new ManifestChecker({ maxFiles: 10, maxBytes: 10 });
      for (const part of parts) {
        const problem = c.add(part);
        if (problem) return problem;
      }
      return null;
    };
    expect(check([f('../x')])?.problem).toBe('unsafe path');
    expect(check([f('a/config.json')], [f('a/config.json')])?.problem).toBe('listed twice');
    expect(check([f('a/b'), f('a/b/c/d')])).toEqual({ path: 'a/b', problem: 'nested under a listed file' });
    expect(check([f('x/a/b/c')], [f('x/a')])).toEqual({ path: 'x/a', problem: 'nested under a listed file' });
    // Tree order: a directory's entries by name ("b" before "b-c" before "b.json" before "bc"), each
    // directory's files where its name falls (a/b/x before a/b-c/x, though '-' < '/').
    expect(check([f('a/b'), f('a/b.json'), f('a/bc/d')])).toBeNull();
    expect(check([f('a/b/x'), f('a/b-c/x'), f('a/b0')])).toBeNull();
    expect(check([f('a/b-c/x'), f('a/b/x')])).toEqual({ path: 'a/b/x', problem: 'out of order (after a/b-c/x)' });
    expect(check([f('a/bc/d')], [f('a/b.json')])).toEqual({ path: 'a/b.json', problem: 'out of order (after a/bc/d)' });
    // Everything between a/b and a/b/c/d in tree order is under a/b: a file over a file shows between neighbours.
    expect(check([f('a/b'), f('a/b/c/a'), f('a/b/c/d')])).toEqual({ path: 'a/b', problem: 'nested under a listed file' });
    expect(check([f('a', 'A'.repeat(64))])?.problem).toBe('bad sha256');
    expect(check([f('a', 'a'.repeat(63))])?.problem).toBe('bad sha256');
    expect(check([f('a', sig, -1)])?.problem).toBe('bad size');
    expect(check([f('x'.repeat(1025))])?.problem).toBe('unsafe path');
    const ok = [f('a/config.json'), f('b/config.json')];
    const c = new ManifestChecker({ maxFiles: 10, maxBytes: 10 });
    expect(c.add(ok.slice(0, 1))).toBeNull();
    expect(c.add(ok.slice(1))).toBeNull();
    // The total hash is over the entries in the order they came, whatever the parts.
    expect(c.finish(totalsOf(ok))).toBeNull();
    const wrong = new ManifestChecker({ maxFiles: 10, maxBytes: 10 });
    wrong.add(ok);
    expect(wrong.finish({ ...totalsOf(ok), totalSha256: 'f'.repeat(64) })?.problem).toMatch(/totalSha256/);
  });
});

describe('backup sync machine: any order of messages, timers and disk results (fast-check)', () => {
  /** What the master, the clock or the disk may do next. */
  type Action =
    | { kind: 'begin'; full: boolean; revision: number }
    | { kind: 'stream'; id: number }
    | { kind: 'files'; id: number; sizes: number[] }
    | { kind: 'chunk'; id: number; bytes: number; seqSkew: number }
    | { kind: 'end'; id: number; wrong: boolean }
    | { kind: 'abort'; id: number }
    | { kind: 'entries'; from: number; count: number }
    | { kind: 'tick'; ms: number }
    | { kind: 'resync' }
    | { kind: 'disk'; fail: boolean }
    | { kind: 'disconnect' };

  const action: fc.Arbitrary<Action> = fc.oneof(
    fc.record({ kind: fc.constant('begin' as const), full: fc.boolean(), revision: fc.integer({ min: 0, max: 20 }) }),
    fc.record({ kind: fc.constant('stream' as const), id: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant('files' as const), id: fc.integer({ min: 0, max: 2 }), sizes: fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 4 }) }),
    fc.record({ kind: fc.constant('chunk' as const), id: fc.integer({ min: 0, max: 2 }), bytes: fc.integer({ min: 0, max: 12 }), seqSkew: fc.constantFrom(0, 0, 0, 1, -1) }),
    fc.record({ kind: fc.constant('end' as const), id: fc.integer({ min: 0, max: 2 }), wrong: fc.boolean() }),
    fc.record({ kind: fc.constant('abort' as const), id: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant('entries' as const), from: fc.integer({ min: 0, max: 20 }), count: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2 * TIMEOUT }) }),
    fc.constant({ kind: 'resync' as const }),
    fc.record({ kind: fc.constant('disk' as const), fail: fc.boolean() }),
    fc.constant({ kind: 'disconnect' as const }),
  );

  it('writes are contiguous, an adoption comes only after every announced byte, nothing after the link is down, a deadline while syncing', () => {
    // The generator must reach what the invariants are about.
    const seen = { write: 0, adopt: 0, completed: 0, refused: 0 };
    /** A well-behaved master's full snapshot (parts of file sizes), as actions, answered by the disk. */
    const snapshot = (id: number, parts: number[][]): Action[] => [
      { kind: 'begin', full: true, revision: 9 },
      { kind: 'stream', id },
      { kind: 'disk', fail: false },
      ...parts.flatMap((sizes): Action[] => [
        { kind: 'files', id, sizes },
        { kind: 'chunk', id, bytes: -1, seqSkew: 0 },
      ]),
      { kind: 'end', id, wrong: false },
      { kind: 'disk', fail: false },
    ];
    const scenario = fc
      .tuple(
        fc.array(fc.array(fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }), { maxLength: 3 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), action), { maxLength: 12 }),
      )
      .map(([snapshots, disturbances]) => {
        const actions = snapshots.flatMap((parts, i) => snapshot(i, parts));
        // Anything may happen anywhere in between: other messages, time, disk failures, the link.
        for (const [at, a] of disturbances) actions.splice(at % (actions.length + 1), 0, a);
        return actions;
      });
    fc.assert(
      fc.property(scenario, fc.boolean(), (actions, holds) => {
        const h = harness({ holder: holds ? MASTER : null });
        // What the master announced per snapshot (its files, the next chunk's seq and position), as a well-behaved master would.
        const master = new Map<string, { files: SnapshotFile[]; seq: number; sent: number }>();
        // What the machine asked the disk for, answered by a `disk` action in order.
        const pending: In[] = [];
        // Per snapshot: the files the machine announced to the writer and where its writes ended.
        const written = new Map<string, { files: SnapshotFile[]; file: number; offset: number; adopted: boolean }>();
        let down = false;
        const check = (s: BackupSyncStep): void => {
          if (down) expect(s.decisions).toEqual([]);
          for (const d of s.decisions) {
            if (d.type === 'openSnapshot') {
              written.set(d.id, { files: [], file: 0, offset: 0, adopted: false });
              pending.push({ type: 'snapshotOpened', id: d.id });
            }
            if (d.type === 'addFiles') written.get(d.id)!.files.push(...d.files);
            if (d.type === 'write') {
              const w = written.get(d.id)!;
              expect([d.file, d.offset]).toEqual([w.file, w.offset]);
              expect(d.parts.reduce((n, p) => n + p.length, 0)).toBe(d.payload.length);
              for (const p of d.parts) {
                const f = w.files[w.file]!;
                expect(p.rel).toBe(f.path);
                expect(p.truncate).toBe(w.offset === 0);
                w.offset += p.length;
                expect(w.offset).toBeLessThanOrEqual(f.size);
                expect(p.complete).toBe(w.offset === f.size);
                if (p.complete) [w.file, w.offset] = [w.file + 1, 0];
              }
            }
            if (d.type === 'adopt') {
              const w = written.get(d.id)!;
              expect(w.adopted).toBe(false);
              expect(w.file).toBe(w.files.length);
              w.adopted = true;
              pending.push({ type: 'snapshotAdopted', id: d.id, revision: d.revision, archive: null });
            }
            if (d.type === 'applyEntries') pending.push({ type: 'entriesApplied', revision: d.upTo });
            if (d.type === 'write') seen.write++;
            if (d.type === 'adopt') seen.adopt++;
            if (d.type === 'emit' && d.event === 'sync.completed' && d.data.kind === 'full') seen.completed++;
            if (d.type === 'emit' && d.data.code === 'GW_ERR_SYNC_SNAPSHOT_REFUSED') seen.refused++;
          }
          const view = h.machine.view();
          if (!down && view.syncing) {
            const adopting = [...written.values()].some((w) => w.adopted);
            if (!adopting) expect(s.nextDeadline).not.toBeNull();
          }
        };
        check(h.step({ type: 'connected' }));
        for (const a of actions) {
          const id = `s${'id' in a ? a.id : 0}`;
          const m = master.get(id) ?? { files: [], seq: 0, sent: 0 };
          let s: BackupSyncStep;
          switch (a.kind) {
            case 'begin':
              s = h.msg({ type: 'sync.begin', op: 1, kind: a.full ? 'full' : 'incremental', revision: a.revision });
              break;
            case 'stream':
              master.set(id, { files: [], seq: 0, sent: 0 });
              s = h.msg({ type: 'sync.snapshotStream', op: 1, id, revision: 9 });
              break;
            case 'files': {
              const files = a.sizes.map((size, i) => ({ path: `f${m.files.length + i}`, size, sha256: sha256('x'.repeat(size)) }));
              m.files.push(...files);
              master.set(id, m);
              s = h.msg({ type: 'sync.snapshotFiles', id, files });
              break;
            }
            case 'chunk': {
              const total = m.files.reduce((n, f) => n + f.size, 0);
              // Within what was announced, mostly; past it when nothing is left (a refusal).
              const left = Math.max(0, total - m.sent);
              // -1: every byte announced and not sent yet (none: no chunk, as a master sends none).
              if (a.bytes === -1 && left === 0) continue;
              const bytes = a.bytes === -1 ? left : left > 0 ? Math.min(a.bytes, left) : a.bytes;
              let at = m.sent;
              let file = 0;
              while (file < m.files.length && (at >= m.files[file]!.size || m.files[file]!.size === 0)) at -= m.files[file++]!.size;
              s = h.msg({ type: 'sync.snapshotChunk', chunk: { id, seq: Math.max(0, m.seq + a.seqSkew), file, offset: at }, payload: new Uint8Array(bytes) });
              m.seq++;
              m.sent += bytes;
              break;
            }
            case 'end':
              s = h.msg({ type: 'sync.snapshotEnd', id, totals: a.wrong ? { ...totalsOf(m.files), totalSha256: sig } : totalsOf(m.files) });
              break;
            case 'abort':
              s = h.msg({ type: 'sync.snapshotAbort', id, reason: 'EIO' });
              break;
            case 'entries':
              s = h.step({ type: 'entries', batch: [entries(a.from, a.from + a.count)] });
              break;
            case 'tick':
              s = h.advance(a.ms);
              break;
            case 'resync':
              s = h.step({ type: 'resyncRequested' });
              break;
            case 'disk': {
              const next = pending.shift();
              if (!next) continue;
              const failed: In | null = a.fail && next.type !== 'snapshotOpened' ? { type: 'ioFailed', id: 'id' in next ? next.id : null, error: new GwError('GW_ERR_SYNC_FAILED', { detail: 'disk' }) } : null;
              s = h.step(failed ?? next);
              break;
            }
            case 'disconnect':
              s = h.step({ type: 'disconnected' });
              check(s);
              down = true;
              continue;
          }
          check(s);
        }
      }),
      { numRuns: 500, seed: 18 },
    );
    for (const [what, n] of Object.entries(seen)) expect(n, what).toBeGreaterThan(0);
  });
});
