import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { ConfigArchivesResponse } from '../../src/core/config-wire.js';
import type { EventRecord } from '../../src/core/wire.js';
import type { PeerInfo } from '../../src/daemon/gan/peer-link.js';
import { archiveFolder } from '../../src/daemon/data-dir.js';
import { archiveNames, listArchives, pruneArchives, recordAndPrune } from '../../src/daemon/sync/archives.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { gwctl, waitFor } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const cleanups: Array<() => void | Promise<void>> = [];
const started: TestDaemon[] = [];
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const t of started) process.stderr.write(t.logs.join(''));
  await Promise.all(started.splice(0).map((t) => t.stop()));
  for (const c of cleanups.splice(0)) await c();
});

/** A var/ directory with archives made at these minutes past 10:00 (each with a core file of 3 bytes). */
function varWith(minutes: number[]): string {
  const temp = makeTempDir('gwd-arch-');
  cleanups.push(temp.cleanup);
  const varDir = path.join(temp.dir, 'var');
  for (const m of minutes) {
    const folder = archiveFolder(varDir, new Date(Date.UTC(2026, 10, 25, 10, m)));
    mkdirSync(path.join(folder, 'core', 'opcua'), { recursive: true });
    writeFileSync(path.join(folder, 'core', 'opcua', 'config.json'), '{}\n');
  }
  return varDir;
}

const minute = (m: number): string => `2026-11-25T10-${String(m).padStart(2, '0')}-00-000Z`;
const quietLogger = { info() {}, warn() {} } as never;

describe('archive retention (syncArchiveKeep)', () => {
  it('keeps the newest N, removing the oldest first', async () => {
    const varDir = varWith([5, 1, 3, 2, 4]);
    const r = await pruneArchives(varDir, 2);
    expect(r.failed).toEqual([]);
    expect(r.removed.map((f) => path.basename(f))).toEqual([minute(1), minute(2), minute(3)]);
    expect(await archiveNames(varDir)).toEqual([minute(4), minute(5)]);
  });

  it('0 keeps all, and fewer than N are left alone', async () => {
    const varDir = varWith([1, 2, 3]);
    expect((await pruneArchives(varDir, 0)).removed).toEqual([]);
    expect((await pruneArchives(varDir, 5)).removed).toEqual([]);
    expect(await archiveNames(varDir)).toHaveLength(3);
    // No var/archive at all: nothing to do, no error.
    expect(await pruneArchives(path.join(varDir, 'nowhere'), 1)).toEqual({ removed: [], failed: [] });
  });

  it('never removes the archive just made, even when its name sorts oldest (a clock set back)', async () => {
    const varDir = varWith([1, 2, 3, 4]);
    const r = await pruneArchives(varDir, 1, new Set([minute(1)]));
    expect(r.removed.map((f) => path.basename(f))).toEqual([minute(2), minute(3), minute(4)]);
    expect(await archiveNames(varDir)).toEqual([minute(1)]);
  });

  it('skips a bad entry in var/archive instead of crashing on it: a stray file, a folder not named as a time, an unreadable record', async () => {
    const varDir = varWith([1, 2, 3]);
    const dir = path.join(varDir, 'archive');
    writeFileSync(path.join(dir, minute(0)), 'a file named as a time, not a folder');
    writeFileSync(path.join(dir, 'notes.txt'), 'kept by hand');
    mkdirSync(path.join(dir, 'before-upgrade'));
    writeFileSync(path.join(dir, minute(2), 'archive.json'), '{not json');
    const listed = await listArchives(varDir);
    expect(listed.map((a) => a.name)).toEqual([minute(1), minute(2), minute(3)]);
    expect(listed[1]).toMatchObject({ reason: 'unknown', time: '2026-11-25T10:02:00.000Z', files: 1, bytes: 3, sourceRevision: null });
    const r = await pruneArchives(varDir, 1);
    expect(r.removed.map((f) => path.basename(f))).toEqual([minute(1), minute(2)]);
    expect(readdirSync(dir).sort()).toEqual([minute(0), minute(3), 'before-upgrade', 'notes.txt'].sort());
  });

  it('records why the new archive was made; a folder that cannot be removed is logged and reported as an event, the rest still pruned', async () => {
    const varDir = varWith([1, 2, 3]);
    const before = await archiveNames(varDir);
    const made = archiveFolder(varDir, new Date(Date.UTC(2026, 10, 25, 10, 9)));
    mkdirSync(path.join(made, 'core'), { recursive: true });
    writeFileSync(path.join(made, 'config-journal.ndjson'), '{"base":true}\n');
    const emitted: Array<{ type: string; data: Record<string, unknown> }> = [];
    const events = { emit: (type: string, data: Record<string, unknown>) => (emitted.push({ type, data }), { seq: 0, type, data }) } as never;
    const r = await recordAndPrune({
      varDir,
      before,
      folder: made,
      record: { reason: 'resync-requested', sourceRevision: 7, peer: 'm-uuid' },
      keep: 2,
      logger: quietLogger,
      events,
      remove: async (folder) => {
        if (folder.endsWith(minute(1))) throw Object.assign(new Error('EBUSY: resource busy or locked'), { code: 'EBUSY' });
        const { rm } = await import('node:fs/promises');
        await rm(folder, { recursive: true, force: true });
      },
    });
    // One of the two over the bound could not go: it is not replaced by the next older one.
    expect(r.removed.map((f) => path.basename(f))).toEqual([minute(2)]);
    expect(r.failed).toEqual([{ folder: path.join(varDir, 'archive', minute(1)), detail: 'EBUSY: resource busy or locked' }]);
    expect(emitted).toEqual([{ type: 'sync.archive.pruneFailed', data: { folder: path.join(varDir, 'archive', minute(1)), detail: 'EBUSY: resource busy or locked', keep: 2 } }]);
    const record = JSON.parse(readFileSync(path.join(made, 'archive.json'), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ reason: 'resync-requested', sourceRevision: 7, peer: 'm-uuid' });
    const listed = await listArchives(varDir);
    expect(listed.at(-1)).toMatchObject({ name: path.basename(made), reason: 'resync-requested', sourceRevision: 7, peer: 'm-uuid', files: 1, bytes: 14 });
  });
});

