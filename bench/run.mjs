#!/usr/bin/env node
// Benchmark harness: `npm run bench` (full) or `node bench/run.mjs --quick` (a few runs of each, for
// CI, which checks only that every figure was produced). A full run writes its table into
// docs/benchmarks.md unless --no-write; a quick run or one of some figures (--only=a,b) never does.
import { cpus, totalmem } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { cliStartup } from './figures/cli-startup.mjs';
import { failoverFigures } from './figures/failover.mjs';
import { falseTakeoverFigures, hostLossFigures } from './figures/host-loss.mjs';
import { idleFigures } from './figures/idle.mjs';
import { witnessFigures } from './figures/witness.mjs';
import { syncApply, syncSnapshot } from './figures/sync.mjs';
import { fullSnapshotFigure, syncFigures } from './figures/sync-e2e.mjs';
import { updateBenchmarksDoc } from './lib/benchmarks-doc.mjs';
import { removeTrees, ROOT } from './lib/procs.mjs';
import { fmtMs } from './lib/stats.mjs';

const quick = process.argv.includes('--quick');
const write = !process.argv.includes('--no-write');
const jsonOut = process.argv.includes('--json');

const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const figures = [
  { name: 'cli-startup', run: () => cliStartup({ rounds: quick ? 3 : 60, budgetMs: quick ? 20_000 : 180_000 }) },
  { name: 'failover', run: () => failoverFigures({ runs: quick ? 2 : 20 }) },
  { name: 'host-loss', run: () => hostLossFigures({ runs: quick ? 2 : Number(process.env.GWD_BENCH_HOST_LOSS_RUNS ?? 20) }) },
  { name: 'false-takeover', run: () => falseTakeoverFigures({ secs: quick ? 5 : Number(process.env.GWD_BENCH_CALM_SECS ?? 300) }) },
  { name: 'idle', run: () => idleFigures({ idleSecs: quick ? 3 : Number(process.env.GWD_BENCH_IDLE_SECS ?? 60), starts: quick ? 2 : Number(process.env.GWD_BENCH_STARTS ?? 11) }) },
  { name: 'sync-apply', run: () => syncApply({ runs: quick ? 1 : Number(process.env.GWD_BENCH_APPLY_RUNS ?? 5), changes: quick ? 400 : 2000 }) },
  { name: 'sync-e2e', run: () => syncFigures({ changes: quick ? 3 : Number(process.env.GWD_BENCH_CHANGES ?? 50), burst: quick ? 200 : Number(process.env.GWD_BENCH_BURST ?? 5000) }) },
  { name: 'sync-full', run: () => fullSnapshotFigure({ snapshotResources: quick ? 300 : Number(process.env.GWD_BENCH_SNAPSHOT_RESOURCES ?? 10_000), snapshotRuns: quick ? 2 : Number(process.env.GWD_BENCH_SNAPSHOT_RUNS ?? 3), maxRatio: 2.0 }) },
  { name: 'sync-full-100k', run: () => fullSnapshotFigure({ id: 'full-snapshot-100k', snapshotResources: quick ? 1000 : Number(process.env.GWD_BENCH_SNAPSHOT_100K_RESOURCES ?? 100_000), snapshotRuns: quick ? 1 : Number(process.env.GWD_BENCH_SNAPSHOT_100K_RUNS ?? 1), maxRatio: 3.0, maxRssMb: 300, syncTimeoutSecs: 900 }) },
  { name: 'sync-snapshot', run: () => syncSnapshot({ runs: quick ? 1 : 3, resources: quick ? 200 : 2000 }) },
  { name: 'witness', run: () => witnessFigures({ kills: quick ? 1 : 20, partitions: quick ? 1 : 20, plainPartitions: quick ? 1 : 5 }) },
].filter((f) => !only || only.includes(f.name));

const results = [];
const started = Date.now();
for (const f of figures) {
  process.stderr.write(`bench: ${f.name}...\n`);
  results.push(...(await f.run()));
}

// The figures' trees, removed now that nothing is measured after them (see tempDir in procs.mjs).
removeTrees();

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform} ${process.arch}`;
const date = new Date().toISOString().slice(0, 10);

const header = '| figure | n | median | p99 | max | baseline | baseline median | ratio | target | met |\n|---|---|---|---|---|---|---|---|---|---|\n';
const rows = results
  .map(
    (r) =>
      `| ${r.name} | ${r.stats.n} | ${fmtMs(r.stats.median)} ${r.unit} | ${fmtMs(r.stats.p99)} ${r.unit} | ${fmtMs(r.stats.max)} ${r.unit} | ${r.baseline?.name ?? '-'} | ${r.baseline ? `${fmtMs(r.baseline.stats.median)} ${r.unit}` : '-'} | ${r.ratio === undefined ? '-' : r.ratio.toFixed(2)} | ${r.target} | ${r.met ? 'yes' : 'NO'} |`,
  )
  .join('\n');

const table = header + rows + '\n';
process.stdout.write(`\n${machine}\n\n${table}\n(${((Date.now() - started) / 1000).toFixed(1)} s${quick ? ', quick mode' : ''})\n`);
if (jsonOut) process.stdout.write(`${JSON.stringify({ date, machine, quick, results })}\n`);

if (write && !quick && !only) {
  // Only the run's table and the copy of bench/NOTES.md (method and analysis, kept by hand) are
  // rewritten; the dated sections written by hand around them stay (bench/lib/benchmarks-doc.mjs).
  const notesFile = path.join(ROOT, 'bench', 'NOTES.md');
  const docFile = path.join(ROOT, 'docs', 'benchmarks.md');
  const notes = existsSync(notesFile) ? readFileSync(notesFile, 'utf8') : '';
  const run = `## Latest full run: ${date}

Machine: ${machine}

${table}`;
  const doc = updateBenchmarksDoc(existsSync(docFile) ? readFileSync(docFile, 'utf8') : '', { run, notes });
  writeFileSync(docFile, doc);
  process.stderr.write('bench: wrote the latest run into docs/benchmarks.md (the previous one kept below it)\n');
} else if (write && only && !quick) {
  process.stderr.write('bench: --only runs some figures: docs/benchmarks.md is left as it is\n');
}
