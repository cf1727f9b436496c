/**
 * Rules 10-12 and stalled processes (DESIGN.md section 4), on the fake-clock pair. Each case that
 * made two Active nodes before is named after what broke, and most are run once more with the old
 * behaviour planted back (MachineInit.defects) to show the test would catch it.
 */
import { describe, expect, it } from 'vitest';

import { effectiveJoinWait, JOIN_MARGIN_MS, RedundancyMachine, wouldDualActive } from '../../src/core/redundancy/index.js';
import type { MachineSettings, PlantedDefects } from '../../src/core/redundancy/index.js';
import { settings } from '../helpers/redundancy-fixtures.js';
import { Solo } from '../helpers/redundancy-solo.js';
import { Sim, type SimNode } from '../helpers/redundancy-sim.js';

/** Restart a node's machine with planted defects (the Sim builds plain ones). */
function plant(sim: Sim, n: SimNode, defects: PlantedDefects): void {
  n.machine = new RedundancyMachine({ nodeId: n.uuid, settings: n.settings, persisted: n.persisted, defects });
  sim.input(n, { type: 'started' });
}

/** Start both nodes (with planted defects, if any), dialling, and let them pair for 5 s. */
function boot(sim: Sim, defects?: PlantedDefects): Sim {
  for (const n of sim.nodes) {
    if (defects) plant(sim, n, defects);
    else sim.start(n);
  }
  sim.autoDial();
  sim.run(5000);
  return sim;
}

function startPair(master: Partial<MachineSettings> = {}, backup: Partial<MachineSettings> = {}, defects?: PlantedDefects): Sim {
  const sim = boot(new Sim(master, backup), defects);
  expect(sim.activity(sim.master)).toBe('Active');
  expect(sim.activity(sim.backup)).toBe('Cold');
  return sim;
}

/**
 * `gwctl redundancy configure` on node n, as the daemon applies it: the machine first, then the
 * link closes with n's own goodbye, which carries n's activity after the change.
 */
function configure(sim: Sim, n: SimNode, over: Partial<MachineSettings>, closesLink: boolean): void {
  n.settings = { ...n.settings, ...over, master: { ...n.settings.master, ...(over.master ?? {}) } };
  sim.input(n, { type: 'settingsChanged', settings: n.settings });
  if (!closesLink || sim.conn === null) return;
  const active = sim.activity(n) === 'Active';
  const peer = sim.peerOf(n);
  const machine = peer.machine;
  sim.conn = null;
  sim.input(n, { type: 'peerDisconnected', reason: 'local' });
  sim.at(sim.now + 1, () => {
    if (peer.machine === machine) sim.input(peer, { type: 'peerDisconnected', reason: 'bye', peerActive: active });
  });
}

function bothActiveAt(sim: Sim): boolean {
  return sim.activity(sim.master) === 'Active' && sim.activity(sim.backup) === 'Active';
}

/** Run `ms` in 10 ms steps; true if both were Active at any of them. */
function everBothActive(sim: Sim, ms: number): boolean {
  let seen = false;
  for (let t = 0; t < ms; t += 10) {
    sim.run(10);
    seen ||= bothActiveAt(sim);
  }
  return seen;
}

/** Manual recovery, the master killed and back: the backup Active, the master Cold, connected. */
function backupActiveMasterCold(defects?: PlantedDefects): Sim {
  const sim = startPair({ masterRecoveryMode: 'Manual' }, { masterRecoveryMode: 'Manual' }, defects);
  sim.kill(sim.master);
  sim.run(5000);
  expect(sim.activity(sim.backup)).toBe('Active');
  if (defects) plant(sim, sim.master, defects);
  else sim.start(sim.master);
  sim.run(5000);
  expect(sim.activity(sim.master)).toBe('Cold');
  expect(sim.master.machine!.view().peer?.connected).toBe(true);
  return sim;
}

