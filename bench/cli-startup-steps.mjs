#!/usr/bin/env node
// Each step of gwctl's fast start measured on its own (docs/benchmarks.md, "gwctl start-up"):
// `npm run build && node bench/cli-startup-steps.mjs [--rounds N] [--budget-s S]`.
//
// Every step is a copy of this checkout's bin/ and dist/ (node_modules linked) in a temp dir, made
// as that step would ship; all are measured in the same rounds, `gwctl --version` and `gwctl
// status` (against one running gwd), each run right after a run of `node -e 0` (bench/lib/alternate.mjs).
// Prints a Markdown table of the median ratios; writes nothing.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';

import { pairedRuns, ratioFigure } from './lib/alternate.mjs';
import { ROOT, startGwd, tempDir } from './lib/procs.mjs';
import { fmtMs, summarize } from './lib/stats.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const rounds = arg('--rounds', 40);
const budgetMs = arg('--budget-s', 300) * 1000;

const ESM_SHIM = (target) => `#!/usr/bin/env node\nimport(${JSON.stringify(target)});\n`;
const CJS_SHIM = 'cjs'; // this checkout's bin/gwctl and bin/package.json

/**
 * Changes to the tsc output, each taken out of a copy (a plain text replacement in dist/cli) for
 * the steps before it.
 */
const CHANGES = {
  servername: { file: 'client.js', text: "servername: ''", before: '' },
  onlyCommand: { file: 'program.js', text: 'commandsToRegister(argv, REGISTERED_ALONE)', before: 'undefined' },
};

/**
 * The steps, in the order they were taken: how bin/gwctl loads gwctl, the options of
 * scripts/bundle-cli.mjs (null: no bundle), and which CHANGES the step has.
 */
const STEPS = [
  { name: 'tsc output (before)', shim: ESM_SHIM('../dist/cli/main.js'), bundle: null, changes: [] },
  { name: 'one esbuild bundle, imported as an ES module', shim: ESM_SHIM('../dist/cli-bundle/gwctl.mjs'), bundle: ['--esm'], changes: [] },
  {
    name: 'bundle compiled by node:vm, from an ES module bin/gwctl',
    shim: "#!/usr/bin/env node\nimport('../dist/cli/bundle-loader.cjs').then((m) => m.default.start());\n",
    bundle: ['--eager-builtins', '--no-code-cache'],
    changes: [],
  },
  { name: '+ CommonJS bin/gwctl', shim: CJS_SHIM, bundle: ['--eager-builtins', '--no-code-cache'], changes: [] },
  { name: '+ V8 code cache', shim: CJS_SHIM, bundle: ['--eager-builtins'], changes: [] },
  { name: '+ node modules loaded on first use', shim: CJS_SHIM, bundle: [], changes: [] },
  { name: '+ only the command that runs registered', shim: CJS_SHIM, bundle: [], changes: ['onlyCommand'] },
  { name: "+ http servername '' (as shipped)", shim: CJS_SHIM, bundle: [], changes: ['onlyCommand', 'servername'] },
];

function makeStep(dir, step) {
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  if (step.shim === CJS_SHIM) {
    cpSync(path.join(ROOT, 'bin', 'gwctl'), path.join(dir, 'bin', 'gwctl'));
    cpSync(path.join(ROOT, 'bin', 'package.json'), path.join(dir, 'bin', 'package.json'));
  } else {
    writeFileSync(path.join(dir, 'bin', 'gwctl'), step.shim);
  }
  for (const [name, change] of Object.entries(CHANGES)) {
    if (step.changes.includes(name)) continue;
    const file = path.join(dir, 'dist', 'cli', change.file);
    const text = readFileSync(file, 'utf8');
    if (!text.includes(change.text)) throw new Error(`${file} has no ${change.text} to take out`);
    writeFileSync(file, text.replace(change.text, change.before));
  }
  if (step.bundle) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'bundle-cli.mjs'), '--root', dir, ...step.bundle], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bundle-cli for "${step.name}" failed: ${r.stderr}`);
  }
  return path.join(dir, 'bin', 'gwctl');
}

const t = tempDir('gwctl-steps-');
const gwd = await startGwd(path.join(t.dir, 'gwd'));
try {
  const node = process.execPath;
  const commands = {};
  STEPS.forEach((step, i) => {
    const gwctl = makeStep(path.join(t.dir, `step${i}`), step);
    commands[`v${i}`] = [node, [gwctl, '--version']];
    commands[`s${i}`] = [node, [gwctl, '--socket', gwd.socket, 'status']];
  });
  process.stderr.write(`measuring ${STEPS.length} steps, up to ${rounds} rounds...\n`);
  const s = pairedRuns(commands, [node, ['-e', '0']], { rounds, budgetMs });
  const fig = (runs) => ratioFigure({ id: '', name: '', runs, baselineName: '' });
  const all = Object.values(s);
  const base = summarize(all.flatMap((r) => r.baseline));
  const lines = [
    `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; ${all[0].samples.length} rounds; \`node -e 0\` median ${fmtMs(base.median)} ms`,
    '',
    '| step | `--version` median | ratio | `status` median | ratio |',
    '|---|---|---|---|---|',
    ...STEPS.map((step, i) => {
      const v = fig(s[`v${i}`]);
      const st = fig(s[`s${i}`]);
      return `| ${step.name} | ${fmtMs(v.stats.median)} ms | ${v.ratio.toFixed(2)} | ${fmtMs(st.stats.median)} ms | ${st.ratio.toFixed(2)} |`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await gwd.stop();
  t.cleanup();
}
