import { activeIntervals, ctl, events, json, lastSeq, makePair, overlapMs } from '../lib/pair.mjs';
import { summarize } from '../lib/stats.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Figures 2 to 5: takeover after kill -9 (default settings), overshoot after a silent master
 * (failoverTimeout 1000 ms), a requested failover, and a master restart under Automatic recovery.
 * Times come from the daemons' own event timestamps (one machine, one clock).
 */
export async function failoverFigures({ runs }) {
  const results = [];

  // 2. kill -9 with default settings (plain link, no approvals; join wait and timeouts as shipped).
  {
    const pair = await makePair([]);
    const takeovers = [];
    const gaps = [];
    const overlaps = [];
    try {
      for (let i = 0; i < runs; i++) {
        const since = lastSeq(pair.backup.socket);
        const killedAt = Date.now();
        await pair.master.kill('SIGKILL');
        ctl(pair.backup.socket, 'wait', '--activity', 'active', '--timeout', '30');
        const ev = events(pair.backup.socket, 'activity', since).find((e) => e.data.to === 'Active');
        takeovers.push(Date.parse(ev.time) - killedAt);
        // 5. restart under Automatic recovery: control goes back, never both Active.
        const mSince = lastSeq(pair.backup.socket);
        pair.master.start();
        ctl(pair.master.socket, 'wait', '--activity', 'active', '--timeout', '60');
        ctl(pair.backup.socket, 'wait', '--activity', 'standby', '--timeout', '30');
        const now = Date.now();
        const mEv = events(pair.master.socket, 'activity').filter((e) => Date.parse(e.time) > killedAt);
        const bEv = events(pair.backup.socket, 'activity', since);
        overlaps.push(overlapMs(activeIntervals(mEv, now), activeIntervals(bEv, now)));
        const standDown = events(pair.backup.socket, 'activity', mSince).find((e) => e.data.to !== 'Active');
        const masterActive = mEv.find((e) => e.data.to === 'Active');
        gaps.push(Math.max(0, Date.parse(masterActive.time) - Date.parse(standDown.time)));
      }
    } finally {
      await pair.close();
    }
    results.push({
      id: 'kill-takeover',
      name: 'kill -9 of the master: backup Active (default settings)',
      unit: 'ms',
      stats: summarize(takeovers),
      baseline: { name: 'VRRP default detection (3.5 s)', stats: summarize([3500]) },
      ratio: summarize(takeovers).p99 / 3500,
      target: 'p99 <= 1000 ms',
      met: summarize(takeovers).p99 <= 1000,
    });
    results.push({
      id: 'restart-overlap',
      name: 'master restart, Automatic recovery: both Active',
      unit: 'ms',
      stats: summarize(overlaps),
      target: 'max = 0',
      met: summarize(overlaps).max === 0,
    });
    results.push({
      id: 'restart-gap',
      name: 'master restart, Automatic recovery: neither Active (gap)',
      unit: 'ms',
      stats: summarize(gaps),
      target: 'reported',
      met: true,
    });
  }

  // 3. silent master (SIGSTOP) with failoverTimeout 1000 ms: overshoot past the timeout.
  {
    const pair = await makePair(['--failover-timeout', '1000', '--ping-rate', '100', '--join-wait', '1000']);
    const overshoot = [];
    try {
      for (let i = 0; i < runs; i++) {
        const since = lastSeq(pair.backup.socket);
        process.kill(pair.master.pid, 'SIGSTOP');
        ctl(pair.backup.socket, 'wait', '--activity', 'active', '--timeout', '30');
        const ev = events(pair.backup.socket, 'activity', since).find((e) => e.data.to === 'Active');
        overshoot.push(ev.data.silenceMs - 1000);
        process.kill(pair.master.pid, 'SIGCONT');
        ctl(pair.master.socket, 'wait', '--activity', 'active', '--peer-connected', '--timeout', '30');
        ctl(pair.backup.socket, 'wait', '--activity', 'standby', '--timeout', '30');
        await sleep(200);
      }
    } finally {
      await pair.close();
    }
    results.push({
      id: 'silence-overshoot',
      name: 'silent master (SIGSTOP), failoverTimeout 1000 ms: takeover past the timeout',
      unit: 'ms',
      stats: summarize(overshoot),
      target: 'p99 <= 100 ms',
      met: summarize(overshoot).p99 <= 100,
    });
  }

  // 4. requested failover, alternating sides: peer Active after the request, and overlap.
  {
    const pair = await makePair(['--recovery', 'manual']);
    const handover = [];
    const overlaps = [];
    try {
      for (let i = 0; i < runs; i++) {
        const from = json(pair.master.socket, 'status').redundancy.activity === 'Active' ? pair.master : pair.backup;
        const to = from === pair.master ? pair.backup : pair.master;
        const fromSince = lastSeq(from.socket);
        const toSince = lastSeq(to.socket);
        ctl(from.socket, 'redundancy', 'failover', '--wait', '--timeout', '30');
        ctl(to.socket, 'wait', '--activity', 'active', '--timeout', '30');
        const requested = events(from.socket, 'failover', fromSince).find((e) => e.type === 'failover.requested');
        const toEv = events(to.socket, 'activity', toSince);
        const active = toEv.find((e) => e.data.to === 'Active');
        handover.push(Date.parse(active.time) - Date.parse(requested.time));
        const now = Date.now();
        const fromEv = events(from.socket, 'activity', fromSince);
        // from was Active up to its stand-down; to from its activation on.
        overlaps.push(overlapMs(activeIntervals([{ time: requested.time, data: { to: 'Active' } }, ...fromEv], now), activeIntervals(toEv, now)));
      }
    } finally {
      await pair.close();
    }
    results.push({
      id: 'failover-handover',
      name: '`gwctl redundancy failover`: peer Active after the request',
      unit: 'ms',
      stats: summarize(handover),
      target: 'p99 <= 50 ms',
      met: summarize(handover).p99 <= 50,
    });
    results.push({
      id: 'failover-overlap',
      name: '`gwctl redundancy failover`: both Active',
      unit: 'ms',
      stats: summarize(overlaps),
      target: 'max = 0',
      met: summarize(overlaps).max === 0,
    });
  }
  return results;
}