describe('rule 10: a goodbye says whether the sender is still Active', () => {
  it('an Active backup sent to another master address leaves Active: the Cold master keeps Cold with hold peer-left-active (was: both Active)', () => {
    const sim = backupActiveMasterCold();
    sim.cut = true; // the new address answers nothing
    configure(sim, sim.backup, { master: { ...sim.backup.settings.master, host: '10.0.0.99' } }, true);
    expect(everBothActive(sim, 60_000)).toBe(false);
    expect(sim.activity(sim.backup)).toBe('Active');
    expect(sim.activity(sim.master)).toBe('Cold');
    expect(sim.master.machine!.view().hold).toBe('peer-left-active');
    expect(sim.eventsOf(sim.master, 'peer.lost').at(-1)).toEqual({ type: 'peer.lost', data: { how: 'left-active', uuid: 'b-uuid' } });
  });

  it('the same with the old goodbye planted back: the master takes over (backup-stopped) and both are Active', () => {
    const sim = backupActiveMasterCold({ goodbyeMeansStopped: true });
    sim.cut = true;
    configure(sim, sim.backup, { master: { ...sim.backup.settings.master, host: '10.0.0.99' } }, true);
    expect(everBothActive(sim, 60_000)).toBe(true);
  });

  it('a standing-by backup switched to SSL does not read its own goodbye as its master stopping (was: Active within 25 ms, for good)', () => {
    const sim = startPair({}, { master: { ...settings().master, enableSsl: false, port: 8088 } });
    sim.cut = true; // it now dials TLS to the plain port: nothing links
    configure(sim, sim.backup, { master: { ...sim.backup.settings.master, enableSsl: true } }, true);
    expect(everBothActive(sim, 120_000)).toBe(false);
    expect(sim.changesOf(sim.backup)).toEqual([]);
    // Never connected over the new transport: it does not count as paired (rule 6).
    expect(sim.backup.machine!.view().hold).toBe('never-connected');
  });

  it('a master address typo and back: the backup stands by and meets its master again (was: took over the moment the address was restored)', () => {
    const sim = startPair({ masterRecoveryMode: 'Manual' });
    const good = sim.backup.settings.master;
    sim.cut = true;
    configure(sim, sim.backup, { master: { ...good, host: '10.0.0.55' } }, true);
    sim.run(3000);
    configure(sim, sim.backup, { master: good }, false);
    sim.cut = false;
    expect(everBothActive(sim, 60_000)).toBe(false);
    expect(sim.changesOf(sim.backup)).toEqual([]);
    expect(sim.activity(sim.master)).toBe('Active');
    expect(sim.backup.machine!.view().peer?.connected).toBe(true);
  });

  it('reverse case: an Active master made Independent stays the Active node; the backup does not take over', () => {
    const sim = startPair();
    sim.cut = true; // an Independent node links with nobody
    configure(sim, sim.master, { role: 'Independent' }, true);
    expect(everBothActive(sim, 60_000)).toBe(false);
    expect(sim.activity(sim.master)).toBe('Active');
    expect(sim.activity(sim.backup)).toBe('Cold');
    expect(sim.backup.machine!.view().hold).toBe('peer-left-active');
  });

  it('a clean stop still hands over at once: the stopping node stood down first', () => {
    const sim = startPair();
    const at = sim.now;
    sim.stop(sim.master);
    sim.run(100);
    expect(sim.changesOf(sim.backup)).toEqual(['Cold->Active:master-stopped']);
    expect(sim.backup.changes[0]!.t - at).toBeLessThan(50);
  });

  it("this node's own close (a revoked certificate) while its peer is Active: it keeps standing by", () => {
    const sim = startPair();
    sim.cut = true;
    sim.conn = null;
    sim.input(sim.backup, { type: 'peerDisconnected', reason: 'local' });
    sim.input(sim.master, { type: 'peerDisconnected', reason: 'bye', peerActive: false });
    sim.run(120_000);
    expect(sim.activity(sim.backup)).toBe('Cold');
    expect(sim.backup.machine!.view().hold).toBe('peer-left-active');
    expect(sim.activity(sim.master)).toBe('Active');
  });
});

/** Timings of the real-process tests: failoverTimeout 1000 ms, pings every 200 ms. */
const FAST: Partial<MachineSettings> = { failoverTimeout: 1000, master: { ...settings().master, pingRate: 200 } };

