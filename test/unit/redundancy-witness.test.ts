/**
 * Section 9 (witness) in the pure machine, fed by hand on a fake clock: the leader key as the second
 * vote when the peer's is missing, the lease and its margin, a late renewal, the peer's vote window,
 * the release before a clean stop's goodbye, and the epoch above the key's.
 */
import { describe, expect, it } from 'vitest';

import { effectiveJoinWait } from '../../src/core/redundancy/index.js';
import type { Decision, MachineSettings, WitnessResult } from '../../src/core/redundancy/index.js';
import { leaseMargin, renewInterval, retryInterval, VOTE_SLACK_MS } from '../../src/core/redundancy/witness.js';
import { settings } from '../helpers/redundancy-fixtures.js';
import { Solo } from '../helpers/redundancy-solo.js';

const TTL = 5000;
const WITNESS: Partial<MachineSettings> = { witness: { leaseTtlMs: TTL }, joinWaitTime: 0 };

type WitnessDecision = Extract<Decision, { type: 'witness' }>;

function witnessOps(n: Solo, from = 0): WitnessDecision[] {
  return n.decisions.slice(from).filter((d): d is WitnessDecision => d.type === 'witness');
}

/** The id of the last acquire or renew the machine asked for. */
function lastRequest(n: Solo, op: 'acquire' | 'renew'): string {
  const d = witnessOps(n).filter((x) => x.op === op).at(-1);
  if (!d || d.op === 'release') throw new Error(`no ${op} asked for`);
  return d.id;
}

function answer(n: Solo, id: string, result: WitnessResult): void {
  n.feed({ type: 'witnessResult', id, result });
}

/** A backup paired with an Active master, which then dies (close without bye, redial refused). */
function backupWhoseMasterDied(over: Partial<MachineSettings> = {}): Solo {
  const b = new Solo({ role: 'Backup', ...WITNESS, ...over });
  b.feed({ type: 'started' });
  b.connect({ role: 'Master', activity: 'Active', epoch: 3 }, 'master-uuid');
  b.advance(100);
  b.feed({ type: 'peerDisconnected', reason: 'closed' });
  b.feed({ type: 'redialRefused' });
  return b;
}

/** A master Active alone under its own lease, renewed up to now. */
function masterHoldingKey(): Solo {
  const m = new Solo({ role: 'Master', ...WITNESS });
  m.feed({ type: 'started' });
  // Join wait 0 has a floor: with a witness, failoverTimeout (the peer may stand on our vote).
  m.advance(effectiveJoinWait(m.m.state.settings));
  answer(m, lastRequest(m, 'acquire'), { kind: 'held', sentAt: m.now, ttlMs: TTL });
  expect(m.activity).toBe('Active');
  return m;
}

