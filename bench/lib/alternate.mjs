import { timeCommand } from './procs.mjs';
import { summarize } from './stats.mjs';

/**
 * Wall times of commands against a baseline command, for a ratio that machine noise (another job
 * on one of two cores, coming and going) moves as little as possible: every run of a command comes
 * right after a run of the baseline, and the ratio of the pair is the sample. Rounds run each
 * command once, in an order that rotates from round to round. Bounded twice: at most `rounds`
 * rounds, and no round starts after `budgetMs` (one always runs).
 *   commands: { name: [cmd, args] }; baseline: [cmd, args]
 *   returns { name: { samples, baseline, ratios } } (ms, ms, and the pairs' ratios)
 */
export function pairedRuns(commands, baseline, { rounds, budgetMs }) {
  const names = Object.keys(commands);
  const out = Object.fromEntries(names.map((n) => [n, { samples: [], baseline: [], ratios: [] }]));
  // One unrecorded run of each warms the page cache.
  timeCommand(...baseline);
  for (const n of names) timeCommand(...commands[n]);
  const started = Date.now();
  for (let r = 0; r < rounds && (r === 0 || Date.now() - started < budgetMs); r++) {
    for (let i = 0; i < names.length; i++) {
      const n = names[(i + r) % names.length];
      const b = timeCommand(...baseline);
      const t = timeCommand(...commands[n]);
      out[n].baseline.push(b);
      out[n].samples.push(t);
      out[n].ratios.push(t / b);
    }
  }
  return out;
}

/** A figure row for run.mjs from one entry of pairedRuns, judged on the median of the pairs' ratios. */
export function ratioFigure({ id, name, runs, baselineName, maxRatio }) {
  const ratio = summarize(runs.ratios).median;
  return {
    id,
    name,
    unit: 'ms',
    stats: summarize(runs.samples),
    baseline: { name: baselineName, stats: summarize(runs.baseline) },
    ratio,
    target: maxRatio === undefined ? 'reported' : `median ratio <= ${maxRatio}`,
    met: maxRatio === undefined || ratio <= maxRatio,
  };
}
