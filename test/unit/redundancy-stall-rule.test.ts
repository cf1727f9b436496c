/**
 * The stall rule (stall.ts mayHaveJudgedUsSilent), on one machine and a fake clock: after a stall an
 * Active node stands down only if its peer may have taken over, or may before the frame sent at the
 * thaw reaches it, judged from the send time of our latest frame the peer is known to have received
 * (a ping it answered), not from the worst case `ms + pingRate`. The tuned timings of the
 * false-takeover figure (bench/figures/host-loss.mjs): pingRate 100 ms, failoverTimeout 300 ms.
 * Its last full run (2026-12-04) had both processes stalled ~210 ms at the same moment: the master
 * stood down (213 + 100 >= 300) and came back 60 ms later, two activity changes on a healthy pair.
 */
import { describe, expect, it } from 'vitest';

import { stallSlack } from '../../src/core/redundancy/stall.js';
import type { MachineSettings } from '../../src/core/redundancy/index.js';
import { settings } from '../helpers/redundancy-fixtures.js';
import { Solo } from '../helpers/redundancy-solo.js';

const FT = 300;
const PING = 100;
const TUNED: Partial<MachineSettings> = {
  role: 'Master',
  failoverTimeout: FT,
  joinWaitTime: 0,
  master: { ...settings().master, pingRate: PING },
};

/** Our ping goes out now and its pong comes back `rtt` later (the link reports its send time). */
function pingAnswered(m: Solo, rtt = 1): number {
  const sentAt = m.now;
  m.advance(rtt);
  m.feed({ type: 'peerAlive' });
  m.feed({ type: 'peerAck', sentAt });
  return sentAt;
}

/** A master Active beside its standing-by backup, pinging every 100 ms, all answered. */
function activeMaster(): Solo {
  const m = new Solo(TUNED, null, 'm');
  m.feed({ type: 'started' });
  m.connect({ role: 'Backup', activity: 'Cold', epoch: 0, failoverTimeout: FT }, 'b');
  m.msg({ type: 'redundancy.standDownConfirm', id: m.sentOf('redundancy.standDownRequest').at(-1)!.id, epoch: 0, activity: 'Cold' });
  for (let i = 0; i < 10; i++) {
    pingAnswered(m);
    m.advance(PING - 1);
  }
  expect(m.changes()).toEqual(['Cold->Active:peer-standby']);
  return m;
}

/** The process does not run for `ms`: its next input (a timer long overdue) comes that much later. */
function stall(m: Solo, ms: number): void {
  m.now += ms;
  m.feed({ type: 'tick' });
}