describe('witness: the leader key is the second vote when the peer is lost (section 9)', () => {
  it('a backup whose master died takes over only once it holds the key; a key still held by the master keeps it standing by', () => {
    const b = backupWhoseMasterDied();
    expect(b.activity).toBe('Cold');
    const first = lastRequest(b, 'acquire');
    answer(b, first, { kind: 'taken', holder: { uuid: 'master-uuid', epoch: 3 } });
    expect(b.activity).toBe('Cold');
    expect(b.m.view().witness).toMatchObject({ reachable: true, holder: 'other', otherHolder: { uuid: 'master-uuid', epoch: 3 } });
    // It asks again soon (the master's lease runs out at etcd), not in a tight loop.
    b.advance(retryInterval(TTL) - 1);
    expect(lastRequest(b, 'acquire')).toBe(first);
    b.advance(1);
    const second = lastRequest(b, 'acquire');
    expect(second).not.toBe(first);
    answer(b, second, { kind: 'held', sentAt: b.now, ttlMs: TTL });
    expect(b.changes()).toEqual(['Cold->Active:master-gone']);
    expect(b.events('witness.acquired')).toHaveLength(1);
    // Rule 8: above the epoch in the key.
    expect(b.m.view().epoch).toBe(4);
  });

  it('an unreachable witness keeps a node standing by (no two Active across a partition), and it keeps asking', () => {
    const b = backupWhoseMasterDied();
    for (let i = 0; i < 5; i++) {
      answer(b, lastRequest(b, 'acquire'), { kind: 'unreachable', error: 'connect ECONNREFUSED 127.0.0.1:2379' });
      b.advance(retryInterval(TTL));
    }
    expect(b.activity).toBe('Cold');
    expect(b.events('witness.unreachable')).toEqual([{ error: 'connect ECONNREFUSED 127.0.0.1:2379' }]);
    expect(b.m.view().witness).toMatchObject({ reachable: false, holder: null, lastError: 'connect ECONNREFUSED 127.0.0.1:2379' });
  });

  it('the Active node renews every ttl/3 and, alone, stays Active only until sentAt + ttl - margin without a renewal', () => {
    const m = masterHoldingKey();
    const heldFrom = m.now;
    m.advance(renewInterval(TTL));
    const renew = lastRequest(m, 'renew');
    answer(m, renew, { kind: 'held', sentAt: m.now, ttlMs: TTL });
    const renewedAt = m.now;
    expect(renewedAt - heldFrom).toBe(renewInterval(TTL));
    // From here every renewal goes unanswered (etcd cut off): stand down before the lease can end.
    const deadline = renewedAt + TTL - leaseMargin(TTL);
    m.advance(deadline - m.now - 1);
    expect(m.activity).toBe('Active');
    m.advance(1);
    expect(m.changes()).toEqual(['Cold->Active:startup-alone', 'Active->Cold:witness-lost']);
    expect(m.now).toBeLessThan(renewedAt + TTL);
    expect(m.events('witness.lost')).toEqual([{ reason: 'lease-expired' }]);
    // The lease is given up (the daemon never uses a released lease again), then a fresh key is sought.
    const downAt = m.decisions.findIndex((d) => d.type === 'setActivity' && d.to === 'Cold');
    expect(witnessOps(m, downAt)[0]).toEqual({ type: 'witness', op: 'release' });
  });

  it('a renewal answered after the node gave up counts as lost: it does not come back Active on it', () => {
    const m = masterHoldingKey();
    m.advance(renewInterval(TTL));
    const renew = lastRequest(m, 'renew');
    const sentAt = m.now;
    m.advance(TTL);
    expect(m.activity).toBe('Cold');
    const before = m.decisions.length;
    answer(m, renew, { kind: 'held', sentAt, ttlMs: TTL });
    expect(m.activity).toBe('Cold');
    expect(m.m.view().witness?.holder).toBeNull();
    expect(m.decisions.slice(before).filter((d) => d.type === 'setActivity')).toEqual([]);
  });

  it('an answer that comes after its own margin ran out is no lease at all', () => {
    const b = backupWhoseMasterDied();
    const id = lastRequest(b, 'acquire');
    const sentAt = b.now;
    b.advance(TTL); // the answer took longer than the lease
    answer(b, id, { kind: 'held', sentAt, ttlMs: TTL });
    expect(b.activity).toBe('Cold');
  });

  it("a node Active on the peer's vote alone (no key) stands down before its silent peer can take over", () => {
    const m = new Solo({ role: 'Master', ...WITNESS, failoverTimeout: 1000, master: { host: '10.0.0.5', port: 8060, enableSsl: true, pingRate: 200, reconnectPeriod: 500 } });
    m.feed({ type: 'started' });
    m.connect({ role: 'Backup', activity: 'Cold', epoch: 0 }, 'backup-uuid');
    m.msg({ type: 'redundancy.standDownConfirm', id: m.sentOf('redundancy.standDownRequest').at(-1)!.id, epoch: 0, activity: 'Cold' });
    expect(m.activity).toBe('Active');
    // The key cannot be had (etcd unreachable from here).
    answer(m, lastRequest(m, 'acquire'), { kind: 'unreachable', error: 'timeout' });
    const heard = m.now;
    // The backup goes silent (a cut): it takes over no sooner than failoverTimeout after it last
    // heard us, which may be one ping period before we last heard it.
    const backupEarliest = heard - 200 + 1000;
    m.advance(backupEarliest - m.now);
    const down = m.decisions.find((d) => d.type === 'setActivity' && d.to === 'Cold');
    expect(down).toMatchObject({ reason: 'witness-lost' });
    expect(m.activity).toBe('Cold');
    expect(1000 - 200 - VOTE_SLACK_MS).toBeLessThan(1000 - 200);
  });

  it('behind a one-way partition (we hear the peer, it does not hear us) the vote runs out: hearing is not being heard', () => {
    const m = new Solo({ role: 'Master', ...WITNESS, failoverTimeout: 1000, master: { host: '10.0.0.5', port: 8060, enableSsl: true, pingRate: 200, reconnectPeriod: 500 } });
    m.feed({ type: 'started' });
    m.connect({ role: 'Backup', activity: 'Cold', epoch: 0 }, 'backup-uuid');
    m.msg({ type: 'redundancy.standDownConfirm', id: m.sentOf('redundancy.standDownRequest').at(-1)!.id, epoch: 0, activity: 'Cold' });
    answer(m, lastRequest(m, 'acquire'), { kind: 'unreachable', error: 'timeout' });
    const confirmedAt = m.now;
    // The backup's pings keep arriving; none of ours is answered (explorer seed 1478155512).
    for (let i = 0; i < 8; i++) {
      m.advance(100);
      m.feed({ type: 'peerAlive' });
    }
    // The backup takes over no sooner than failoverTimeout (1000 ms) after it last heard us.
    expect(m.now - confirmedAt).toBe(800);
    expect(m.changes()).toEqual(['Cold->Active:peer-standby', 'Active->Cold:witness-lost']);
  });

  it('a node restarted with a witness decides alone no sooner than failoverTimeout after its start: its peer may stand on the vote the old process gave', () => {
    // Explorer seed 23: etcd cut off from the master, the link cut, the backup killed and started
    // again at once (join wait 0); the master's lease runs out at etcd and the new backup took the
    // free key while the master still stood on the vote of the backup's old process.
    const timings = { failoverTimeout: 3000, master: { host: '10.0.0.5', port: 8060, enableSsl: true, pingRate: 1000, reconnectPeriod: 1000 } };
    const m = new Solo({ role: 'Master', ...WITNESS, ...timings });
    m.feed({ type: 'started' });
    m.connect({ role: 'Backup', activity: 'Cold', epoch: 0 }, 'backup-uuid');
    m.msg({ type: 'redundancy.standDownConfirm', id: m.sentOf('redundancy.standDownRequest').at(-1)!.id, epoch: 0, activity: 'Cold' });
    answer(m, lastRequest(m, 'acquire'), { kind: 'unreachable', error: 'timeout' });
    m.advance(1000);
    // The backup answers a ping, then dies; the master hears nothing more (a cut).
    m.feed({ type: 'peerAck', sentAt: m.now - 2 });
    expect(m.activity).toBe('Active');
    // The new backup process starts 1 ms later and hears no master (the cut).
    const b = new Solo({ role: 'Backup', ...WITNESS, ...timings }, { epoch: 1, pairedMaster: { uuid: 'm', address: '10.0.0.5:8060' } });
    b.now = m.now + 1;
    b.feed({ type: 'started' });
    b.advance(timings.failoverTimeout - 1);
    expect(witnessOps(b)).toEqual([]);
    b.advance(1);
    expect(witnessOps(b)).toMatchObject([{ op: 'acquire' }]);
    // By the time the backup first asks for the key, the master has stood down.
    m.advance(b.now - m.now);
    expect(m.changes()).toEqual(['Cold->Active:peer-standby', 'Active->Cold:witness-lost']);
    // The same floor for a master (a backup may be Active on its vote), and for a node set up anew.
    const m2 = new Solo({ role: 'Master', ...WITNESS, ...timings });
    m2.feed({ type: 'started' });
    m2.advance(timings.failoverTimeout - 1);
    expect(witnessOps(m2)).toEqual([]);
    m2.advance(1);
    expect(witnessOps(m2)).toMatchObject([{ op: 'acquire' }]);
    expect(effectiveJoinWait(settings({ role: 'Backup', joinWaitTime: 0, failoverTimeout: 3000, witness: { leaseTtlMs: TTL } }))).toBe(3000);
    expect(effectiveJoinWait(settings({ role: 'Backup', joinWaitTime: 0, failoverTimeout: 3000 }))).toBe(500);
  });

  it('with the peer connected, losing the witness changes nothing', () => {
    const m = new Solo({ role: 'Master', ...WITNESS, failoverTimeout: 1000, master: { host: '10.0.0.5', port: 8060, enableSsl: true, pingRate: 200, reconnectPeriod: 500 } });
    m.feed({ type: 'started' });
    m.connect({ role: 'Backup', activity: 'Cold', epoch: 0 }, 'backup-uuid');
    m.msg({ type: 'redundancy.standDownConfirm', id: m.sentOf('redundancy.standDownRequest').at(-1)!.id, epoch: 0, activity: 'Cold' });
    for (let t = 0; t < 60; t++) {
      m.advance(200);
      // A ping answered: the peer hears us (and we hear it).
      m.feed({ type: 'peerAlive' });
      m.feed({ type: 'peerAck', sentAt: m.now - 2 });
      const ask = witnessOps(m).at(-1);
      if (ask && ask.op !== 'release' && m.m.state.witness.pending?.id === ask.id) answer(m, ask.id, { kind: 'unreachable', error: 'timeout' });
    }
    expect(m.changes()).toEqual(['Cold->Active:peer-standby']);
  });

  it('a clean stop releases the key before its goodbye (the peer takes over at once)', () => {
    const m = masterHoldingKey();
    m.connect({ role: 'Backup', activity: 'Cold', epoch: 1 }, 'backup-uuid');
    const from = m.decisions.length;
    m.feed({ type: 'stopRequested' });
    const order = m.decisions.slice(from).map((d) => (d.type === 'send' ? d.message.type : d.type));
    const release = order.indexOf('witness');
    const goodbye = order.indexOf('redundancy.steppingDown');
    expect(release).toBeGreaterThanOrEqual(0);
    expect(release).toBeLessThan(goodbye);
  });

  it('failover --force with a witness: Active at once (the operator vouches), the key fetched after', () => {
    const b = new Solo({ role: 'Backup', ...WITNESS });
    b.feed({ type: 'started' });
    b.advance(60_000);
    expect(b.feed({ type: 'failoverRequested', force: true }).error).toBeNull();
    expect(b.activity).toBe('Active');
    const ask = lastRequest(b, 'acquire');
    answer(b, ask, { kind: 'unreachable', error: 'timeout' });
    b.advance(30_000);
    expect(b.activity).toBe('Active');
  });

  it('a key that arrives after the need passed is given back', () => {
    const b = backupWhoseMasterDied();
    const id = lastRequest(b, 'acquire');
    // The master is back before etcd answered: the backup stands by again.
    b.connect({ role: 'Master', activity: 'Active', epoch: 3 }, 'master-uuid');
    answer(b, id, { kind: 'held', sentAt: b.now, ttlMs: TTL });
    expect(b.activity).toBe('Cold');
    expect(witnessOps(b).at(-1)).toEqual({ type: 'witness', op: 'release' });
  });

  it('without a witness the machine asks for none (section 9 changes nothing then)', () => {
    const b = backupWhoseMasterDied({ witness: null });
    expect(b.changes()).toEqual(['Cold->Active:master-gone']);
    expect(witnessOps(b)).toEqual([]);
    expect(b.m.view().witness).toBeNull();
  });

  it('another witness is another key: what this node knew of the old one is dropped on a settings change', () => {
    const m = masterHoldingKey();
    expect(m.m.view().witness?.holder).toBe('self');
    const other = { ...m.m.state.settings, witness: { leaseTtlMs: TTL, prefix: '/gwd/other' } as MachineSettings['witness'] };
    m.feed({ type: 'settingsChanged', settings: other });
    expect(m.m.view().witness).toMatchObject({ holder: null, otherHolder: null, lastError: null });
    // Alone, it asks the new witness for the key at once.
    expect(witnessOps(m).at(-1)).toMatchObject({ op: 'acquire' });
  });

  it('witness.acquired names the epoch written into the key; a release of a key never held is no witness.released', () => {
    const b = backupWhoseMasterDied();
    answer(b, lastRequest(b, 'acquire'), { kind: 'held', sentAt: b.now, ttlMs: TTL });
    expect(b.events('witness.acquired')).toEqual([{ epoch: 4 }]);
    expect(b.m.view().epoch).toBe(4);
    const c = backupWhoseMasterDied();
    // The master comes back before etcd answered: the acquire is dropped, nothing was held.
    c.connect({ role: 'Master', activity: 'Active', epoch: 3 }, 'master-uuid');
    expect(c.events('witness.released')).toEqual([]);
  });
});
