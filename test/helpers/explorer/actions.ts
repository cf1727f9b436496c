/**
 * What the explorer generates (fast-check arbitraries): a starting configuration and a sequence of
 * steps, each an operator action or a fault followed by a wait. Weights favour the actions that
 * interact (configure, freeze/thaw, kill/start); values are few and chosen so that shrinking lands
 * on readable sequences. Also the one-line form of a step, for counterexamples.
 */
import fc from 'fast-check';

import type { Action, ConfigChange, Timings, Who } from './operator.js';
import type { HookMode, WorldConfig } from './world.js';

export interface StepSpec {
  action: Action;
  /** Sim time to let pass after the action, ms. */
  wait: number;
}

export interface Scenario {
  cfg: WorldConfig;
  steps: StepSpec[];
}

/** Valid pair-wide timings (failoverTimeout >= 2 x pingRate, as validation demands). */
export const TIMINGS: readonly Timings[] = [
  { failoverTimeout: 1000, pingRate: 200, reconnectPeriod: 500 },
  { failoverTimeout: 2000, pingRate: 500, reconnectPeriod: 1000 },
  { failoverTimeout: 3000, pingRate: 1000, reconnectPeriod: 1000 },
  { failoverTimeout: 5000, pingRate: 1000, reconnectPeriod: 2000 },
];

const who = fc.constantFrom<Who>('master', 'backup');
const hookMode = fc.constantFrom<HookMode>('none', 'none', 'yes', 'no');

export const configArb: fc.Arbitrary<WorldConfig> = fc
  .record({
    timings: fc.constantFrom(...TIMINGS),
    joinWaitTime: fc.constantFrom(0, 300, 3000),
    recovery: fc.constantFrom('Automatic' as const, 'Manual' as const),
    standby: fc.constantFrom('Cold' as const, 'Warm' as const),
    fastFailover: fc.constantFrom(true, true, false),
    pingMaxMissed: fc.constantFrom(2, 3, 10),
    delay: fc.constantFrom(1, 5, 40, 120),
    hooks: fc.tuple(fc.constantFrom<HookMode>('none', 'none', 'yes'), fc.constantFrom<HookMode>('none', 'none', 'yes')),
    hookDelay: fc.constantFrom(10, 50, 300),
    // Section 9: a third of the runs have a witness (lease TTLs a pair would use), with a late timer.
    witness: fc.constantFrom<number | null>(null, null, 2000, 5000),
    timerLag: fc.constantFrom(0, 0, 20, 120),
    slowNode: fc.constantFrom('master' as const, 'backup' as const),
  })
  .map(({ timings, ...rest }) => ({ ...rest, ...timings }));

const changeArb: fc.Arbitrary<ConfigChange> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ field: fc.constant('role' as const), value: fc.constantFrom('Master' as const, 'Backup' as const, 'Independent' as const) }) },
  { weight: 4, arbitrary: fc.record({ field: fc.constant('address' as const), value: fc.constantFrom('right' as const, 'wrong' as const) }) },
  { weight: 3, arbitrary: fc.record({ field: fc.constant('ssl' as const), value: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ field: fc.constant('recovery' as const), value: fc.constantFrom('Automatic' as const, 'Manual' as const) }) },
  { weight: 1, arbitrary: fc.record({ field: fc.constant('standby' as const), value: fc.constantFrom('Cold' as const, 'Warm' as const) }) },
  { weight: 1, arbitrary: fc.record({ field: fc.constant('fastFailover' as const), value: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ field: fc.constant('joinWait' as const), value: fc.constantFrom(0, 300, 3000) }) },
  { weight: 2, arbitrary: fc.record({ field: fc.constant('hook' as const), value: hookMode }) },
  { weight: 1, arbitrary: fc.record({ field: fc.constant('timings' as const), value: fc.constantFrom(...TIMINGS) }) },
);

const on = <T extends Action['op']>(op: T) => fc.record({ op: fc.constant(op), node: who });

