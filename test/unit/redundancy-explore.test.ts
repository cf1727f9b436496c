/**
 * The redundancy explorer (docs/safety.md): fast-check searches sequences of operator actions and
 * faults on two simulated nodes running the pure RedundancyMachine, checking I1-I6 after every
 * event, and shrinks a failing sequence to the smallest it can find.
 *
 * `npm test` runs a quick search with a fixed seed and a budget in runs and time. `npm run explore`
 * (scripts/explore.mjs) runs only the first test, for GWD_EXPLORE_MS, with GWD_EXPLORE_SEED and
 * GWD_EXPLORE_STEPS, and writes its totals to GWD_EXPLORE_OUT. GWD_EXPLORE_PATH replays one run.
 * The planted-defect tests prove the search can fail: each must find its defect within the budget.
 */
import { writeFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import type { PlantedDefects } from '../../src/core/redundancy/index.js';
import { explore, report, type ExploreResult } from '../helpers/explorer/runner.js';

const env = process.env;
const long = env.GWD_EXPLORE_MS !== undefined;
const QUICK_MS = 4000;
const QUICK_RUNS = 300;
const timeMs = long ? Number(env.GWD_EXPLORE_MS) : QUICK_MS;
const maxSteps = Number(env.GWD_EXPLORE_STEPS ?? 30);
const seed = env.GWD_EXPLORE_SEED !== undefined ? Number(env.GWD_EXPLORE_SEED) : long ? undefined : 1;
const path = env.GWD_EXPLORE_PATH;

/** Planted defects: each search must fail on a run that also passes on the real core. */
const PLANTED: PlantedDefects[] = [{ goodbyeMeansStopped: true }, { ignoreStalls: true }, { noJoinWaitFloor: true }, { ignorePause: true }];
const PLANTED_MS = 8000;
const PLANTED_RUNS = 1000;
/**
 * Section 9's races, searched with the witness focus (actions.ts): each margin set to zero must be
 * found (seed 9 finds all three within ~310 runs on this machine; the budget leaves room).
 */
const PLANTED_WITNESS: PlantedDefects[] = [{ ignoreWitness: true }, { noLeaseMargin: true }, { noVoteMargin: true }];
const WITNESS_SEED = 9;
const WITNESS_RUNS = 1500;
const WITNESS_MS = 20_000;

function summary(r: ExploreResult): string {
  const t = r.totals;
  return `${t.runs} runs, ${t.steps} steps, ${t.checks} invariant checks, ${t.states} distinct states, ${t.elapsedMs} ms (seed ${r.seed})`;
}

describe('redundancy explorer', () => {
  it(
    'finds no sequence of faults and operator actions that breaks I1-I6 on the redundancy core',
    () => {
      const r = explore({ timeMs, numRuns: long ? Number.MAX_SAFE_INTEGER : QUICK_RUNS, maxSteps, ...(seed !== undefined ? { seed } : {}), ...(path !== undefined ? { path } : {}) });
      const text = report(r);
      if (env.GWD_EXPLORE_OUT) {
        writeFileSync(env.GWD_EXPLORE_OUT, JSON.stringify({ ...r.totals, seed: r.seed, maxSteps, failed: r.failed, report: r.failed ? text : null, date: new Date().toISOString() }, null, 2));
      }
      console.log(`explorer: ${summary(r)}`);
      expect(r.failed, text).toBe(false);
    },
    timeMs + 60_000,
  );

  it.skipIf(long)('with a witness, finds no sequence that makes two Active nodes (W1) or breaks I1-I6 (witness focus)', () => {
    const r = explore({ timeMs: QUICK_MS, numRuns: QUICK_RUNS, maxSteps, seed: 1, focus: 'witness' });
    console.log(`explorer, witness focus: ${summary(r)}`);
    expect(r.failed, report(r, 'explorer, witness focus')).toBe(false);
  }, QUICK_MS + 60_000);

  for (const defects of PLANTED_WITNESS) {
    const name = Object.keys(defects).join(', ');
    it.skipIf(long)(`finds the planted witness defect ${name} within the quick budget (witness focus)`, () => {
      const r = explore({ timeMs: WITNESS_MS, numRuns: WITNESS_RUNS, maxSteps, seed: WITNESS_SEED, defects, differential: true, focus: 'witness' });
      console.log(`planted ${name}: found at run #${r.firstFailure?.runs ?? '-'} after ${r.firstFailure?.ms ?? '-'} ms; ${summary(r)}\n${report(r, `planted ${name}`)}`);
      expect(r.failed, `the explorer did not find the planted defect ${name}: ${summary(r)}`).toBe(true);
    }, WITNESS_MS + 30_000);
  }

  for (const defects of PLANTED) {
    const name = Object.keys(defects).join(', ');
    it.skipIf(long)(`finds the planted defect ${name} within the quick budget`, () => {
      const r = explore({ timeMs: PLANTED_MS, numRuns: PLANTED_RUNS, maxSteps, seed: 1, defects, differential: true });
      console.log(`planted ${name}: found at run #${r.firstFailure?.runs ?? '-'} after ${r.firstFailure?.ms ?? '-'} ms; ${summary(r)}\n${report(r, `planted ${name}`)}`);
      expect(r.failed, `the explorer did not find the planted defect ${name}: ${summary(r)}`).toBe(true);
    }, PLANTED_MS + 30_000);
  }
});