async function daemon(name: string): Promise<TestDaemon> {
  const t = await startTestDaemon({ systemName: name, logLevel: 'info' });
  started.push(t);
  return t;
}

const events = (t: TestDaemon, type: string): EventRecord[] => t.daemon.events.since(0).filter((e) => e.type === type);

describe('archive retention on a pair', () => {
  it('several resyncs leave at most syncArchiveKeep archives, set live with gwctl; gwctl config archives --json lists them with their reasons', async () => {
    const [master, backup] = await Promise.all([daemon('m-node'), daemon('b-node')]);
    await master.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
    await master.client.configureRedundancy({ role: 'Master', master: { pingRate: 200 } });
    const up = new Promise<PeerInfo>((resolve) => backup.daemon.gan.link.once('up', resolve));
    await backup.client.configureRedundancy({
      role: 'Backup',
      master: { host: '127.0.0.1', port: master.daemon.gan.listenerViews().plain.port!, enableSsl: false, reconnectPeriod: 50, pingRate: 200 },
    });
    await up;
    const fullSyncs = (): number => events(backup, 'sync.completed').filter((e) => e.data.kind === 'full').length;
    await waitFor('the pairing snapshot', () => fullSyncs() >= 1);
    expect((await backup.client.configArchives()).archives.map((a) => a.reason)).toEqual(['first-sync']);

    // Refusals name the field (API) and the flag (gwctl, exit 2).
    await expect(backup.client.configureRedundancy({ syncArchiveKeep: -1 })).rejects.toThrow(/syncArchiveKeep/);
    const bad = await gwctl(['--socket', backup.socketPath, 'redundancy', 'configure', '--sync-archive-keep', '-1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--sync-archive-keep');
    const set = await gwctl(['--socket', backup.socketPath, 'redundancy', 'configure', '--sync-archive-keep', '2']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/Sync archives kept\s+2/);
    expect(backup.daemon.redundancy.syncArchiveKeep).toBe(2);

    // Three on the backup, one pushed by the master.
    for (let i = 0; i < 4; i++) {
      const before = fullSyncs();
      await (i === 3 ? master : backup).client.resync();
      await waitFor(`full sync ${before + 1}`, () => fullSyncs() > before);
      const names = await archiveNames(path.join(backup.dataDir, 'var'));
      expect(names.length).toBeLessThanOrEqual(2);
    }
    const last = events(backup, 'sync.completed').filter((e) => e.data.kind === 'full').at(-1)!;
    const r = await gwctl(['--socket', backup.socketPath, '--json', 'config', 'archives']);
    expect(r.code, r.stderr).toBe(0);
    const listed = JSON.parse(r.stdout) as ConfigArchivesResponse;
    expect(listed.keep).toBe(2);
    expect(listed.dir).toBe(path.join(backup.dataDir, 'var', 'archive'));
    expect(listed.archives).toHaveLength(2);
    // The newest is the one the last sync reported, with the reason it was made.
    expect(listed.archives[1]).toMatchObject({ path: last.data.archive, reason: 'resync-by-master', peer: master.daemon.identity.node.uuid });
    expect(listed.archives[0]!.reason).toBe('resync-requested');
    for (const a of listed.archives) {
      expect(a.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(a.files).toBeGreaterThan(0);
      expect(a.bytes).toBeGreaterThan(0);
      expect(existsSync(a.path)).toBe(true);
    }
    expect(events(backup, 'sync.archive.pruneFailed')).toEqual([]);

    const human = await gwctl(['--socket', backup.socketPath, 'config', 'archives']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/TIME\s+REASON\s+FILES\s+BYTES/);
    expect(human.stdout).toContain('# the newest 2 are kept after each full sync (syncArchiveKeep)');

    // 0 keeps all: the next resync adds one, none removed.
    await backup.client.configureRedundancy({ syncArchiveKeep: 0 });
    const before = fullSyncs();
    await backup.client.resync();
    await waitFor('one more full sync', () => fullSyncs() > before);
    expect((await backup.client.configArchives()).archives).toHaveLength(3);
  });
});