export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: on('kill') as fc.Arbitrary<Action> },
  { weight: 2, arbitrary: on('stop') as fc.Arbitrary<Action> },
  { weight: 4, arbitrary: on('start') as fc.Arbitrary<Action> },
  { weight: 3, arbitrary: on('freeze') as fc.Arbitrary<Action> },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('thaw' as const), node: who, timersFirst: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ op: 'cut' as const }) },
  { weight: 3, arbitrary: fc.constant({ op: 'heal' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'stall' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'unstall' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('drop' as const), from: who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delay' as const), from: who, ms: fc.constantFrom(1, 20, 100, 140, 400, 2500) }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('configure' as const), node: who, change: changeArb, force: fc.constantFrom(false, false, true) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('failover' as const), node: who, force: fc.constantFrom(false, false, true) }) },
  { weight: 2, arbitrary: on('pause') as fc.Arbitrary<Action> },
  { weight: 2, arbitrary: on('resume') as fc.Arbitrary<Action> },
  { weight: 1, arbitrary: on('revoke') as fc.Arbitrary<Action> },
  { weight: 2, arbitrary: fc.constant({ op: 'approve' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'etcdDown' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'etcdUp' as const }) },
  { weight: 2, arbitrary: on('etcdCut') as fc.Arbitrary<Action> },
  { weight: 2, arbitrary: on('etcdHeal') as fc.Arbitrary<Action> },
);

export const waitArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 100 }) },
  { weight: 3, arbitrary: fc.integer({ min: 100, max: 2000 }) },
  { weight: 3, arbitrary: fc.integer({ min: 2000, max: 12_000 }) },
);

export const stepArb: fc.Arbitrary<StepSpec> = fc.record({ action: actionArb, wait: waitArb });

/**
 * The witness's races, searched on their own: every run has a witness and a late timer, and the
 * actions are the ones that take votes away (cuts of the link and of etcd, kills, freezes, stops).
 * The planted margin defects are found here; the general search covers everything else.
 */
const witnessConfigArb: fc.Arbitrary<WorldConfig> = fc
  .tuple(configArb, fc.constantFrom(2000, 5000), fc.constantFrom(20, 120), fc.constantFrom('master' as const, 'backup' as const))
  .map(([cfg, witness, timerLag, slowNode]) => ({ ...cfg, witness, timerLag, slowNode }));

const witnessActionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ op: 'cut' as const }) },
  { weight: 3, arbitrary: fc.constant({ op: 'heal' as const }) },
  { weight: 4, arbitrary: on('etcdCut') as fc.Arbitrary<Action> },
  { weight: 3, arbitrary: on('etcdHeal') as fc.Arbitrary<Action> },
  { weight: 1, arbitrary: fc.constant({ op: 'etcdDown' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'etcdUp' as const }) },
  { weight: 2, arbitrary: on('kill') as fc.Arbitrary<Action> },
  { weight: 1, arbitrary: on('stop') as fc.Arbitrary<Action> },
  { weight: 2, arbitrary: on('start') as fc.Arbitrary<Action> },
  { weight: 1, arbitrary: on('freeze') as fc.Arbitrary<Action> },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('thaw' as const), node: who, timersFirst: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delay' as const), from: who, ms: fc.constantFrom(1, 20, 100, 400) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('failover' as const), node: who, force: fc.constant(false) }) },
);

export type Focus = 'all' | 'witness';

export function scenarioArb(maxSteps: number, focus: Focus = 'all'): fc.Arbitrary<Scenario> {
  if (focus === 'witness') {
    return fc.record({ cfg: witnessConfigArb, steps: fc.array(fc.record({ action: witnessActionArb, wait: waitArb }), { minLength: 1, maxLength: maxSteps }) });
  }
  return fc.record({ cfg: configArb, steps: fc.array(stepArb, { minLength: 1, maxLength: maxSteps }) });
}

function changeText(c: ConfigChange): string {
  if (c.field === 'timings') return `timings=ft${c.value.failoverTimeout}/ping${c.value.pingRate}/redial${c.value.reconnectPeriod}`;
  return `${c.field}=${String(c.value)}`;
}

export function actionText(a: Action): string {
  switch (a.op) {
    case 'thaw':
      return `thaw ${a.node} (${a.timersFirst ? 'timers first' : 'frames first'})`;
    case 'drop':
      return `drop frames from ${a.from}`;
    case 'delay':
      return `delay frames from ${a.from} by ${a.ms} ms`;
    case 'configure':
      return `configure ${a.node} ${changeText(a.change)}${a.force ? ' --force' : ''}`;
    case 'failover':
      return `failover on ${a.node}${a.force ? ' --force' : ''}`;
    default:
      return 'node' in a ? `${a.op} ${a.node}` : a.op;
  }
}

export function configText(c: WorldConfig): string {
  return (
    `failoverTimeout ${c.failoverTimeout}, pingRate ${c.pingRate}, reconnectPeriod ${c.reconnectPeriod}, joinWait ${c.joinWaitTime}, ` +
    `${c.recovery}, ${c.standby}, fastFailover ${c.fastFailover}, pingMaxMissed ${c.pingMaxMissed}, delay ${c.delay} ms, ` +
    `preActivate ${c.hooks[0]}/${c.hooks[1]} after ${c.hookDelay} ms` +
    (c.witness ? `, witness lease ${c.witness} ms, ${c.slowNode ?? 'master'}'s timers ${c.timerLag ?? 0} ms late` : '')
  );
}
