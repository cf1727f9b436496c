/**
 * Runs scenarios on the world and searches with fast-check. `runScenario` is a pure function of
 * (configuration, steps, planted defects): the same input always gives the same run, so fast-check
 * can shrink a failing sequence and a seed replays it. Every loop is bounded: a run stops at its
 * first violation or after MAX_EVENTS events, a search after its run count or its time budget.
 */
import fc from 'fast-check';

import type { PlantedDefects } from '../../../src/core/redundancy/index.js';
import { actionText, configText, scenarioArb, type Focus, type Scenario } from './actions.js';
import { Monitor, type Violation } from './invariants.js';
import { applyAction } from './operator.js';
import { World } from './world.js';

/** Far more than any run needs (a run has a few thousand events); a guard against a loop. */
export const MAX_EVENTS = 400_000;

export interface RunResult {
  violations: Violation[];
  /** Steps executed (a run stops at its first violation). */
  steps: number;
  events: number;
  checks: number;
  maxSettleMs: number;
  /** One line per step, with its time and outcome. */
  log: string[];
  trace: string[] | null;
  /** The run hit MAX_EVENTS (never expected). */
  truncated: boolean;
}

export interface RunOptions {
  defects?: PlantedDefects;
  /** Record every machine input and decision. */
  trace?: boolean;
  /** Distinct state signatures reached, shared across runs. */
  states?: Set<string>;
}

export function runScenario(sc: Scenario, opts: RunOptions = {}): RunResult {
  const w = new World(sc.cfg, opts.defects ?? {});
  if (opts.trace) w.trace = [];
  const mon = new Monitor(w, opts.states ?? null);
  const log: string[] = [];
  let ok = true;
  const run = (ms: number): void => {
    if (ok) ok = w.clock.runUntil(w.now + ms, () => mon.afterEvent(), MAX_EVENTS);
  };
  // Warm-up: both nodes start and pair, as any pair in service has.
  w.start(w.nodes[0]);
  w.start(w.nodes[1]);
  for (let i = 0; i < 20 && ok && !(w.link.linked() !== null && w.nodes.some((n) => w.activity(n) === 'Active')); i++) run(500);
  run(200);
  let steps = 0;
  const all = [...sc.steps, { action: { op: 'healAll' as const }, wait: 0 }];
  for (const step of all) {
    if (mon.violations.length > 0 || !ok) break;
    steps += 1;
    const t = w.now;
    w.log(`== ${actionText(step.action)}`);
    mon.onAction();
    const outcome = applyAction(w, step.action);
    mon.afterEvent();
    log.push(`t=${t} ${actionText(step.action)}${outcome === 'ok' ? '' : ` [${outcome}]`}${step.wait > 0 ? `, wait ${step.wait} ms` : ''}`);
    run(step.action.op === 'healAll' ? 3 * mon.t2() : step.wait);
  }
  return {
    violations: mon.violations,
    steps,
    events: w.clock.events,
    checks: mon.checks,
    maxSettleMs: mon.maxSettleMs,
    log,
    trace: w.trace,
    truncated: !ok,
  };
}

export interface ExploreOptions {
  /** Time budget of the search, ms (shrinking included). */
  timeMs: number;
  /** At most this many runs. */
  numRuns: number;
  maxSteps: number;
  seed?: number;
  /** Replay one run of an earlier search (fast-check's counterexample path). */
  path?: string;
  defects?: PlantedDefects;
  /** Which search: everything (default), or the witness's races alone (actions.ts). */
  focus?: Focus;
  /**
   * With planted defects: a run counts as failing only if it violates an invariant with the
   * defects and none on the real core, so what the search finds is the planted defect itself.
   */
  differential?: boolean;
}

export interface Totals {
  /** Runs, the shrinking of a failure included. */
  runs: number;
  steps: number;
  events: number;
  checks: number;
  states: number;
  /** Failing searches: 0 or 1 (a search stops at its first failure). */
  violations: number;
  maxSettleMs: number;
  elapsedMs: number;
}

export interface ExploreResult {
  failed: boolean;
  seed: number;
  path: string | null;
  counterexample: Scenario | null;
  /** The shrunk counterexample run again, with its trace. */
  replay: RunResult | null;
  totals: Totals;
  /** Runs and time until the first failing run (before shrinking). */
  firstFailure: { runs: number; ms: number } | null;
  numShrinks: number;
}

export function explore(opts: ExploreOptions): ExploreResult {
  const states = new Set<string>();
  const totals: Totals = { runs: 0, steps: 0, events: 0, checks: 0, states: 0, violations: 0, maxSettleMs: 0, elapsedMs: 0 };
  const started = Date.now();
  let firstFailure: ExploreResult['firstFailure'] = null;
  const property = fc.property(scenarioArb(opts.maxSteps, opts.focus), (sc) => {
    const r = runScenario(sc, { defects: opts.defects, states });
    totals.runs += 1;
    totals.steps += r.steps;
    totals.events += r.events;
    totals.checks += r.checks;
    totals.maxSettleMs = Math.max(totals.maxSettleMs, r.maxSettleMs);
    let failed = r.violations.length > 0;
    if (failed && opts.differential) failed = runScenario(sc).violations.length === 0;
    if (failed) {
      firstFailure ??= { runs: totals.runs, ms: Date.now() - started };
    }
    return !failed;
  });
  const seed = opts.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const details = fc.check(property, {
    seed,
    numRuns: opts.numRuns,
    interruptAfterTimeLimit: opts.timeMs,
    markInterruptAsFailure: false,
    ...(opts.path !== undefined ? { path: opts.path } : {}),
  });
  totals.states = states.size;
  // The search stops at its first failing run (then shrinks it): 0 or 1.
  totals.violations = details.failed ? 1 : 0;
  totals.elapsedMs = Date.now() - started;
  const counterexample = details.failed && details.counterexample !== null ? details.counterexample[0] : null;
  const replay = counterexample === null ? null : runScenario(counterexample, { defects: opts.defects, trace: true });
  return {
    failed: details.failed,
    seed: details.seed,
    path: details.counterexamplePath,
    counterexample,
    replay,
    totals,
    firstFailure,
    numShrinks: details.numShrinks,
  };
}

/** A failing search as a person reads it: how to replay it, the configuration, one step a line. */
export function report(r: ExploreResult, label = 'explorer'): string {
  if (!r.failed || r.counterexample === null || r.replay === null) return `${label}: no violation in ${r.totals.runs} runs (seed ${r.seed})`;
  const lines = [
    `${label}: invariant violated. Replay: GWD_EXPLORE_SEED=${r.seed} GWD_EXPLORE_PATH=${r.path ?? ''}`,
    `first failing run: #${r.firstFailure?.runs ?? '?'} after ${r.firstFailure?.ms ?? '?'} ms; shrunk ${r.numShrinks} times`,
    `config: ${configText(r.counterexample.cfg)}`,
    'steps (after the warm-up, in which both start and pair):',
    ...r.replay.log.map((l) => `  ${l}`),
    'violations:',
    ...r.replay.violations.map((v) => `  ${v.inv} at t=${v.t}: ${v.detail}`),
    'scenario (for a regression test):',
    `  ${JSON.stringify(r.counterexample)}`,
  ];
  return lines.join('\n');
}