describe('stall rule: judged from the last ping the peer answered', () => {
  it('a 213 ms stall just after an answered ping keeps the master Active (was: stood down, 213 + pingRate >= failoverTimeout)', () => {
    const m = activeMaster();
    const sentAt = pingAnswered(m);
    const from = m.decisions.length;
    stall(m, 213);
    // The backup last heard us no earlier than 214 ms ago; the stateQuery sent now reaches it well
    // within its 300 ms, with stallSlack (50 ms) to spare for our lateness and the link's.
    expect(m.now - sentAt + stallSlack(m.m.state)).toBeLessThan(FT);
    expect(m.events('process.stalled')).toEqual([{ ms: 213, activity: 'Active', sinceAckedMs: 214 }]);
    expect(m.changes()).toEqual(['Cold->Active:peer-standby']);
    expect(m.sent(from).map((x) => x.type)).toContain('redundancy.stateQuery');
    // The pair goes on: the backup answers, pings are answered again.
    const q = m.sentOf('redundancy.stateQuery').at(-1)!;
    m.msg({ type: 'redundancy.state', role: 'Backup', activity: 'Cold', epoch: 1, recoveryMode: 'Automatic', reason: 'requested', failoverIds: [], failoverTimeout: FT, replyTo: q.id });
    for (let i = 0; i < 5; i++) {
      pingAnswered(m);
      m.advance(PING - 1);
    }
    expect(m.changes()).toEqual(['Cold->Active:peer-standby']);
  });

  it('the same stall when the answered ping went out 40 ms before it stands down (reason frozen): 253 + stallSlack reaches 300', () => {
    const m = activeMaster();
    const sentAt = pingAnswered(m);
    m.advance(39);
    m.feed({ type: 'peerAlive' }); // the backup's own ping: hearing it proves nothing about us
    stall(m, 213);
    expect(m.now - sentAt).toBe(253);
    expect(m.changes()).toEqual(['Cold->Active:peer-standby', 'Active->Cold:frozen']);
  });

  it('a pong delayed by load leaves less room: a 150 ms stall 110 ms after the last answered ping stands down (was: kept Active on the assumption that a ping sent since had arrived)', () => {
    const m = activeMaster();
    const sentAt = pingAnswered(m);
    // The next ping went out at +100; its pong has not come back when the process stalls.
    m.advance(109);
    m.feed({ type: 'peerAlive' });
    stall(m, 150);
    expect(m.now - sentAt).toBe(260);
    expect(m.events('process.stalled')).toEqual([{ ms: 150, activity: 'Active', sinceAckedMs: 260 }]);
    expect(m.changes()).toEqual(['Cold->Active:peer-standby', 'Active->Cold:frozen']);
  });

  it('the boundary: Active while the time since the answered ping plus stallSlack stays under the peer failoverTimeout', () => {
    const slack = stallSlack(activeMaster().m.state);
    expect(slack).toBe(50);
    for (const [since, down] of [
      [FT - slack - 1, false],
      [FT - slack, true],
    ] as const) {
      const m = activeMaster();
      const sentAt = pingAnswered(m);
      stall(m, sentAt + since - m.now);
      expect(m.events('process.stalled')).toHaveLength(1);
      expect(m.activity, `${since} ms since the answered ping`).toBe(down ? 'Cold' : 'Active');
    }
  });

  it("the peer's own failoverTimeout counts (from its report), not ours", () => {
    const m = new Solo({ ...TUNED, failoverTimeout: 1000 }, null, 'm');
    m.feed({ type: 'started' });
    m.connect({ role: 'Backup', activity: 'Cold', epoch: 0, failoverTimeout: FT }, 'b');
    m.msg({ type: 'redundancy.standDownConfirm', id: m.sentOf('redundancy.standDownRequest').at(-1)!.id, epoch: 0, activity: 'Cold' });
    pingAnswered(m);
    stall(m, 260);
    expect(m.changes()).toEqual(['Cold->Active:peer-standby', 'Active->Cold:frozen']);
  });

  it('with no ping answered for about a failoverTimeout, the stall is judged by its length as before (ms + pingRate)', () => {
    for (const [ms, down] of [
      [190, false],
      [200, true],
    ] as const) {
      const m = activeMaster();
      // The backup's pings keep coming; ours go unanswered for 300 ms.
      for (let i = 0; i < 3; i++) {
        m.advance(PING);
        m.feed({ type: 'peerAlive' });
      }
      stall(m, ms);
      expect(m.events('process.stalled')).toHaveLength(1);
      expect(m.activity, `stalled ${ms} ms`).toBe(down ? 'Cold' : 'Active');
    }
  });
});

describe('stall rule: a stand-down request awaiting its confirm', () => {
  /** A master that met its Active backup (Automatic recovery) and asked it to stand down. */
  function askingMaster(): Solo {
    const m = new Solo(TUNED, null, 'm');
    m.feed({ type: 'started' });
    m.connect({ role: 'Backup', activity: 'Active', epoch: 1, failoverTimeout: FT }, 'b');
    expect(m.sentOf('redundancy.standDownRequest')).toHaveLength(1);
    return m;
  }

  /** The process stalls for `ms`; the first thing it reads after it is the peer's confirm (frames first). */
  function stallThenConfirm(m: Solo, ms: number): void {
    m.now += ms;
    m.msg({ type: 'redundancy.standDownConfirm', id: m.sentOf('redundancy.standDownRequest')[0]!.id, epoch: 1, activity: 'Cold' });
  }

  it('a 213 ms stall just after an answered ping keeps the request: the confirm read first after it activates the master (was: voided, both standing by)', () => {
    const m = askingMaster();
    pingAnswered(m);
    stallThenConfirm(m, 213);
    expect(m.events('process.stalled')).toHaveLength(1);
    expect(m.sentOf('redundancy.standDownCancel')).toEqual([]);
    expect(m.changes()).toEqual(['Cold->Active:recovery-automatic']);
  });

  it('a stall that reaches the peer failoverTimeout (with stallSlack) voids it: cancelled, and the confirm counts for nothing', () => {
    const m = askingMaster();
    const sentAt = pingAnswered(m);
    m.advance(39);
    m.feed({ type: 'peerAlive' });
    stallThenConfirm(m, 213);
    expect(m.now - sentAt + stallSlack(m.m.state)).toBeGreaterThanOrEqual(FT);
    expect(m.sentOf('redundancy.standDownCancel')).toHaveLength(1);
    expect(m.changes()).toEqual([]);
  });
});
