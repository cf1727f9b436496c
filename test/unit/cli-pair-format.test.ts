/**
 * The pair as `gwctl status` shows it, on a fixed clock: who is Active and why ("3 min ago"), both
 * nodes side by side, the one-line form of `status --watch`, and `redundancy history`'s rows. The
 * real processes are in test/e2e/status-pair.test.ts.
 */
import { describe, expect, it } from 'vitest';

import { formatHistory, historyDetail, historyOf } from '../../src/cli/commands/redundancy-history.js';
import { relevantEvent } from '../../src/cli/commands/status-watch.js';
import { formatStatus } from '../../src/cli/commands/status.js';
import { CommandContext } from '../../src/cli/context.js';
import { activeLine, ago, pairSummary, pairTable, uptime, watchLine } from '../../src/cli/format-pair.js';
import { NO_COLORS } from '../../src/cli/io.js';
import type { EventRecord, StatusResponse } from '../../src/core/wire.js';

// Local times, so HH:MM:SS reads the same in any time zone the tests run in.
const NOW = new Date(2026, 11, 4, 12, 6, 7);
const at = (h: number, m: number, s: number): string => new Date(2026, 11, 4, h, m, s).toISOString();

const SELF = '3f76a1b2-9b1e-4d2a-8c3f-0123456789ab';
const PEER = '9c1d22e0-1111-4222-8333-444444444444';

/** The backup after a kill -9 of its master: Active since 12:03:07 (master-gone), the master not connected. */
function backupAfterTakeover(): StatusResponse {
  return {
    node: { uuid: SELF, systemName: 'plant-a', label: 'plant-b', edition: 'standard', version: '0.1.0', certFingerprint: 'ab'.repeat(32), createdAt: at(9, 0, 0) },
    redundancy: {
      role: 'Backup',
      activity: 'Active',
      epoch: 7,
      since: at(12, 3, 7),
      reason: 'master-gone',
      peer: {
        connected: false,
        uuid: PEER,
        systemName: 'plant-a',
        label: 'plant-a',
        address: '10.0.0.5:8060',
        activity: null,
        role: 'Master',
        epoch: 6,
        reason: 'recovery-automatic',
        syncRevision: 12,
        lastHeardAt: at(12, 3, 6),
        link: 'Connecting',
      },
      sync: { state: 'OutOfDate', revision: 10, peerRevision: 12 },
      paused: null,
      hold: null,
      witness: null,
    },
    daemon: { pid: 4242, startedAt: at(9, 0, 0), uptimeSecs: 3 * 3600 + 6 * 60, ready: true, dataDir: '/var/lib/gwd', socket: '/var/lib/gwd/gwd.sock', eventSeq: 88 },
    config: { revision: 10, invalid: [] },
    listeners: {
      enabled: true,
      plain: { address: '0.0.0.0', port: 8088, listening: true, error: null },
      ssl: { address: '0.0.0.0', port: 8060, listening: true, error: null },
    },
  };
}

/** The master beside it, connected, standing by under Manual recovery. */
function masterStandingBy(): StatusResponse {
  const s = backupAfterTakeover();
  return {
    ...s,
    node: { ...s.node, uuid: PEER, label: 'plant-a' },
    redundancy: {
      ...s.redundancy,
      role: 'Master',
      activity: 'Cold',
      epoch: 7,
      since: at(12, 5, 7),
      reason: null,
      peer: { ...s.redundancy.peer!, connected: true, uuid: SELF, label: 'plant-b', activity: 'Active', role: 'Backup', epoch: 7, reason: 'master-gone', syncRevision: 10, lastHeardAt: at(12, 6, 6), link: 'Running', address: '10.0.0.6:40312' },
      sync: { state: 'Syncing', revision: 12, peerRevision: 10 },
    },
  };
}

const ctx = new CommandContext({ stdout: { write: () => true }, stderr: { write: () => true }, env: {}, cwd: '/' }, '/s', false, NO_COLORS);