function fastPair(defects?: PlantedDefects): Sim {
  const sim = new Sim(FAST, FAST);
  sim.pingRate = 200;
  boot(sim, defects);
  expect(sim.activity(sim.master)).toBe('Active');
  return sim;
}

describe('stalled processes: a late timer is not silence', () => {
  it('a frozen standby resumes without taking over from its healthy master (was: Active, reason master-lost)', () => {
    for (const timersFirst of [true, false]) {
      const sim = fastPair();
      sim.freeze(sim.backup);
      sim.run(1500);
      sim.thaw(sim.backup, timersFirst);
      expect(everBothActive(sim, 10_000)).toBe(false);
      expect(sim.changesOf(sim.backup)).toEqual([]);
      expect(sim.eventsOf(sim.backup, 'process.stalled')).toHaveLength(1);
    }
  });

  it('the same with stalls ignored (planted): the thawed standby takes over from the healthy master', () => {
    const sim = fastPair({ ignoreStalls: true });
    sim.freeze(sim.backup);
    sim.run(1500);
    sim.thaw(sim.backup, true);
    sim.run(10);
    expect(sim.changesOf(sim.backup)).toContain('Cold->Active:master-lost');
  });

  it('an Active node frozen for longer than its peer waits stands down on its first step after it resumes (reason frozen)', () => {
    const sim = fastPair();
    sim.freeze(sim.master);
    sim.run(1300);
    expect(sim.activity(sim.backup)).toBe('Active');
    sim.thaw(sim.master, false); // frames first: the standing-down must not wait for a timer
    expect(sim.activity(sim.master)).toBe('Cold');
    expect(sim.changesOf(sim.master).at(-1)).toBe('Active->Cold:frozen');
    expect(everBothActive(sim, 10_000)).toBe(false);
    expect(sim.violations).toEqual([]);
  });

  it('an Active node frozen for less than its peer waits keeps Active', () => {
    const sim = fastPair();
    sim.freeze(sim.master);
    sim.run(500);
    sim.thaw(sim.master, true);
    sim.run(10_000);
    expect(sim.changesOf(sim.master)).toEqual(['Cold->Active:peer-standby']);
    expect(sim.changesOf(sim.backup)).toEqual([]);
  });

  it('a genuinely silent peer is still taken over from after failoverTimeout of listening (the watch ticks run on time)', () => {
    const n = new Solo({ ...FAST, role: 'Backup', joinWaitTime: 1000 }, { epoch: 1, pairedMaster: { uuid: 'peer', address: '10.0.0.5:8060', ssl: true } });
    n.feed({ type: 'started' });
    n.connect({ role: 'Master', activity: 'Active', epoch: 1 });
    n.advance(999);
    expect(n.activity).toBe('Cold');
    n.advance(1);
    expect(n.changes()).toEqual(['Cold->Active:master-lost']);
    expect(n.events('process.stalled')).toEqual([]);
  });

  it('a stall counts as deaf time: the peer gets its full failoverTimeout of listening after the resume', () => {
    const n = new Solo({ ...FAST, role: 'Backup', joinWaitTime: 1000 }, { epoch: 1, pairedMaster: { uuid: 'peer', address: '10.0.0.5:8060', ssl: true } });
    n.feed({ type: 'started' });
    n.connect({ role: 'Master', activity: 'Active', epoch: 1 });
    n.now += 5000; // frozen: the next input comes long after the deadline it asked for
    n.feed({ type: 'tick' });
    expect(n.activity).toBe('Cold');
    // Deaf since the last input it handled (the hello), when it was surely running.
    expect(n.events('process.stalled')).toEqual([{ ms: 5000, activity: 'Cold' }]);
    n.advance(800);
    expect(n.activity).toBe('Cold');
    n.advance(400);
    expect(n.changes()).toEqual(['Cold->Active:master-lost']);
  });
});

