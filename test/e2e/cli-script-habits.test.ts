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

  it("a value the daemon refuses is named by its flag and exits 2, like one gwctl refuses itself (was: the API field, exit 1)", async () => {
    const ports = await node.ctl('network', 'configure', '--port', '9000', '--ssl-port', '9000');
    expect(ports.code).toBe(2);
    expect(ports.stderr).toContain('GW_ERR_GAN_SETTINGS_INVALID: --ssl-port must differ from port (9000)');
    const backup = await node.ctl('redundancy', 'configure', '--mode', 'backup');
    expect(backup.code).toBe(2);
    expect(backup.stderr).toContain('GW_ERR_REDUNDANCY_INVALID_SETTINGS: --master-address is required for a Backup');
    expect(backup.stderr).not.toContain('/master/host');
    // Nothing was changed by either refusal.
    expect((await node.json<{ settings: { role: string } }>('redundancy', 'show')).settings.role).toBe('Independent');
    expect((await node.json<{ settings: { port: number } }>('network', 'show')).settings.port).not.toBe(9000);
    // Under --json the daemon's body, each problem with its flag; the code is still the daemon's.
    const json = await node.ctl('--json', 'redundancy', 'configure', '--mode', 'backup');
    expect(json.code).toBe(2);
    const body = JSON.parse(json.stderr) as { code: string; details: { problems: { pointer: string; flag: string | null }[] } };
    expect(body.code).toBe('GW_ERR_REDUNDANCY_INVALID_SETTINGS');
    expect(body.details.problems).toEqual([expect.objectContaining({ pointer: '/master/host', flag: '--master-address' })]);
  });

  it('under --json every error on stderr is one error body, usage errors included', async () => {
    const cases: [string[], string][] = [
      [['--json', 'bogus'], "unknown command 'bogus'"],
      [['--json'], 'a command is required'],
      [['config', 'list', '--json', '--bogus'], "unknown option '--bogus'"],
      [['--json', 'redundancy', 'configure', '--failover-timeout', '5'], '--failover-timeout'],
      [['--json', 'wait', '--activity', 'asleep', '--timeout', '1'], 'Allowed choices are'],
    ];
    for (const [args, says] of cases) {
      const r = await node.ctl(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      const body = JSON.parse(lines[0]!) as { statusCode: number; code: string; error: string; message: string };
      expect(body).toMatchObject({ statusCode: 400, code: 'GW_ERR_CLI_USAGE', error: 'Bad Request' });
      expect(body.message).toContain(says);
    }
    // Without --json the same errors stay text with the usage hint.
    const text = await node.ctl('bogus');
    expect(text.stderr).toContain("gwctl: error: unknown command 'bogus'");
    expect(text.stderr).toContain('(run with --help for usage)');
  });
});
