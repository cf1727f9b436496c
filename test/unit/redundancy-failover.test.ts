import { describe, expect, it } from 'vitest';

import { Solo } from '../helpers/redundancy-solo.js';
import { Sim } from '../helpers/redundancy-sim.js';

function runningPair(master = {}, backup = {}): Sim {
  const sim = new Sim(master, backup);
  sim.start(sim.master);
  sim.start(sim.backup);
  sim.autoDial();
  sim.run(5000);
  return sim;
}

describe('redundancy failover command (rule 7)', () => {
  it('rule 7 failover requested on the Active master: it stands down only when the backup asks, the backup becomes Active, and it stays that way', () => {
    const sim = runningPair(); // Automatic recovery: the handover must not be undone by it
    const step = sim.input(sim.master, { type: 'failoverRequested', force: false })!;
    expect(step.error).toBeNull();
    const id = step.failoverId!;
    expect(sim.activity(sim.master)).toBe('Active'); // nothing changes before the peer is ready
    sim.run(60_000);
    expect(sim.changesOf(sim.master).slice(1)).toEqual(['Active->Cold:requested']);
    expect(sim.changesOf(sim.backup)).toEqual(['Cold->Active:requested']);
    expect(sim.eventsOf(sim.master, 'failover.completed')).toEqual([{ type: 'failover.completed', data: { id, epoch: 2 } }]);
    expect(sim.eventsOf(sim.backup, 'failover.requested')).toEqual([
      { type: 'failover.requested', data: { id, origin: 'peer', force: false } },
    ]);
    expect(sim.violations).toEqual([]);
  });

  it('rule 7 failover requested on the standing-by backup: it asks the master to stand down and becomes Active after the confirm', () => {
    const sim = runningPair();
    const step = sim.input(sim.backup, { type: 'failoverRequested', force: false })!;
    sim.run(60_000);
    expect(sim.changesOf(sim.backup)).toEqual(['Cold->Active:requested']);
    expect(sim.changesOf(sim.master).slice(1)).toEqual(['Active->Cold:requested']);
    expect(sim.eventsOf(sim.backup, 'failover.completed')).toEqual([
      { type: 'failover.completed', data: { id: step.failoverId, epoch: 2 } },
    ]);
    // And back again from the master's side (Manual or not, the operator decides).
    sim.input(sim.master, { type: 'failoverRequested', force: false });
    sim.run(1000);
    expect(sim.activity(sim.master)).toBe('Active');
    expect(sim.activity(sim.backup)).toBe('Cold');
    expect(sim.violations).toEqual([]);
  });

  it('rule 7 failover with no peer: GW_ERR_REDUNDANCY_NO_PEER, unless --force on a standing-by node', () => {
    const m = new Solo({ role: 'Master', joinWaitTime: 30_000 });
    m.feed({ type: 'started' });
    const refused = m.feed({ type: 'failoverRequested', force: false });
    expect(refused.error).toEqual({ code: 'GW_ERR_REDUNDANCY_NO_PEER', params: { activity: 'Cold' } });
    expect(refused.decisions).toEqual([]);
    const forced = m.feed({ type: 'failoverRequested', force: true });
    expect(forced.error).toBeNull();
    expect(m.changes()).toEqual(['Cold->Active:forced']);
    expect(m.events('failover.completed')).toEqual([{ id: forced.failoverId, epoch: 1 }]);
    // --force on the Active node vouches for nothing: still no peer to hand over to.
    expect(m.feed({ type: 'failoverRequested', force: true }).error?.code).toBe('GW_ERR_REDUNDANCY_NO_PEER');
    // A never-connected backup may be forced too: the operator vouches for the pair.
    const b = new Solo({ role: 'Backup' });
    b.feed({ type: 'started' });
    b.advance(60_000);
    expect(b.feed({ type: 'failoverRequested', force: true }).error).toBeNull();
    expect(b.activity).toBe('Active');
  });

  it('rule 7: a peer that connects during a forced activation withdraws the --force (it is not down)', () => {
    const hooks = { onActivityChange: null, preActivate: '/etc/gwd/pre', timeoutMs: 5000 };
    // The peer connects, Active, while the preActivate hook runs, and leaves again still Active:
    // the forced activation fails instead of making a second Active node (explorer seed 1629306125).
    const m = new Solo({ role: 'Master', joinWaitTime: 30_000, hooks });
    m.feed({ type: 'started' });
    const forced = m.feed({ type: 'failoverRequested', force: true });
    expect(forced.error).toBeNull();
    const run = m.decisions.find((d) => d.type === 'runPreActivate');
    expect(run?.type).toBe('runPreActivate');
    m.connect({ role: 'Backup', activity: 'Active', epoch: 2 });
    m.feed({ type: 'peerDisconnected', reason: 'bye', peerActive: true });
    m.feed({ type: 'preActivateResult', id: run!.type === 'runPreActivate' ? run!.id : '', ok: true });
    m.advance(60_000);
    expect(m.changes()).toEqual([]);
    expect(m.events('failover.failed')).toEqual([{ id: forced.failoverId, reason: 'the peer disconnected' }]);
    expect(m.m.view().hold).toBe('peer-left-active');
    // Without the peer turning up, the same forced activation completes once the hook says yes.
    const alone = new Solo({ role: 'Master', joinWaitTime: 30_000, hooks });
    alone.feed({ type: 'started' });
    alone.feed({ type: 'failoverRequested', force: true });
    const run2 = alone.decisions.find((d) => d.type === 'runPreActivate');
    alone.feed({ type: 'preActivateResult', id: run2!.type === 'runPreActivate' ? run2!.id : '', ok: true });
    expect(alone.changes()).toEqual(['Cold->Active:forced']);
  });

  it('rule 7: refused on an Independent node, and while another failover is in progress', () => {
    const i = new Solo({ role: 'Independent' });
    i.feed({ type: 'started' });
    expect(i.feed({ type: 'failoverRequested', force: true }).error?.code).toBe('GW_ERR_REDUNDANCY_NOT_REDUNDANT');
    const sim = runningPair();
    const first = sim.input(sim.master, { type: 'failoverRequested', force: false })!;
    const second = sim.input(sim.master, { type: 'failoverRequested', force: false })!;
    expect(second.error).toEqual({ code: 'GW_ERR_REDUNDANCY_FAILOVER_IN_PROGRESS', params: { id: first.failoverId } });
  });

  it('rule 7: a failover the peer cannot complete (its preActivate vetoes) fails and leaves the Active node Active', () => {
    const sim = runningPair({}, { hooks: { onActivityChange: null, preActivate: '/bin/false', timeoutMs: 1000 } });
    sim.backup.preActivate = () => false;
    const step = sim.input(sim.master, { type: 'failoverRequested', force: false })!;
    sim.run(60_000);
    expect(sim.activity(sim.master)).toBe('Active');
    expect(sim.activity(sim.backup)).toBe('Cold');
    expect(sim.eventsOf(sim.master, 'failover.failed')).toEqual([
      { type: 'failover.failed', data: { id: step.failoverId, reason: 'the peer refused: vetoed' } },
    ]);
  });

  it('rule 7: a failover request crossing the master\'s automatic recovery joins it instead of fighting it', () => {
    // The master returns (Automatic) while an operator on the Active backup asks to hand over.
    const sim = runningPair({}, {});
    sim.kill(sim.master);
    sim.run(3000);
    sim.master.changes = [];
    sim.delay = () => 40;
    sim.start(sim.master);
    sim.run(1000); // connected; the master's stand-down request is on the wire
    const step = sim.input(sim.backup, { type: 'failoverRequested', force: false })!;
    sim.run(5000);
    expect(sim.activity(sim.master)).toBe('Active');
    expect(sim.activity(sim.backup)).toBe('Cold');
    expect(sim.changesOf(sim.master)).toHaveLength(1);
    expect(sim.violations).toEqual([]);
    // The request reached the master while it was acquiring: one activation completes both.
    expect(sim.eventsOf(sim.backup, 'failover.completed')).toEqual([
      { type: 'failover.completed', data: { id: step.failoverId, epoch: 3 } },
    ]);
    expect(sim.eventsOf(sim.backup, 'failover.failed')).toEqual([]);
  });

  it('crossing stand-down requests: an operator\'s request outranks an automatic one, and exactly one node ends Active', () => {
    // Both nodes standing by and connected: the master starts its automatic takeover while an
    // operator on the backup asks for it; both requests are on the wire at the same time.
    const m = new Solo({ role: 'Master' }, null, 'm');
    m.feed({ type: 'started' });
    m.connect({ role: 'Backup', activity: 'Cold' }, 'b');
    const request = m.sentOf('redundancy.standDownRequest')[0]!;
    expect(request.operator).toBe(false);
    // The backup's operator request arrives before any answer to ours: the master yields.
    m.msg({ type: 'redundancy.standDownRequest', id: 'b:a1', reason: 'requested', epoch: 0, operator: true, failoverIds: ['b:f1'] });
    expect(m.sentOf('redundancy.standDownCancel')).toEqual([{ type: 'redundancy.standDownCancel', id: request.id }]);
    expect(m.sentOf('redundancy.standDownConfirm')).toEqual([{ type: 'redundancy.standDownConfirm', id: 'b:a1', epoch: 0, activity: 'Cold' }]);
    // A late confirm of the master's own, abandoned request is ignored.
    m.msg({ type: 'redundancy.standDownConfirm', id: request.id, epoch: 0, activity: 'Cold' });
    expect(m.activity).toBe('Cold');
    // The other way round: the backup, holding an operator request, rejects the automatic one.
    const b = new Solo({ role: 'Backup' }, null, 'b');
    b.feed({ type: 'started' });
    b.connect({ role: 'Master', activity: 'Cold' }, 'm');
    b.feed({ type: 'failoverRequested', force: false });
    b.msg({ type: 'redundancy.standDownRequest', id: 'm:a1', reason: 'peer-standby', epoch: 0, operator: false, failoverIds: [] });
    expect(b.sentOf('redundancy.standDownReject')).toEqual([{ type: 'redundancy.standDownReject', id: 'm:a1', reason: 'contended' }]);
  });
});