describe('join wait shorter than the peer redial period', () => {
  it("a master's effective join wait is at least one redial period plus a margin", () => {
    expect(effectiveJoinWait(settings({ role: 'Master', joinWaitTime: 200 }))).toBe(1000 + JOIN_MARGIN_MS);
    expect(effectiveJoinWait(settings({ role: 'Master', joinWaitTime: 30_000 }))).toBe(30_000);
    expect(effectiveJoinWait(settings({ role: 'Backup', joinWaitTime: 200 }))).toBe(JOIN_MARGIN_MS);
    expect(effectiveJoinWait(settings({ role: 'Backup', joinWaitTime: 5000 }))).toBe(5000);
    expect(effectiveJoinWait(settings({ role: 'Independent', joinWaitTime: 0 }))).toBe(0);
  });

  it('a master restarted with a join wait below the redial period meets its Active backup before deciding (was: both Active until the redial)', () => {
    for (const defects of [undefined, { noJoinWaitFloor: true }]) {
      const sim = startPair({ masterRecoveryMode: 'Manual', joinWaitTime: 200 }, {}, defects);
      sim.kill(sim.master);
      sim.run(5000);
      expect(sim.activity(sim.backup)).toBe('Active');
      sim.run(700); // restart just after a redial was refused: the next is reconnectPeriod away
      if (defects) plant(sim, sim.master, defects);
      else sim.start(sim.master);
      expect(everBothActive(sim, 5000)).toBe(defects !== undefined);
    }
  });
});

describe('rule 12: pause', () => {
  it('a paused backup does not take over when its master is killed; resume lets it', () => {
    const sim = startPair();
    for (const n of sim.nodes) sim.input(n, { type: 'pauseChanged', paused: true });
    sim.kill(sim.master);
    sim.run(60_000);
    expect(sim.activity(sim.backup)).toBe('Cold');
    expect(sim.backup.machine!.view()).toMatchObject({ paused: true, hold: 'paused' });
    sim.input(sim.backup, { type: 'pauseChanged', paused: false });
    expect(sim.changesOf(sim.backup)).toEqual(['Cold->Active:master-gone']);
  });

  it('while paused, automatic recovery waits, but an operator failover still works', () => {
    const sim = startPair();
    sim.kill(sim.master);
    sim.run(5000);
    for (const n of sim.nodes) if (n.machine) sim.input(n, { type: 'pauseChanged', paused: true });
    sim.start(sim.master);
    sim.input(sim.master, { type: 'pauseChanged', paused: true });
    sim.run(10_000);
    expect(sim.activity(sim.master)).toBe('Cold');
    expect(sim.activity(sim.backup)).toBe('Active');
    const step = sim.input(sim.master, { type: 'failoverRequested', force: false });
    expect(step?.error).toBeNull();
    sim.run(2000);
    expect(sim.activity(sim.master)).toBe('Active');
    expect(sim.activity(sim.backup)).toBe('Cold');
    expect(sim.violations).toEqual([]);
  });
});

describe('rule 11: a role change that would make two Active', () => {
  const peer = (activity: 'Active' | 'Cold', connected = true) => ({ connected, uuid: 'p', address: null, activity, epoch: 1 });
  it('is a standing-by node made Independent or Master while its connected peer is Active', () => {
    expect(wouldDualActive({ activity: 'Cold', peer: peer('Active') }, 'Backup', 'Independent')).toBe(true);
    expect(wouldDualActive({ activity: 'Warm', peer: peer('Active') }, 'Backup', 'Master')).toBe(true);
    expect(wouldDualActive({ activity: 'Cold', peer: peer('Active') }, 'Master', 'Independent')).toBe(true);
  });
  it('is not a change of an Active node, towards Backup, without a connected Active peer, or no change at all', () => {
    expect(wouldDualActive({ activity: 'Active', peer: peer('Cold') }, 'Master', 'Independent')).toBe(false);
    expect(wouldDualActive({ activity: 'Cold', peer: peer('Active') }, 'Master', 'Backup')).toBe(false);
    expect(wouldDualActive({ activity: 'Cold', peer: peer('Active', false) }, 'Backup', 'Independent')).toBe(false);
    expect(wouldDualActive({ activity: 'Cold', peer: peer('Cold') }, 'Backup', 'Independent')).toBe(false);
    expect(wouldDualActive({ activity: 'Cold', peer: null }, 'Backup', 'Independent')).toBe(false);
    expect(wouldDualActive({ activity: 'Cold', peer: peer('Active') }, 'Backup', 'Backup')).toBe(false);
  });
});