describe('gwctl status: the pair', () => {
  it('says how long ago, and how long up', () => {
    expect(ago(new Date(NOW.getTime() - 180_000), NOW)).toBe('3 min ago');
    expect(ago(new Date(NOW.getTime() - 400), NOW)).toBe('just now');
    expect(ago(new Date(NOW.getTime() - 42_000), NOW)).toBe('42 s ago');
    expect(ago(new Date(NOW.getTime() - 7_300_000), NOW)).toBe('2 h ago');
    expect(ago(new Date(NOW.getTime() - 86_400_000), NOW)).toBe('1 day ago');
    expect(uptime(59)).toBe('59 s');
    expect(uptime(3 * 3600 + 6 * 60)).toBe('3 h 6 min');
    expect(uptime(2 * 86_400 + 3600)).toBe('2 days 1 h');
  });

  it('who is Active and why: this node, the peer, or nobody', () => {
    expect(activeLine(backupAfterTakeover(), NOW)).toBe('plant-b (this node) since 12:03:07 (3 min ago): master-gone');
    expect(activeLine(masterStandingBy(), NOW)).toBe('plant-b (the peer, epoch 7): master-gone');
    const none = masterStandingBy();
    none.redundancy.peer = { ...none.redundancy.peer!, connected: false, activity: null };
    none.redundancy.hold = 'peer-left-active';
    expect(activeLine(none, NOW)).toBe('none known: this node is Cold since 12:05:07 (1 min ago): startup, the peer is not connected; this node holds back: peer-left-active');
  });

  it('one row per node, this node first, the peer as it last reported itself, the backup\'s lag', () => {
    expect(pairTable(backupAfterTakeover(), NO_COLORS, NOW)).toBe(
      [
        'NODE            ROLE    ACTIVITY  EPOCH  REVISION       LAST HEARD  LINK',
        'plant-b (here)  Backup  Active    7      10 (2 behind)  -           -',
        'plant-a         Master  -         6      12             3 min ago   Connecting',
        '',
      ].join('\n'),
    );
    expect(pairTable(masterStandingBy(), NO_COLORS, NOW)).toBe(
      [
        'NODE            ROLE    ACTIVITY  EPOCH  REVISION       LAST HEARD  LINK',
        'plant-a (here)  Master  Cold      7      12             -           -',
        'plant-b         Backup  Active    7      10 (2 behind)  1 s ago     Running',
        '',
      ].join('\n'),
    );
  });

  it('the pair rows never answer a grep meant for the details (`status | grep -E \'Role|Activity|Epoch\'`)', () => {
    const out = formatStatus(masterStandingBy(), ctx, NOW);
    const grep = out.split('\n').filter((l) => /Role|Activity|Epoch|Peer|Sync|System name|Witness|Paused|hold/.test(l));
    expect(grep.map((l) => l.split(/\s{2,}/)[0])).toEqual(['System name', 'Role', 'Activity', 'Epoch', 'Peer', 'Paused', 'Standby hold', 'Witness', 'Sync']);
  });

  it('the whole view: the pair first, then this node\'s one-key lines, pid and uptime', () => {
    const out = formatStatus(backupAfterTakeover(), ctx, NOW);
    expect(out.startsWith('Active  plant-b (this node) since 12:03:07 (3 min ago): master-gone\n\nNODE ')).toBe(true);
    expect(out).toMatch(/^Activity\s+Active$/m);
    expect(out).toMatch(/^Since\s+12:03:07 \(3 min ago\): master-gone$/m);
    expect(out).toMatch(/^Process\s+pid 4242, up 3 h 6 min$/m);
    for (const line of out.split(/^System name/m)[0]!.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    // An Independent node has no pair: its details only.
    const alone = backupAfterTakeover();
    alone.redundancy = { ...alone.redundancy, role: 'Independent', reason: 'independent', peer: null };
    expect(formatStatus(alone, ctx, NOW).startsWith('System name')).toBe(true);
  });

  it('status --watch into a pipe: one stable line per state of the pair, no relative times', () => {
    const s = backupAfterTakeover();
    expect(watchLine(s, new Date('2026-12-04T12:03:07.120Z'))).toBe(
      '2026-12-04T12:03:07.120Z  plant-b Backup Active epoch 7 (master-gone); peer plant-a Master not connected, link Connecting; sync OutOfDate 10/12\n',
    );
    // Later, nothing about the pair changed: the same summary (no line printed).
    const later = { ...s, daemon: { ...s.daemon, uptimeSecs: s.daemon.uptimeSecs + 60 } };
    expect(pairSummary(later)).toBe(pairSummary(s));
    expect(pairSummary(masterStandingBy())).toBe('plant-a Master Cold epoch 7 (startup); peer plant-b Backup Active epoch 7 (master-gone), link Running; sync Syncing 12/10');
    expect(relevantEvent({ type: 'activity.changed' })).toBe(true);
    expect(relevantEvent({ type: 'peer.lost' })).toBe(true);
    expect(relevantEvent({ type: 'config.changed' })).toBe(false);
  });
});

describe('gwctl redundancy history', () => {
  const ev = (seq: number, type: string, data: Record<string, unknown>, time = at(12, 3, 7)): EventRecord => ({ seq, time, type, data });
  const events = [
    ev(1, 'daemon.started', { pid: 4242, version: '0.1.0', uuid: SELF }),
    ev(2, 'config.changed', { revision: 3 }),
    ev(3, 'failover.requested', { id: '9c1d22e0-e6-a1b2c3-f4', origin: 'peer', force: false }),
    ev(4, 'activity.changed', { from: 'Cold', to: 'Active', reason: 'requested', epoch: 7 }),
    ev(5, 'failover.completed', { id: '9c1d22e0-e6-a1b2c3-f4', epoch: 7 }),
    ev(6, 'peer.lost', { how: 'gone', uuid: PEER }),
  ];

  it('keeps the pair\'s story, the newest N, newest last', () => {
    expect(historyOf(events, 20).map((e) => e.seq)).toEqual([1, 3, 4, 5, 6]);
    expect(historyOf(events, 2).map((e) => e.seq)).toEqual([5, 6]);
  });

  it('says each in a few words, the failover id included', () => {
    expect(historyDetail(events[2]!)).toBe('9c1d22e0-e6-a1b2c3-f4 asked on the peer');
    expect(historyDetail(events[3]!)).toBe('Cold -> Active: requested, epoch 7');
    expect(historyDetail(events[5]!)).toBe('gone (9c1d22e0)');
    expect(formatHistory(historyOf(events, 3), NOW)).toBe(
      [
        'TIME      EVENT               DETAIL',
        '12:03:07  activity.changed    Cold -> Active: requested, epoch 7',
        '12:03:07  failover.completed  9c1d22e0-e6-a1b2c3-f4 done, epoch 7',
        '12:03:07  peer.lost           gone (9c1d22e0)',
        '',
      ].join('\n'),
    );
  });
});
