import { describe, expect, it } from 'vitest';

import { Solo } from '../helpers/redundancy-solo.js';
import { Sim } from '../helpers/redundancy-sim.js';

describe('redundancy startup (rules 1, 2, 4, 6)', () => {
  it('rule 1: an Independent node is Active at start and stays Active whatever a peer says', () => {
    const n = new Solo({ role: 'Independent' });
    n.feed({ type: 'started' });
    expect(n.changes()).toEqual(['Cold->Active:independent']);
    n.connect({ role: 'Master', activity: 'Active' });
    n.msg({ type: 'redundancy.standDownRequest', id: 'x', reason: 'requested', epoch: 9, operator: true, failoverIds: [] });
    n.advance(60_000);
    expect(n.activity).toBe('Active');
    expect(n.sent()).toEqual([]);
    expect(n.deadline).toBeNull();
  });

  it('rule 2 startup alone: a master waits the whole joinWaitTime for its backup, then becomes Active (startup-alone)', () => {
    const n = new Solo({ role: 'Master', joinWaitTime: 30_000 });
    n.feed({ type: 'started' });
    // The join wait ends at 30 s; until then a watch tick every second notices a stall (stall.ts).
    expect(n.m.state.joinWaitUntil).toBe(30_000);
    expect(n.deadline).toBe(1000);
    n.advance(29_999);
    expect(n.activity).toBe('Cold');
    n.advance(1);
    expect(n.changes()).toEqual(['Cold->Active:startup-alone']);
    expect(n.m.view().epoch).toBe(1);
  });

  it('rule 2 startup alone: a backup that knows its master takes over at the end of the join wait (rule 6, none during join wait)', () => {
    const n = new Solo(
      { role: 'Backup', joinWaitTime: 5000, standbyActivityLevel: 'Warm' },
      { epoch: 4, pairedMaster: { uuid: 'm', address: '10.0.0.5:8060' } },
    );
    // The standby level applies from the start, before any decision.
    expect(n.m.view().activity).toBe('Warm');
    n.feed({ type: 'started' });
    n.advance(4999);
    expect(n.changes()).toEqual([]);
    n.advance(1);
    expect(n.changes()).toEqual(['Warm->Active:startup-alone']);
    expect(n.m.view().epoch).toBe(5);
  });

  it('rule 2 startup together: the join wait ends when the peer connects; the master becomes Active after the backup confirms, never both Active', () => {
    const sim = new Sim();
    sim.start(sim.master);
    sim.start(sim.backup);
    sim.run(300);
    sim.connect();
    sim.run(100); // far less than joinWaitTime: the wait ended with the hello
    expect(sim.activity(sim.master)).toBe('Active');
    expect(sim.activity(sim.backup)).toBe('Cold');
    expect(sim.changesOf(sim.master)).toEqual(['Cold->Active:peer-standby']);
    expect(sim.changesOf(sim.backup)).toEqual([]);
    // The request went out before the activation, the confirm came back in between.
    const kinds = sim.master.sent.map((s) => s.message.type);
    expect(kinds.indexOf('redundancy.standDownRequest')).toBeLessThan(kinds.lastIndexOf('redundancy.state'));
    expect(sim.backup.sent.some((s) => s.message.type === 'redundancy.standDownConfirm')).toBe(true);
    sim.run(120_000);
    expect(sim.violations).toEqual([]);
    expect(sim.changesOf(sim.master)).toHaveLength(1);
  });

  it('rule 2: a peer that connects and drops during the join wait leaves the decision to the failover timeout', () => {
    const n = new Solo({ role: 'Master', joinWaitTime: 30_000, failoverTimeout: 10_000 });
    n.feed({ type: 'started' });
    n.advance(1000);
    n.connect({ role: 'Backup' });
    n.feed({ type: 'peerDisconnected', reason: 'timeout' });
    n.advance(9999);
    expect(n.activity).toBe('Cold');
    n.advance(1);
    expect(n.changes()).toEqual(['Cold->Active:backup-lost']);
  });

  it('rule 3 join wait 0 with Manual recovery: the master waits one redial period, goes Active alone, then yields to the Active backup as soon as they connect', () => {
    const sim = new Sim({ joinWaitTime: 0, masterRecoveryMode: 'Manual' });
    sim.backup.persisted = { epoch: 7, pairedMaster: { uuid: 'm-uuid', address: '10.0.0.5:8060' } };
    sim.start(sim.backup);
    sim.run(40_000);
    expect(sim.activity(sim.backup)).toBe('Active');
    sim.master.persisted = { epoch: 7, pairedMaster: null };
    sim.start(sim.master);
    // A master's join wait is at least one redial period of its peer plus a margin, so a backup
    // that redials on time is met first; this one's redial comes later than that.
    sim.run(1499);
    expect(sim.changesOf(sim.master)).toEqual([]);
    sim.run(1);
    expect(sim.changesOf(sim.master)).toEqual(['Cold->Active:startup-alone']);
    sim.connect();
    sim.run(0); // the hellos cross at this very instant
    expect(sim.activity(sim.master)).toBe('Cold');
    sim.run(60_000);
    expect(sim.changesOf(sim.master)).toEqual(['Cold->Active:startup-alone', 'Active->Cold:peer-active']);
    expect(sim.activity(sim.backup)).toBe('Active');
    expect(sim.changesOf(sim.backup)).toEqual(['Cold->Active:startup-alone']);
    // Both had activated with epoch 8; the backup that keeps Active moves above it (rule 8).
    expect(sim.backup.machine!.view().epoch).toBe(9);
    expect(sim.master.machine!.view().epoch).toBe(9);
    expect(sim.violations).toEqual([]);
  });

  it('rule 6: a backup never connected to its current master never becomes Active on its own', () => {
    const n = new Solo({ role: 'Backup', joinWaitTime: 1000 });
    n.feed({ type: 'started' });
    n.advance(600_000);
    expect(n.activity).toBe('Cold');
    expect(n.events('activation.blocked')).toEqual([{ reason: 'never-connected', master: '10.0.0.5:8060' }]);
    // Pointing it at another master also counts as never connected, even with an old pairing.
    const moved = new Solo({ role: 'Backup', joinWaitTime: 1000, master: { host: '10.0.0.9', port: 8060 } }, {
      epoch: 3,
      pairedMaster: { uuid: 'm', address: '10.0.0.5:8060' },
    });
    moved.feed({ type: 'started' });
    moved.advance(600_000);
    expect(moved.activity).toBe('Cold');
  });

  it('rule 6: once connected, the pairing is persisted and a later lone start may take over', () => {
    const n = new Solo({ role: 'Backup', joinWaitTime: 1000 });
    n.feed({ type: 'started' });
    n.connect({ role: 'Master', activity: 'Active', epoch: 2 }, 'm-1');
    const persisted = n.decisions.flatMap((d) => (d.type === 'persist' ? [d.persisted] : [])).at(-1);
    expect(persisted).toEqual({ epoch: 2, activatedEpoch: 0, pairedMaster: { uuid: 'm-1', address: '10.0.0.5:8060', ssl: true } });
    const again = new Solo({ role: 'Backup', joinWaitTime: 1000 }, persisted ?? null);
    again.feed({ type: 'started' });
    again.advance(1000);
    expect(again.changes()).toEqual(['Cold->Active:startup-alone']);
    expect(again.m.view().epoch).toBe(3);
  });

  it('settings apply live: the standby level follows, and an Active Independent node turned Backup stands by until it meets its master', () => {
    const n = new Solo({ role: 'Independent' });
    n.feed({ type: 'started' });
    const backup = { ...n.m.state.settings, role: 'Backup' as const, standbyActivityLevel: 'Warm' as const, joinWaitTime: 1000 };
    n.feed({ type: 'settingsChanged', settings: backup });
    expect(n.events('role.changed')).toEqual([{ from: 'Independent', to: 'Backup' }]);
    n.advance(60_000);
    expect(n.changes()).toEqual(['Cold->Active:independent', 'Active->Warm:role-changed']);
    n.feed({ type: 'settingsChanged', settings: { ...backup, standbyActivityLevel: 'Cold' } });
    expect(n.changes().at(-1)).toBe('Warm->Cold:settings-changed');
    // A stopping node refuses commands and decides nothing more.
    n.feed({ type: 'stopRequested' });
    expect(n.feed({ type: 'failoverRequested', force: true }).error?.code).toBe('GW_ERR_API_SHUTTING_DOWN');
    n.advance(60_000);
    expect(n.activity).toBe('Cold');
  });
});
