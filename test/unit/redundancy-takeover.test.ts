import { describe, expect, it } from 'vitest';

import { Solo } from '../helpers/redundancy-solo.js';
import { Sim } from '../helpers/redundancy-sim.js';

/** A running pair: master Active, backup Cold, both connected and settled. */
function runningPair(master = {}, backup = {}): Sim {
  const sim = new Sim(master, backup);
  sim.start(sim.master);
  sim.start(sim.backup);
  sim.autoDial();
  sim.run(5000);
  expect(sim.activity(sim.master)).toBe('Active');
  expect(sim.activity(sim.backup)).toBe('Cold');
  return sim;
}

function lastHeardByBackup(sim: Sim): number {
  return sim.backup.machine!.state.peer.lastHeard!;
}

describe('redundancy takeover (rules 4 and 6)', () => {
  it('rule 6 master silent (no close): the backup waits the full failoverTimeout after the last message, then takes over (master-lost)', () => {
    const sim = runningPair();
    sim.freeze(sim.master); // SIGSTOP: no close, no bye, no more messages
    const heard = lastHeardByBackup(sim);
    sim.runUntil(heard + 10_000 - 1);
    expect(sim.activity(sim.backup)).toBe('Cold');
    sim.runUntil(heard + 10_000);
    expect(sim.changesOf(sim.backup)).toEqual(['Cold->Active:master-lost']);
    // SIGCONT: exactly one Active again; under Automatic recovery the master takes back control.
    sim.thaw(sim.master);
    sim.run(30_000);
    expect(sim.violations).toEqual([]);
    expect(sim.activity(sim.master)).toBe('Active');
    expect(sim.activity(sim.backup)).toBe('Cold');
    // The thawed master sees it was stalled for longer than the backup waits: it stands down
    // before anything else (frozen), learns the backup's fresh state, and recovers (Automatic).
    expect(sim.changesOf(sim.master)).toEqual(['Cold->Active:peer-standby', 'Active->Cold:frozen', 'Cold->Active:recovery-automatic']);
    expect(sim.changesOf(sim.backup)).toEqual(['Cold->Active:master-lost', 'Active->Cold:recovery-automatic']);
  });

  it('rule 6 master process gone: a close without bye followed by a refused redial makes the backup Active at once (master-gone)', () => {
    const sim = runningPair();
    const killedAt = sim.now;
    sim.kill(sim.master);
    sim.run(sim.reconnectPeriod + 1);
    expect(sim.changesOf(sim.backup)).toEqual(['Cold->Active:master-gone']);
    const change = sim.backup.changes[0]!;
    expect(change.t - killedAt).toBeLessThanOrEqual(sim.reconnectPeriod);
  });

  it('rule 6: a close without bye whose redial is not refused (host unreachable) waits the full failoverTimeout', () => {
    const sim = runningPair();
    sim.cut = true; // redials time out instead of being refused
    sim.disconnect('closed');
    const heard = lastHeardByBackup(sim);
    sim.runUntil(heard + 10_000 - 1);
    expect(sim.activity(sim.backup)).toBe('Cold');
    sim.runUntil(heard + 10_000);
    expect(sim.changesOf(sim.backup)).toEqual(['Cold->Active:master-lost']);
  });

  it('rule 6 with fastFailover false: even a refused redial waits the full failoverTimeout', () => {
    const sim = runningPair({}, { fastFailover: false });
    sim.kill(sim.master);
    const heard = lastHeardByBackup(sim);
    sim.runUntil(heard + 10_000 - 1);
    expect(sim.activity(sim.backup)).toBe('Cold');
    sim.runUntil(heard + 10_000);
    expect(sim.changesOf(sim.backup)).toEqual(['Cold->Active:master-lost']);
  });

  it('rule 6 master stopping cleanly: it stands down, says so, and the backup takes over at once (master-stopped)', () => {
    const sim = runningPair();
    const stoppedAt = sim.now;
    sim.stop(sim.master);
    sim.run(100);
    expect(sim.master.changes.map((c) => `${c.to}:${c.reason}`).at(-1)).toBe('Cold:stopping');
    expect(sim.changesOf(sim.backup)).toEqual(['Cold->Active:master-stopped']);
    expect(sim.backup.changes[0]!.t - stoppedAt).toBeLessThan(50);
    const sent = sim.master.sent.map((s) => s.message.type);
    expect(sent.slice(-2)).toEqual(['redundancy.state', 'redundancy.steppingDown']);
    expect(sim.violations).toEqual([]);
  });

  it('rule 4: a master standing by behind an Active backup takes over when that backup is lost, stopped or gone', () => {
    for (const how of ['silent', 'stopped', 'killed'] as const) {
      const sim = runningPair({ masterRecoveryMode: 'Manual' });
      sim.input(sim.master, { type: 'failoverRequested', force: false });
      sim.run(1000);
      expect(sim.activity(sim.backup), how).toBe('Active');
      expect(sim.activity(sim.master), how).toBe('Cold');
      const from = sim.now;
      if (how === 'silent') sim.freeze(sim.backup);
      if (how === 'stopped') sim.stop(sim.backup);
      if (how === 'killed') sim.kill(sim.backup);
      sim.run(12_000);
      const reason = { silent: 'backup-lost', stopped: 'backup-stopped', killed: 'backup-lost' }[how];
      expect(sim.changesOf(sim.master).at(-1), how).toBe(`Cold->Active:${reason}`);
      const took = sim.master.changes.at(-1)!.t - from;
      if (how === 'stopped') expect(took).toBeLessThan(50);
      else expect(took).toBeGreaterThanOrEqual(9000);
    }
  });

  it('rule 6: a backup whose hello is on its way does not take over alone until the link is up or the attempt failed', () => {
    const b = new Solo({ role: 'Backup', joinWaitTime: 1000 }, { epoch: 1, pairedMaster: { uuid: 'm', address: '10.0.0.5:8060' } });
    b.feed({ type: 'started' });
    b.advance(900);
    b.feed({ type: 'linkConnecting' });
    b.advance(5000); // the join wait ended meanwhile: the master would read a stale "Cold" in our hello
    expect(b.activity).toBe('Cold');
    b.feed({ type: 'peerDisconnected', reason: 'closed' }); // the attempt failed
    expect(b.changes()).toEqual(['Cold->Active:startup-alone']);
    // A hello exchange that hangs blocks a takeover for at most failoverTimeout.
    const hung = new Solo({ role: 'Backup', joinWaitTime: 1000 }, { epoch: 1, pairedMaster: { uuid: 'm', address: '10.0.0.5:8060' } });
    hung.feed({ type: 'started' });
    hung.feed({ type: 'linkConnecting' });
    hung.advance(9999);
    expect(hung.activity).toBe('Cold');
    hung.advance(1);
    expect(hung.activity).toBe('Active');
  });
});
