import { describe, expect, it } from 'vitest';

import { Sim, type SimNode } from '../helpers/redundancy-sim.js';

/** mulberry32: small, seeded, good enough to pick operations reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OPS = ['kill', 'start', 'stop', 'freeze', 'thaw', 'cut', 'heal', 'stall', 'unstall', 'flap', 'failover', 'recovery'] as const;

export function scenario(seed: number, trace = false): { sim: Sim; log: string[] } {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const failoverTimeout = pick([2000, 3000, 5000]);
  const common = { failoverTimeout, joinWaitTime: pick([0, 500, 4000]) };
  const sim = new Sim(
    { ...common, masterRecoveryMode: pick(['Automatic', 'Manual'] as const), hooks: { onActivityChange: null, preActivate: 'pre', timeoutMs: 200 } },
    { ...common, standbyActivityLevel: pick(['Cold', 'Warm'] as const), hooks: { onActivityChange: null, preActivate: 'pre', timeoutMs: 200 } },
  );
  const maxDelay = pick([1, 20, 80, 400]);
  for (const n of sim.nodes) n.hookDelay = pick([10, 50, 300]);
  sim.delay = () => 1 + Math.floor(rnd() * maxDelay);
  const staggered = rnd() < 0.5;
  sim.handshakeDelay = () => (staggered ? 1 + Math.floor(rnd() * maxDelay) : 0);
  const vetoRate = pick([0, 0, 0.2]);
  for (const n of sim.nodes) n.preActivate = () => rnd() >= vetoRate;
  const log: string[] = [];
  if (trace) sim.trace = log;
  // Both nodes have met once, as any pair in service has (rule 6 is tested on its own).
  sim.start(sim.master);
  sim.start(sim.backup);
  sim.autoDial();
  sim.run(6000);
  const node = (): SimNode => pick(sim.nodes);
  for (let i = 0; i < 40; i++) {
    sim.run(Math.floor(rnd() * 2.5 * failoverTimeout));
    const op = pick(OPS);
    const n = node();
    log.push(`t=${sim.now} ${op} ${n.name}`);
    switch (op) {
      case 'kill':
        if (n.machine) sim.kill(n);
        break;
      case 'start':
        if (!n.machine) sim.start(n);
        break;
      case 'stop':
        if (n.machine && !n.frozen) sim.stop(n);
        break;
      case 'freeze':
        if (n.machine) sim.freeze(n);
        break;
      case 'thaw':
        if (n.frozen) sim.thaw(n, rnd() < 0.5);
        break;
      case 'cut':
        sim.cut = true;
        sim.disconnect('timeout', 1 + Math.floor(rnd() * failoverTimeout));
        break;
      case 'heal':
        sim.cut = false;
        break;
      case 'stall':
        sim.stall();
        break;
      case 'unstall':
        if (!sim.nodes.some((x) => x.frozen)) sim.unstall();
        break;
      case 'flap':
        sim.disconnect('closed', 1 + Math.floor(rnd() * 20));
        break;
      case 'failover':
        sim.input(n, { type: 'failoverRequested', force: rnd() < 0.3 });
        break;
      case 'recovery': {
        const m = sim.master;
        m.settings = { ...m.settings, masterRecoveryMode: m.settings.masterRecoveryMode === 'Manual' ? 'Automatic' : 'Manual' };
        sim.input(m, { type: 'settingsChanged', settings: m.settings });
        break;
      }
    }
  }
  // Heal everything and let the pair settle.
  log.push(`t=${sim.now} heal all`);
  for (const n of sim.nodes) {
    n.preActivate = () => true;
    if (n.frozen) sim.thaw(n);
  }
  sim.cut = false;
  sim.unstall();
  sim.run(500); // clean stops in progress finish
  for (const n of sim.nodes) if (!n.machine) sim.start(n);
  sim.run(4000 + 8 * failoverTimeout + 60_000);
  return { sim, log };
}

describe('two-node simulation', () => {
  it('never both Active while connected, over seeded random kills, restarts, partitions and failovers', () => {
    for (let seed = 1; seed <= Number(process.env.SIM_SEEDS ?? 300); seed++) {
      const { sim, log } = scenario(seed);
      const context = `seed ${seed}\n${log.join('\n')}`;
      expect(sim.violations, context).toEqual([]);

      // Settled: connected, exactly one Active.
      const [m, b] = sim.nodes.map((n) => n.machine!.view());
      expect(m!.peer?.connected && b!.peer?.connected, context).toBe(true);
      expect([m!.activity, b!.activity].filter((a) => a === 'Active'), context).toHaveLength(1);

      // Epochs never go back on a node, and the Active node holds the highest one ever used.
      const all = sim.nodes.flatMap((n) => n.decisions.filter((d) => d.decision.type === 'persist').map((d) => d.decision));
      for (const n of sim.nodes) {
        const epochs = n.decisions.flatMap((d) => (d.decision.type === 'persist' ? [d.decision.persisted.epoch] : []));
        expect(epochs, context).toEqual([...epochs].sort((x, y) => x - y));
      }
      const highest = Math.max(...all.map((d) => (d.type === 'persist' ? d.persisted.epoch : 0)));
      const active = m!.activity === 'Active' ? m! : b!;
      expect(active.epoch, context).toBe(highest);

      // Flapping is bounded: no node changes activity more often than the operations could cause.
      for (const n of sim.nodes) expect(n.changes.length, context).toBeLessThanOrEqual(4 * log.length);
    }
  });
});
