/**
 * gwctl as scripts use it (issue 16, part): values read from one command's output passed back to
 * another (choices are case-insensitive), a bare `gwctl` is a usage error, and `events --limit`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { EventRecord } from '../../src/core/wire.js';
import { dumpLogsOnFailure, startGwd, type GwdProcess } from '../helpers/gwd-process.js';

let node: GwdProcess;

beforeAll(async () => {
  node = await startGwd({ systemName: 'habits' });
});
afterEach((ctx) => dumpLogsOnFailure(ctx.task.result?.state, [node]));
afterAll(async () => {
  await node?.stop();
});

describe('gwctl for scripts', () => {
  it('a bare gwctl prints its help on stderr and exits 2 (was: 0, as if something had run)', async () => {
    const r = await node.ctl();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: gwctl');
    expect((await node.ctl('--help')).code).toBe(0);
  });

  it('choices are case-insensitive: the activity status prints can be passed back to wait', async () => {
    const activity = (await node.json<{ redundancy: { activity: string } }>('status')).redundancy.activity;
    expect(activity).toBe('Active');
    const r = await node.ctl('wait', '--activity', activity, '--timeout', '5');
    expect(r.code, r.stderr).toBe(0);
    const bad = await node.ctl('wait', '--activity', 'Asleep', '--timeout', '1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Allowed choices are active, standby, cold, warm');
    const set = await node.ctl('redundancy', 'configure', '--standby', 'WARM');
    expect(set.code, set.stderr).toBe(0);
    expect((await node.json<{ settings: { standbyActivityLevel: string } }>('redundancy', 'show')).settings.standbyActivityLevel).toBe('Warm');
  });

  it('events --limit N gives at most N events, oldest first, counted after the --type filter', async () => {
    const all = (await node.ctl('--json', 'events')).stdout.trim().split('\n').map((l) => JSON.parse(l) as EventRecord);
    expect(all.length).toBeGreaterThan(3);
    const two = (await node.ctl('--json', 'events', '--limit', '2')).stdout.trim().split('\n').map((l) => JSON.parse(l) as EventRecord);
    expect(two.map((e) => e.seq)).toEqual(all.slice(0, 2).map((e) => e.seq));
    const settings = all.filter((e) => e.type.startsWith('redundancy.'));
    expect(settings.length).toBeGreaterThan(0);
    const typed = (await node.ctl('--json', 'events', '--type', 'redundancy', '--limit', '1')).stdout.trim().split('\n');
    expect(typed.map((l) => (JSON.parse(l) as EventRecord).seq)).toEqual([settings[0]!.seq]);
    const refused = await node.ctl('events', '--limit', '0');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--limit');
  });

  it('wait refuses at once a condition the role rules out (was: waited out its whole timeout)', async () => {
    const started = Date.now();
    const r = await node.ctl('wait', '--synced', '--timeout', '30');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('GW_ERR_CLI_WAIT_IMPOSSIBLE');
    expect(r.stderr).toContain('Independent');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await node.ctl('wait', '--activity', 'standby', '--timeout', '30')).stderr).toContain('always Active');
  });

  it('--socket given the data directory says so and names the socket inside (was: "nothing is listening")', async () => {
    const r = await node.ctl('--socket', node.dataDir, 'status');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`that is a directory; its socket is ${node.socket}`);
  });
});
