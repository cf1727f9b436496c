/**
 * A pong read at a thaw (stall.ts, machine.ts handle): the peer answered a ping sent just before
 * the stall, and the answer waited in the socket. That the peer heard the ping is a fact about the
 * time it was sent, so the stall is judged from it, not from the ping before (a pingRate older).
 * The tuned timings of the false-takeover figure: pingRate 100 ms, failoverTimeout 300 ms.
 */
import { expect, it } from 'vitest';

import type { MachineSettings } from '../../src/core/redundancy/index.js';
import { stallSlack } from '../../src/core/redundancy/stall.js';
import { settings } from '../helpers/redundancy-fixtures.js';
import { Solo } from '../helpers/redundancy-solo.js';

const FT = 300;
const PING = 100;
const TUNED: Partial<MachineSettings> = { role: 'Master', failoverTimeout: FT, joinWaitTime: 0, master: { ...settings().master, pingRate: PING } };

function activeMaster(): Solo {
  const m = new Solo(TUNED, null, 'm');
  m.feed({ type: 'started' });
  m.connect({ role: 'Backup', activity: 'Cold', epoch: 0, failoverTimeout: FT }, 'b');
  m.msg({ type: 'redundancy.standDownConfirm', id: m.sentOf('redundancy.standDownRequest').at(-1)!.id, epoch: 0, activity: 'Cold' });
  for (let i = 0; i < 10; i++) {
    const sentAt = m.now;
    m.advance(1);
    m.feed({ type: 'peerAck', sentAt });
    m.feed({ type: 'peerAlive' });
    m.advance(PING - 1);
  }
  expect(m.changes()).toEqual(['Cold->Active:peer-standby']);
  return m;
}

it('a pong read first at the thaw counts before the stall is judged: a 213 ms stall just after a ping keeps the master Active', () => {
  const m = activeMaster();
  // A ping goes out; the process stalls before its pong is read (the pong waits in the socket).
  const sentAt = m.now;
  m.now += 213;
  // The link reports the pong first (link-connection.ts: acked before the frame's proof of life).
  m.feed({ type: 'peerAck', sentAt });
  m.feed({ type: 'peerAlive' });
  // (ms counts from the last step before the stall, a watch tick a little before the ping.)
  expect(m.events('process.stalled')).toMatchObject([{ activity: 'Active', sinceAckedMs: 213 }]);
  expect(m.now - sentAt + stallSlack(m.m.state)).toBeLessThan(FT);
  expect(m.changes()).toEqual(['Cold->Active:peer-standby']);
});

it('an answer to a ping sent long before still lets the stall stand the master down (the peer may have judged it silent)', () => {
  const m = activeMaster();
  const sentAt = m.now;
  m.now += 260;
  m.feed({ type: 'peerAck', sentAt });
  expect(m.now - sentAt + stallSlack(m.m.state)).toBeGreaterThanOrEqual(FT);
  expect(m.changes()).toEqual(['Cold->Active:peer-standby', 'Active->Cold:frozen']);
});
