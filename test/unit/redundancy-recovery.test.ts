import { describe, expect, it } from 'vitest';

import { Solo } from '../helpers/redundancy-solo.js';
import { Sim } from '../helpers/redundancy-sim.js';

/** Master killed, backup took over; then the master is started again. */
function masterReturns(master = {}, backup = {}): Sim {
  const sim = new Sim(master, backup);
  sim.start(sim.master);
  sim.start(sim.backup);
  sim.autoDial();
  sim.run(5000);
  sim.kill(sim.master);
  sim.run(5000);
  expect(sim.activity(sim.backup)).toBe('Active');
  sim.master.changes = []; // count from the restart on
  sim.master.sent = [];
  sim.start(sim.master);
  return sim;
}

describe('redundancy master recovery (rules 3 and 5)', () => {
  it('rule 3 Automatic recovery: the returning master asks the backup to stand down and becomes Active only after it confirms', () => {
    const sim = masterReturns();
    sim.run(2000);
    expect(sim.activity(sim.master)).toBe('Active');
    expect(sim.activity(sim.backup)).toBe('Cold');
    expect(sim.changesOf(sim.master)).toEqual(['Cold->Active:recovery-automatic']);
    expect(sim.changesOf(sim.backup)).toEqual(['Cold->Active:master-gone', 'Active->Cold:recovery-automatic']);
    // The backup stood down strictly before the master became Active: no overlap at all.
    const backupDown = sim.backup.changes[1]!.t;
    const masterUp = sim.master.changes[0]!.t;
    expect(backupDown).toBeLessThan(masterUp);
    expect(sim.violations).toEqual([]);
  });

  it('rule 3 Manual recovery: the returning master stays in its standby level and the backup keeps Active', () => {
    const sim = masterReturns({ masterRecoveryMode: 'Manual', standbyActivityLevel: 'Warm' });
    sim.run(120_000);
    expect(sim.activity(sim.master)).toBe('Warm');
    expect(sim.activity(sim.backup)).toBe('Active');
    expect(sim.changesOf(sim.master)).toEqual([]);
    expect(sim.master.sent.some((s) => s.message.type === 'redundancy.standDownRequest')).toBe(false);
    // Switching the master to Automatic later applies live: it takes control back then.
    sim.master.settings = { ...sim.master.settings, masterRecoveryMode: 'Automatic' };
    sim.input(sim.master, { type: 'settingsChanged', settings: sim.master.settings });
    sim.run(1000);
    expect(sim.changesOf(sim.master)).toEqual(['Warm->Active:recovery-automatic']);
    expect(sim.activity(sim.backup)).toBe('Cold');
    expect(sim.violations).toEqual([]);
  });

  it('rule 3: never two Active while connected, even for a master that was Active when the link came up (healed partition, Automatic)', () => {
    const sim = new Sim();
    sim.start(sim.master);
    sim.start(sim.backup);
    sim.autoDial();
    sim.run(5000);
    sim.cut = true;
    sim.disconnect('timeout', 3000);
    sim.run(20_000);
    expect([sim.activity(sim.master), sim.activity(sim.backup)]).toEqual(['Active', 'Active']);
    sim.cut = false;
    sim.run(5000);
    expect(sim.violations).toEqual([]);
    expect(sim.activity(sim.master)).toBe('Active');
    expect(sim.activity(sim.backup)).toBe('Cold');
    // The backup's epoch was the higher one; the master's new activation is above both.
    expect(sim.master.machine!.view().epoch).toBeGreaterThan(sim.backup.changes[0]!.epoch);
  });

  it('rule 3: a healed partition under Manual recovery leaves the Active backup in charge', () => {
    const sim = new Sim({ masterRecoveryMode: 'Manual' });
    sim.start(sim.master);
    sim.start(sim.backup);
    sim.autoDial();
    sim.run(5000);
    sim.cut = true;
    sim.disconnect('timeout', 3000);
    sim.run(20_000);
    sim.cut = false;
    sim.run(5000);
    expect(sim.violations).toEqual([]);
    expect(sim.activity(sim.master)).toBe('Cold');
    expect(sim.activity(sim.backup)).toBe('Active');
    expect(sim.changesOf(sim.master).at(-1)).toBe('Active->Cold:peer-active');
  });

  it('rule 5: a backup connected to an Active master stands by at its own level; connected to a standing-by master it stays Active', () => {
    const b = new Solo({ role: 'Backup', standbyActivityLevel: 'Warm' }, { epoch: 1, pairedMaster: { uuid: 'm', address: '10.0.0.5:8060' } });
    b.feed({ type: 'started' });
    b.connect({ role: 'Master', activity: 'Active', epoch: 1 }, 'm');
    for (let i = 0; i < 60; i++) {
      b.advance(1000);
      b.feed({ type: 'peerAlive' }); // the link's pings keep the master alive
    }
    expect(b.activity).toBe('Warm');
    expect(b.changes()).toEqual([]);
    const standby = new Solo({ role: 'Backup' }, { epoch: 1, pairedMaster: { uuid: 'm', address: '10.0.0.5:8060' } });
    standby.feed({ type: 'started' });
    standby.advance(30_000);
    expect(standby.activity).toBe('Active');
    standby.connect({ role: 'Master', activity: 'Cold', epoch: 1, recoveryMode: 'Manual' }, 'm');
    standby.advance(5000);
    expect(standby.activity).toBe('Active');
    // ...and when a master it hears from as Active is under Automatic recovery, it yields at once.
    standby.msg({ type: 'redundancy.state', role: 'Master', activity: 'Active', epoch: 1, recoveryMode: 'Automatic', reason: 'x', failoverIds: [], replyTo: null });
    expect(standby.changes().at(-1)).toBe('Active->Cold:peer-active');
  });

  it('a link that flaps: short drops change nothing, long ones cost a bounded number of changes, never both Active while connected', () => {
    const sim = new Sim();
    sim.start(sim.master);
    sim.start(sim.backup);
    sim.autoDial();
    sim.run(5000);
    // 50 drops shorter than failoverTimeout (redials succeed): not a single activity change.
    for (let i = 0; i < 50; i++) {
      sim.disconnect('closed', 2);
      sim.run(1500);
    }
    expect(sim.changesOf(sim.master)).toEqual(['Cold->Active:peer-standby']);
    expect(sim.changesOf(sim.backup)).toEqual([]);
    // 10 partitions longer than failoverTimeout: each costs the backup one takeover and one
    // stand-down, the master at most one yield and one recovery.
    for (let i = 0; i < 10; i++) {
      sim.cut = true;
      sim.disconnect('timeout', 500);
      sim.run(12_000);
      sim.cut = false;
      sim.run(3000);
    }
    expect(sim.violations).toEqual([]);
    expect(sim.backup.changes.length).toBeLessThanOrEqual(2 * 10);
    expect(sim.master.changes.length).toBeLessThanOrEqual(1 + 2 * 10);
    expect(sim.activity(sim.master)).toBe('Active');
    expect(sim.activity(sim.backup)).toBe('Cold');
  });
});
