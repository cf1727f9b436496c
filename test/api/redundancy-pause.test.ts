import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { GwError } from '../../src/core/errors.js';
import { makePause, makeResume, newerPauseRecord, pauseInForce } from '../../src/core/redundancy/pause-record.js';
import type { EventRecord } from '../../src/core/wire.js';
import { parseDuration } from '../../src/cli/commands/redundancy.js';
import { PAUSE_FILE } from '../../src/daemon/redundancy/pause-service.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { waitFor } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/** Rule 12 on a real daemon in this process: the pause routes, the record on disk, its expiry. */
const started: TestDaemon[] = [];
const temps: Array<() => void> = [];
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const t of started) process.stderr.write(t.logs.join(''));
  await Promise.all(started.splice(0).map((t) => t.stop()));
  temps.splice(0).forEach((c) => c());
});

async function daemon(dir?: string, systemName = 'plant-a'): Promise<TestDaemon> {
  const t = await startTestDaemon({ systemName }, dir);
  started.push(t);
  return t;
}

/** A data directory that outlives one daemon (restarts). */
function keptDir(): string {
  const t = makeTempDir('gwd-pause-');
  temps.push(t.cleanup);
  return t.dir;
}

async function restart(t: TestDaemon): Promise<TestDaemon> {
  started.splice(started.indexOf(t), 1);
  await t.daemon.stop('test');
  return daemon(t.dataDir);
}

function eventsOf(t: TestDaemon, type: string, since = 0): EventRecord[] {
  return t.daemon.events.since(since).filter((e) => e.type === type);
}

async function metric(t: TestDaemon, name: string): Promise<string | undefined> {
  const text = await t.daemon.metrics.text();
  return text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1];
}

async function invalidBody(t: TestDaemon, body: unknown): Promise<GwError> {
  const err = await t.client.request('POST', '/v0/redundancy/pause', body).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GwError);
  return err as GwError;
}

