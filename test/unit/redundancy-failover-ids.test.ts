import { describe, expect, it } from 'vitest';

import { RedundancyMachine, type MachineEvent, type MachineInput, type PersistedRedundancy } from '../../src/core/redundancy/index.js';
import { settings } from '../helpers/redundancy-fixtures.js';
import { Sim, type SimNode } from '../helpers/redundancy-sim.js';

function runningPair(): Sim {
  const sim = new Sim({}, {});
  sim.start(sim.master);
  sim.start(sim.backup);
  sim.autoDial();
  sim.run(5000);
  return sim;
}

const ids = (sim: Sim, n: SimNode, type: MachineEvent['type']): string[] =>
  sim.eventsOf(n, type).map((e) => (e.data as { id: string }).id);

/** One run of a node's process: a machine made from what the last run persisted. */
function run(bootId: string, persisted: PersistedRedundancy | null, vetoes: boolean) {
  const hooks = { onActivityChange: null, preActivate: vetoes ? '/etc/gwd/veto' : null, timeoutMs: 1000 };
  const m = new RedundancyMachine({ nodeId: '3f76a1b2-0000-4000-8000-000000000001', bootId, settings: settings({ role: 'Master', joinWaitTime: 30_000, hooks }), persisted });
  let now = 0;
  const feed = (input: Omit<MachineInput, 'now'>) => m.handle({ ...input, now: (now += 10) } as MachineInput);
  feed({ type: 'started' });
  const step = feed({ type: 'failoverRequested', force: true });
  const pre = step.decisions.find((d) => d.type === 'runPreActivate');
  if (pre?.type === 'runPreActivate') feed({ type: 'preActivateResult', id: pre.id, ok: false, detail: 'exit 1' });
  return { id: step.failoverId!, view: m.view() };
}

describe('failover ids (redundancy history)', () => {
  it('a failover asked on the standing-by backup is recorded under the same id by the master that stands down', () => {
    const sim = runningPair();
    const step = sim.input(sim.backup, { type: 'failoverRequested', force: false })!;
    sim.run(10_000);
    const id = step.failoverId!;
    expect(sim.activity(sim.backup)).toBe('Active');
    expect(ids(sim, sim.backup, 'failover.completed')).toEqual([id]);
    // The master stood down for it: it says so under the backup's id, and sees it complete.
    expect(sim.eventsOf(sim.master, 'failover.requested')).toEqual([{ type: 'failover.requested', data: { id, origin: 'peer', force: false } }]);
    expect(sim.eventsOf(sim.master, 'failover.completed')).toEqual([{ type: 'failover.completed', data: { id, epoch: 2 } }]);
    // Requested before the handover raised the epoch: e1, the epoch the pair had then.
    expect(id).toMatch(/-e1-f\d+$/);
    expect(sim.violations).toEqual([]);
  });

  it('a failover asked on the Active master completes under one id on both nodes, never twice on the master', () => {
    const sim = runningPair();
    const step = sim.input(sim.master, { type: 'failoverRequested', force: false })!;
    sim.run(10_000);
    const id = step.failoverId!;
    expect(ids(sim, sim.master, 'failover.completed')).toEqual([id]);
    expect(ids(sim, sim.backup, 'failover.completed')).toEqual([id]);
    expect(ids(sim, sim.master, 'failover.requested')).toEqual([id]);
    expect(ids(sim, sim.backup, 'failover.requested')).toEqual([id]);
  });

  it('ids differ across restarts, also when the epoch did not move (each run has its own boot id)', () => {
    // Two runs at the same persisted epoch, each with a failover that a preActivate veto ends:
    // before boot ids, both were `<uuid>:f1`.
    const first = run('a1b2c3', { epoch: 4, pairedMaster: null }, true);
    const second = run('d4e5f6', { epoch: 4, pairedMaster: null }, true);
    expect(first.view.epoch).toBe(4);
    expect(first.id).toBe('3f76a1b2-e4-a1b2c3-f1');
    expect(second.id).toBe('3f76a1b2-e4-d4e5f6-f1');
    // A failover that activates raises the epoch, which is in the next run's ids as well.
    const third = run('0a0b0c', { epoch: 4, pairedMaster: null }, false);
    expect(third.view.activity).toBe('Active');
    expect(third.view.epoch).toBe(5);
    expect(run('0a0b0c', { epoch: third.view.epoch, pairedMaster: null }, true).id).toBe('3f76a1b2-e5-0a0b0c-f1');
  });

  it("each node records the peer's activity changes as the peer reported them (peer.activity.changed)", () => {
    const sim = runningPair();
    // The master went Active once it heard the backup: the backup saw that, with the master's reason.
    const masterOwn = sim.eventsOf(sim.master, 'activity.changed').map((e) => e.data);
    expect(sim.eventsOf(sim.backup, 'peer.activity.changed').map((e) => e.data)).toEqual(
      masterOwn.map((d) => ({ uuid: expect.any(String), from: d.from, to: d.to, reason: d.reason, epoch: d.epoch })),
    );
    const before = sim.eventsOf(sim.backup, 'peer.activity.changed').length;
    sim.input(sim.backup, { type: 'failoverRequested', force: false });
    sim.run(10_000);
    const onBackup = sim.eventsOf(sim.backup, 'peer.activity.changed').slice(before).map((e) => e.data as { from: string; to: string; reason: string | null });
    // The master stood down for the backup, which saw it in the master's confirm.
    expect(onBackup).toEqual([expect.objectContaining({ from: 'Active', to: sim.activity(sim.master), reason: 'stand-down-confirmed' })]);
    const onMaster = sim.eventsOf(sim.master, 'peer.activity.changed').map((e) => e.data as { to: string; reason: string | null; epoch: number });
    const own = sim.eventsOf(sim.backup, 'activity.changed').at(-1)!.data as { to: string; reason: string; epoch: number };
    expect(onMaster.at(-1)).toEqual(expect.objectContaining({ to: 'Active', reason: own.reason, epoch: own.epoch }));
  });
});
