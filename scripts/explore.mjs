#!/usr/bin/env node
/**
 * npm run explore [-- --minutes N] [--steps N] [--seed N]
 *
 * A long run of the redundancy explorer (test/unit/redundancy-explore.test.ts, its first test
 * only): vitest runs it with GWD_EXPLORE_MS, GWD_EXPLORE_STEPS and GWD_EXPLORE_SEED; the test
 * writes its totals to GWD_EXPLORE_OUT; this script prints them and writes them into the marked
 * section of docs/safety.md. Exits non-zero when the search found a violation (its shrunk sequence
 * is in vitest's output and in docs/safety.md).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DOC = path.join(root, 'docs', 'safety.md');
const BEGIN = '<!-- explore-totals:begin (written by npm run explore) -->';
const END = '<!-- explore-totals:end -->';

function parseArgs(argv) {
  const opts = { minutes: 10, steps: 30, seed: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = inline ?? argv[++i];
    const num = Number(value);
    if (!['--minutes', '--steps', '--seed'].includes(flag)) fail(`unknown option ${argv[i]}`);
    if (value === undefined || !Number.isFinite(num) || num < 0) fail(`${flag} needs a number`);
    if (flag === '--minutes') opts.minutes = num;
    if (flag === '--steps') opts.steps = Math.max(1, Math.floor(num));
    if (flag === '--seed') opts.seed = Math.floor(num);
  }
  return opts;
}

function fail(message) {
  console.error(`explore: ${message}\nusage: npm run explore -- [--minutes N] [--steps N] [--seed N]`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const dir = mkdtempSync(path.join(os.tmpdir(), 'gwd-explore-'));
const out = path.join(dir, 'totals.json');
const env = {
  ...process.env,
  GWD_EXPLORE_MS: String(Math.round(opts.minutes * 60_000)),
  GWD_EXPLORE_STEPS: String(opts.steps),
  GWD_EXPLORE_OUT: out,
};
if (opts.seed !== undefined) env.GWD_EXPLORE_SEED = String(opts.seed);
else delete env.GWD_EXPLORE_SEED;

console.log(`explore: ${opts.minutes} min, up to ${opts.steps} steps a run${opts.seed !== undefined ? `, seed ${opts.seed}` : ''}`);
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const child = spawn(process.execPath, [vitest, 'run', 'test/unit/redundancy-explore.test.ts', '-t', 'finds no sequence'], {
  cwd: root,
  env,
  stdio: 'inherit',
});
const code = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));

let totals;
try {
  totals = JSON.parse(readFileSync(out, 'utf8'));
} catch {
  rmSync(dir, { recursive: true, force: true });
  fail(`vitest exited ${code} without writing its totals`);
}
rmSync(dir, { recursive: true, force: true });

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const lines = [
  BEGIN,
  `Last long run: ${totals.date}, ${totals.elapsedMs >= 60_000 ? `${(totals.elapsedMs / 60_000).toFixed(1)} min` : `${(totals.elapsedMs / 1000).toFixed(1)} s`} (stops at the first violation) on ${os.cpus().length} x ${cpu}, Node ${process.version}, seed ${totals.seed}, up to ${totals.maxSteps} steps a run.`,
  '',
  '| runs | steps | events | invariant checks | distinct states | violations | longest settle (ms) |',
  '|---:|---:|---:|---:|---:|---:|---:|',
  `| ${totals.runs} | ${totals.steps} | ${totals.events} | ${totals.checks} | ${totals.states} | ${totals.violations} | ${totals.maxSettleMs} |`,
];
if (totals.failed && totals.report) lines.push('', 'The run found a violation (shrunk):', '', '```', totals.report, '```');
lines.push(END);
const section = lines.join('\n');

let doc;
try {
  doc = readFileSync(DOC, 'utf8');
} catch {
  fail(`cannot read ${DOC}`);
}
const a = doc.indexOf(BEGIN);
const b = doc.indexOf(END);
if (a < 0 || b < a) fail(`${DOC} has no section between "${BEGIN}" and "${END}"`);
writeFileSync(DOC, doc.slice(0, a) + section + doc.slice(b + END.length));
console.log(`explore: ${totals.runs} runs, ${totals.steps} steps, ${totals.checks} checks, ${totals.states} states, ${totals.violations} violations; written to docs/safety.md`);
process.exit(code);