describe('POST /v0/redundancy/pause and /resume', () => {
  it('pause answers what status shows, holds the machine, emits redundancy.paused and sets gwd_paused; resume ends it', async () => {
    const t = await daemon();
    expect((await t.client.status()).redundancy).toMatchObject({ paused: null, hold: null });
    expect(await metric(t, 'gwd_paused')).toBe('0');

    const before = Date.now();
    const answer = await t.client.pause({ forMs: 120_000, reason: 'network work' });
    const uuid = t.daemon.identity.node.uuid;
    expect(answer.paused).toMatchObject({ by: { uuid, name: 'plant-a' }, reason: 'network work' });
    const until = Date.parse(answer.paused!.until!);
    expect(until - before).toBeGreaterThanOrEqual(120_000);
    expect(until - Date.now()).toBeLessThanOrEqual(120_000);
    expect(Date.parse(answer.paused!.since)).toBeGreaterThanOrEqual(before - 1);

    const status = await t.client.status();
    expect(status.redundancy.paused).toEqual(answer.paused);
    expect(t.daemon.engine.view().paused).toBe(true);
    expect(await metric(t, 'gwd_paused')).toBe('1');
    expect(eventsOf(t, 'redundancy.paused').at(-1)!.data).toMatchObject({ ...answer.paused, origin: 'local' });

    const resumed = await t.client.resume();
    expect(resumed).toEqual({ paused: null, ended: true });
    expect((await t.client.status()).redundancy.paused).toBeNull();
    expect(t.daemon.engine.view().paused).toBe(false);
    expect(await metric(t, 'gwd_paused')).toBe('0');
    expect(eventsOf(t, 'redundancy.resumed').at(-1)!.data).toMatchObject({
      expired: false,
      reason: 'network work',
      until: answer.paused!.until,
      by: { uuid },
      resumedBy: { uuid },
      origin: 'local',
    });
    // Idempotent: nothing to resume, no second event.
    expect(await t.client.resume()).toEqual({ paused: null, ended: false });
    expect(eventsOf(t, 'redundancy.resumed')).toHaveLength(1);
  });

  it('defaults to 60 minutes; forMs 0 is until resumed; a second pause keeps since and takes the new end and reason', async () => {
    const t = await daemon();
    const first = (await t.client.pause({})).paused!;
    expect(Date.parse(first.until!) - Date.parse(first.since)).toBe(60 * 60 * 1000);
    expect(first.reason).toBeNull();
    const second = (await t.client.pause({ forMs: 0, reason: 'replacing plant-b' })).paused!;
    expect(second).toMatchObject({ since: first.since, until: null, reason: 'replacing plant-b' });
    expect((await t.client.status()).redundancy.paused).toEqual(second);
  });

  it('survives a restart (the machine is paused before its join wait can end) and ends when resumed after it', async () => {
    const dir = keptDir();
    let t = await daemon(dir);
    await t.client.configureRedundancy({ role: 'Backup', joinWaitTime: 0, master: { host: '127.0.0.1', port: 1, enableSsl: false } });
    const paused = (await t.client.pause({ forMs: 0, reason: 'maintenance' })).paused!;
    expect(JSON.parse(readFileSync(path.join(dir, 'var', PAUSE_FILE), 'utf8'))).toMatchObject({ version: 1, endReported: false, record: { paused: true } });

    t = await restart(t);
    const status = await t.client.status();
    expect(status.redundancy.paused).toEqual(paused);
    expect(t.daemon.engine.view().paused).toBe(true);
    expect(status.redundancy.hold).toBe('paused');
    expect(status.redundancy.activity).not.toBe('Active');

    await t.client.resume();
    t = await restart(t);
    expect((await t.client.status()).redundancy.paused).toBeNull();
    expect(t.daemon.engine.view().paused).toBe(false);
  });

  it('a short pause expires by itself: redundancy.resumed with expired true, and the file says the end was reported', async () => {
    const dir = keptDir();
    const t = await daemon(dir);
    await t.client.pause({ forMs: 300, reason: 'short' });
    expect(t.daemon.engine.view().paused).toBe(true);
    const ended = await waitFor('the pause to expire', async () => eventsOf(t, 'redundancy.resumed')[0], 5000, 20);
    expect(ended.data).toMatchObject({ expired: true, resumedBy: null, reason: 'short', origin: 'expiry' });
    expect((await t.client.status()).redundancy.paused).toBeNull();
    await waitFor('the machine to be told', async () => (t.daemon.engine.view().paused ? undefined : true), 2000, 10);
    await waitFor('the file to record the end', async () => {
      const file = JSON.parse(readFileSync(path.join(dir, 'var', PAUSE_FILE), 'utf8')) as { endReported: boolean };
      return file.endReported ? true : undefined;
    }, 2000, 10);
  });

  it('a pause that ran out while gwd was down is reported once, at the next start, and not again', async () => {
    const dir = keptDir();
    let t = await daemon(dir);
    await t.client.pause({ forMs: 400 });
    started.splice(started.indexOf(t), 1);
    await t.daemon.stop('test');
    await new Promise((r) => setTimeout(r, 600));
    t = await daemon(dir);
    const atStart = t.daemon.events.since(0).filter((e) => e.type === 'redundancy.resumed' && e.data.origin === 'startup');
    expect(atStart).toHaveLength(1);
    expect(atStart[0]!.data).toMatchObject({ expired: true });
    expect(t.daemon.engine.view().paused).toBe(false);
    expect((await t.client.status()).redundancy.paused).toBeNull();
    // Wait for the end to be written, then restart: nothing more to report.
    await waitFor('the file to record the end', async () => {
      const file = JSON.parse(readFileSync(path.join(dir, 'var', PAUSE_FILE), 'utf8')) as { endReported: boolean };
      return file.endReported ? true : undefined;
    }, 2000, 10);
    const last = t.daemon.events.lastSeq;
    t = await restart(t);
    expect(t.daemon.events.since(last).filter((e) => e.type === 'redundancy.resumed')).toHaveLength(0);
  });

  it('a damaged pause file is reported (log and event) and ignored: the node starts unpaused, and a pause keeps the damaged file aside', async () => {
    const dir = keptDir();
    let t = await daemon(dir);
    t = await restart(t); // var/ exists
    started.splice(started.indexOf(t), 1);
    await t.daemon.stop('test');
    const file = path.join(dir, 'var', PAUSE_FILE);
    for (const damage of ['{"version": 1, "record": {"paused": tru', JSON.stringify({ version: 1, record: { paused: 'yes' }, endReported: false })]) {
      writeFileSync(file, damage);
      t = await daemon(dir);
      expect((await t.client.status()).redundancy.paused).toBeNull();
      expect(t.daemon.engine.view().paused).toBe(false);
      const ignored = t.daemon.events.since(0).filter((e) => e.type === 'redundancy.pause.ignored').at(-1)!;
      expect(ignored.data).toMatchObject({ file });
      expect(t.logs.join('')).toContain('pause file ignored');
      started.splice(started.indexOf(t), 1);
      await t.daemon.stop('test');
    }
    t = await daemon(dir);
    await t.client.pause({ forMs: 0 });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ record: { paused: true, until: null } });
    // The damaged file is kept aside for a person to read, never overwritten.
    const aside = readdirSync(path.join(dir, 'var')).filter((f) => f.startsWith(`${PAUSE_FILE}.damaged-`));
    expect(aside).toHaveLength(1);
    expect(readFileSync(path.join(dir, 'var', aside[0]!), 'utf8')).toContain('"yes"');
  });

  it('bad bodies are refused with a coded 400 naming the field, and change nothing', async () => {
    const t = await daemon();
    for (const [body, field] of [
      [{ forMs: -1 }, '/forMs'],
      [{ forMs: 1.5 }, '/forMs'],
      [{ forMs: '10m' }, '/forMs'],
      [{ forMs: 31 * 24 * 3600 * 1000 }, '/forMs'],
      [{ reason: 'x'.repeat(201) }, '/reason'],
      [{ reason: 7 }, '/reason'],
      [{ for: 1000 }, 'for'],
    ] as const) {
      const err = await invalidBody(t, body);
      expect(err.code).toBe('GW_ERR_API_INVALID_BODY');
      expect(err.statusCode).toBe(400);
      expect(err.message).toContain(field);
    }
    expect((await t.client.status()).redundancy.paused).toBeNull();
    expect(existsSync(path.join(t.dataDir, 'var', PAUSE_FILE))).toBe(false);
    expect(eventsOf(t, 'redundancy.paused')).toHaveLength(0);
  });

  it('an operator failover still answers while paused (refused here only because there is no peer)', async () => {
    const t = await daemon();
    await t.client.configureRedundancy({ role: 'Master', joinWaitTime: 0 });
    await t.client.pause({ forMs: 0 });
    const err = await t.client.failover(false).then(() => null, (e: unknown) => e as GwError);
    expect(err?.code).toBe('GW_ERR_REDUNDANCY_NO_PEER');
  });
});

