import { describe, expect, it } from 'vitest';

import { Solo } from '../helpers/redundancy-solo.js';
import { Sim } from '../helpers/redundancy-sim.js';
import { effectiveJoinWait } from '../../src/core/redundancy/index.js';
import { settings } from '../helpers/redundancy-fixtures.js';

/** The join wait of a master configured with joinWaitTime 0: one redial period plus the margin. */
const JOIN = effectiveJoinWait(settings({ role: 'Master', joinWaitTime: 0 }));

const HOOKS = { onActivityChange: '/etc/gwd/on-change', preActivate: '/etc/gwd/pre', timeoutMs: 5000 };

describe('redundancy epoch and hooks (rules 8 and 9)', () => {
  it('rule 8 epoch: every activation takes max(own, peer) + 1, is persisted first, and never goes back', () => {
    const m = new Solo({ role: 'Master', joinWaitTime: 1000 }, { epoch: 3, pairedMaster: null });
    m.feed({ type: 'started' });
    m.connect({ role: 'Backup', activity: 'Cold', epoch: 11 });
    // While standing by it follows the pair's epoch (persisted, so a restart keeps max + 1).
    expect(m.decisions.find((d) => d.type === 'persist')).toEqual({ type: 'persist', persisted: { epoch: 11, activatedEpoch: 0, pairedMaster: null } });
    const request = m.sentOf('redundancy.standDownRequest')[0]!;
    m.msg({ type: 'redundancy.standDownConfirm', id: request.id, epoch: 12, activity: 'Cold' });
    const types = m.decisions.map((d) => d.type);
    const persistAt = types.lastIndexOf('persist');
    const setAt = types.indexOf('setActivity');
    expect(persistAt).toBeLessThan(setAt);
    expect(m.decisions[setAt]).toMatchObject({ to: 'Active', epoch: 13 });
    expect(m.sentOf('redundancy.state').at(-1)).toMatchObject({ activity: 'Active', epoch: 13 });
    // A standing-by peer reporting a lower epoch does not lower ours.
    m.msg({ type: 'redundancy.state', role: 'Backup', activity: 'Cold', epoch: 2, recoveryMode: 'Automatic', reason: 'x', failoverIds: [], replyTo: null });
    expect(m.m.view().epoch).toBe(13);
  });

  it('rule 8 epoch: an Active node that learns of a higher epoch used by its peer moves above it (fencing)', () => {
    const sim = new Sim();
    sim.start(sim.master);
    sim.start(sim.backup);
    sim.autoDial();
    sim.run(5000);
    // Partition: the backup takes over at epoch 2 and is then killed; its epoch survives on disk.
    sim.cut = true;
    sim.disconnect('timeout', 100);
    sim.run(12_000);
    expect(sim.backup.changes.at(-1)).toMatchObject({ to: 'Active', epoch: 2 });
    sim.kill(sim.backup);
    sim.cut = false;
    sim.start(sim.backup);
    sim.run(3000);
    expect(sim.activity(sim.master)).toBe('Active');
    expect(sim.master.machine!.view().epoch).toBe(3);
    expect(sim.eventsOf(sim.master, 'epoch.changed')).toEqual([{ type: 'epoch.changed', data: { from: 1, to: 3, reason: 'fenced' } }]);
    expect(sim.violations).toEqual([]);
  });

  it('rule 9 hooks: onActivityChange gets GWD_ROLE, GWD_ACTIVITY, GWD_PREVIOUS_ACTIVITY, GWD_REASON, GWD_EPOCH, one per change, in order', () => {
    const m = new Solo({ role: 'Master', joinWaitTime: 0, hooks: HOOKS });
    m.feed({ type: 'started' });
    m.advance(JOIN); // a master's join wait is at least one redial period of its peer (rule 2)
    const pre = m.decisions.find((d) => d.type === 'runPreActivate');
    expect(pre).toEqual({
      type: 'runPreActivate',
      id: expect.any(String),
      path: '/etc/gwd/pre',
      timeoutMs: 5000,
      env: { GWD_ROLE: 'Master', GWD_ACTIVITY: 'Active', GWD_PREVIOUS_ACTIVITY: 'Cold', GWD_REASON: 'startup-alone', GWD_EPOCH: '1' },
    });
    expect(m.activity).toBe('Cold'); // nothing happens before preActivate said yes
    m.feed({ type: 'preActivateResult', id: pre?.type === 'runPreActivate' ? pre.id : '', ok: true });
    m.feed({ type: 'stopRequested' });
    const hooks = m.decisions.filter((d) => d.type === 'runHook');
    expect(hooks).toEqual([
      {
        type: 'runHook',
        hook: 'onActivityChange',
        path: '/etc/gwd/on-change',
        timeoutMs: 5000,
        env: { GWD_ROLE: 'Master', GWD_ACTIVITY: 'Active', GWD_PREVIOUS_ACTIVITY: 'Cold', GWD_REASON: 'startup-alone', GWD_EPOCH: '1' },
      },
      {
        type: 'runHook',
        hook: 'onActivityChange',
        path: '/etc/gwd/on-change',
        timeoutMs: 5000,
        env: { GWD_ROLE: 'Master', GWD_ACTIVITY: 'Cold', GWD_PREVIOUS_ACTIVITY: 'Active', GWD_REASON: 'stopping', GWD_EPOCH: '1' },
      },
    ]);
    // Each hook follows its setActivity and activity.changed event in the decision list.
    const order = m.decisions.map((d) => (d.type === 'emit' ? d.event.type : d.type)).filter((t) => /setActivity|activity.changed|runHook/.test(t));
    expect(order).toEqual(['setActivity', 'activity.changed', 'runHook', 'setActivity', 'activity.changed', 'runHook']);
  });

  it('rule 9 preActivate veto and retry: a veto keeps the node standing by, is an event, and the decision is retried with backoff', () => {
    const m = new Solo({ role: 'Master', joinWaitTime: 0, hooks: HOOKS });
    m.feed({ type: 'started' });
    m.advance(JOIN);
    const ids = (): string[] => m.decisions.flatMap((d) => (d.type === 'runPreActivate' ? [d.id] : []));
    m.feed({ type: 'preActivateResult', id: ids()[0]!, ok: false, detail: 'exit 3' });
    expect(m.activity).toBe('Cold');
    expect(m.events('activation.vetoed')).toEqual([{ reason: 'startup-alone', detail: 'exit 3', retryAt: JOIN + 1000 }]);
    expect(m.deadline).toBe(JOIN + 1000);
    m.advance(999);
    expect(ids()).toHaveLength(1);
    m.advance(1);
    expect(ids()).toHaveLength(2); // retried after 1 s
    m.feed({ type: 'preActivateResult', id: ids()[1]!, ok: false, detail: 'timeout' });
    m.advance(1999);
    expect(ids()).toHaveLength(2);
    m.advance(1);
    expect(ids()).toHaveLength(3); // then after 2 s
    // A stale answer (the first run's id) changes nothing; the current one activates.
    m.feed({ type: 'preActivateResult', id: ids()[0]!, ok: true });
    expect(m.activity).toBe('Cold');
    m.feed({ type: 'preActivateResult', id: ids()[2]!, ok: true });
    expect(m.changes()).toEqual(['Cold->Active:startup-alone']);
  });

  it('rule 9: a backup whose preActivate vetoes while its master is lost stays standby and keeps retrying; the master returning ends the retries', () => {
    const sim = new Sim({}, { hooks: HOOKS });
    sim.start(sim.master);
    sim.start(sim.backup);
    sim.autoDial();
    sim.run(5000);
    sim.backup.preActivate = () => false;
    sim.kill(sim.master);
    sim.run(30_000);
    expect(sim.activity(sim.backup)).toBe('Cold');
    const vetoes = sim.eventsOf(sim.backup, 'activation.vetoed').length;
    expect(vetoes).toBeGreaterThanOrEqual(4);
    sim.start(sim.master);
    sim.run(120_000);
    expect(sim.eventsOf(sim.backup, 'activation.vetoed').length).toBe(vetoes);
    expect(sim.activity(sim.master)).toBe('Active');
  });

  it('stale messages: anything arriving while the link is down, or answering a request we gave up, is ignored', () => {
    const b = new Solo({ role: 'Backup' }, { epoch: 1, pairedMaster: { uuid: 'm', address: '10.0.0.5:8060' } });
    b.feed({ type: 'started' });
    b.connect({ role: 'Master', activity: 'Active', epoch: 1 }, 'm');
    b.feed({ type: 'peerDisconnected', reason: 'timeout' });
    const before = b.decisions.length;
    b.msg({ type: 'redundancy.standDownRequest', id: 'old', reason: 'requested', epoch: 1, operator: true, failoverIds: [] });
    b.msg({ type: 'redundancy.failoverRequest', id: 'old-f' });
    b.feed({ type: 'peerAlive' });
    expect(b.decisions.slice(before)).toEqual([]);
    expect(b.m.state.peer.lastHeard).toBe(0);
  });
});