describe('the pause between two daemons in this process (plain link)', () => {
  it('a pause on the master holds the backup too (message pause.record); a resume on the backup ends it on both', async () => {
    const master = await daemon(undefined, 'm');
    const backup = await daemon(undefined, 'b');
    await master.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
    await master.client.configureRedundancy({ role: 'Master', joinWaitTime: 500, failoverTimeout: 1000, master: { pingRate: 200, reconnectPeriod: 100 } });
    await backup.client.configureRedundancy({
      role: 'Backup',
      joinWaitTime: 500,
      failoverTimeout: 1000,
      master: { host: '127.0.0.1', port: master.daemon.gan.listenerViews().plain.port!, enableSsl: false, pingRate: 200, reconnectPeriod: 100 },
    });
    await waitFor('the link', async () => (backup.daemon.engine.view().peer?.connected ? true : undefined), 10_000, 20);
    const paused = (await master.client.pause({ forMs: 0, reason: 'cabling' })).paused!;
    const seen = await waitFor('the backup paused', async () => (await backup.client.status()).redundancy.paused ?? undefined, 5000, 20);
    expect(seen).toEqual(paused);
    // The engine takes the pause through its input queue, after status shows the record: in order
    // with every other input, so nothing it decides later misses it; wait for it here.
    await waitFor('the backup engine paused', async () => (backup.daemon.engine.view().paused ? true : undefined), 5000, 20);
    expect(eventsOf(backup, 'redundancy.paused').at(-1)!.data).toMatchObject({ origin: 'peer', by: { uuid: master.daemon.identity.node.uuid } });

    expect((await backup.client.resume()).ended).toBe(true);
    await waitFor('the master resumed', async () => ((await master.client.status()).redundancy.paused === null ? true : undefined), 5000, 20);
    await waitFor('the master engine resumed', async () => (master.daemon.engine.view().paused ? undefined : true), 5000, 20);
    expect(eventsOf(master, 'redundancy.resumed').at(-1)!.data).toMatchObject({
      expired: false,
      origin: 'peer',
      resumedBy: { uuid: backup.daemon.identity.node.uuid },
    });
  });
});

describe('the pause record (pure) and the --for flag', () => {
  const a = { uuid: '00000000-0000-4000-8000-00000000000a', name: 'a' };
  const b = { uuid: '00000000-0000-4000-8000-00000000000b', name: 'b' };

  it('the later decision wins whichever order the records meet in; equal times fall to the higher node id', () => {
    const pause = makePause(null, { nowMs: 1000, forMs: 0, reason: null, by: a });
    const resume = makeResume(pause, { nowMs: 2000, by: b });
    expect(newerPauseRecord(pause, resume)).toBe(resume);
    expect(newerPauseRecord(resume, pause)).toBe(resume);
    const pa = makePause(null, { nowMs: 5000, forMs: 0, reason: 'a', by: a });
    const pb = makePause(null, { nowMs: 5000, forMs: 0, reason: 'b', by: b });
    expect(newerPauseRecord(pa, pb)).toBe(pb);
    expect(newerPauseRecord(pb, pa)).toBe(pb);
    expect(newerPauseRecord(null, pa)).toBe(pa);
    // A decision on one node in the same millisecond still comes after the one it replaces.
    const quick = makeResume(pa, { nowMs: 5000, by: a });
    expect(quick.changedAt).toBe(5001);
    expect(newerPauseRecord(pa, quick)).toBe(quick);
  });

  it('expiry is not a decision: an expired pause is out of force but keeps its place in the order', () => {
    const p = makePause(null, { nowMs: 1000, forMs: 500, reason: null, by: a });
    expect(pauseInForce(p, 1499)).toBe(true);
    expect(pauseInForce(p, 1500)).toBe(false);
    const later = makePause(null, { nowMs: 1200, forMs: 0, reason: null, by: b });
    expect(newerPauseRecord(p, later)).toBe(later);
  });

  it('--for takes 500ms, 10s, 2m, 1h or a bare number of minutes; 0 is until resumed; nonsense is refused', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('90')).toBe(90 * 60_000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('10S')).toBe(10_000);
    for (const bad of ['', '-1', '1d', 'ten', '10 minutes', '31d', String(30 * 24 * 60 + 1)]) expect(() => parseDuration(bad), bad).toThrow(/duration/);
  });
});
