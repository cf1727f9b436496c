#!/usr/bin/env node
// Build step after tsc (`npm run build`): gwctl's fast start (src/cli/bundle-loader.cts says why).
//  1. esbuild bundles dist/cli/main.js and all it imports (commander, chalk, src/core) into one
//     function expression, dist/cli-bundle/gwctl.js, that node:vm compiles as a script;
//  2. a child node runs gwctl from that bundle a few times, as scripts run it, and saves the V8 code
//     cache of every function those runs compiled: dist/cli-bundle/gwctl.code-cache.
// Made here, at build time, where dist/ is writable: gwctl only reads them. Each file is written
// to a temporary name and renamed into place, so a gwctl running meanwhile reads a whole old file or
// a whole new one (and the cache names the bundle it belongs to).
//
// Options, for bench/cli-startup-steps.mjs, which measures each step on a copy of the tree:
//   --root DIR         the tree whose dist/ to bundle (default: this checkout)
//   --no-code-cache    bundle only
//   --eager-builtins   load every node module the bundle imports at start, as main.js does
//   --esm              the first step: an ES module bundle, dist/cli-bundle/gwctl.mjs, for
//                      `import()`; no function wrapper, no code cache (bin/gwctl does not use it)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

import { build } from 'esbuild';

const args = process.argv.slice(2);
const rootArg = args.indexOf('--root');
const ROOT = rootArg >= 0 ? path.resolve(args[rootArg + 1]) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const codeCache = !args.includes('--no-code-cache');
const eagerBuiltins = args.includes('--eager-builtins');
const esm = args.includes('--esm');

const OUT_DIR = path.join(ROOT, 'dist', 'cli-bundle');
const loader = createRequire(import.meta.url)(path.join(ROOT, 'dist', 'cli', 'bundle-loader.cjs'));

/**
 * Node modules gwctl needs only for some commands, loaded when first used rather than at start:
 * child_process is commander's, for executable sub-commands gwctl does not have; net only for a
 * command that talks to gwd (not --version, --help or a usage error), http only for one whose
 * answer is streamed (events, export: src/cli/client.ts); os, fs/promises and
 * string_decoder for a few commands; tty for colour on a terminal. `gwctl --version` went from
 * 1.19x to 1.12x `node -e 0` (bench/NOTES.md). Only modules whose exports are a plain object of
 * functions and classes that gwctl reads (never writes) qualify: the stand-in has a getter for
 * each export, which loads the module on first use.
 */
const LOADED_ON_FIRST_USE = new Set(['node:child_process', 'node:http', 'node:net', 'node:os', 'node:fs/promises', 'node:string_decoder', 'node:tty']);

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/**
 * Every import of a node module becomes a require() of the function's `require` parameter: node:vm
 * compiles a script, where an import statement is a syntax error; and it lets the modules above be
 * loaded on first use.
 */
const builtinsThroughRequire = {
  name: 'builtins-through-require',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) => {
      if (!builtins.has(a.path)) return undefined;
      if (a.namespace === 'builtin') return { path: a.path, external: true };
      return { path: a.path.startsWith('node:') ? a.path : `node:${a.path}`, namespace: 'builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, async (a) => {
      const name = JSON.stringify(a.path);
      if (eagerBuiltins || !LOADED_ON_FIRST_USE.has(a.path)) return { contents: `module.exports = require(${name});`, loader: 'js' };
      const real = createRequire(import.meta.url)(a.path);
      if (typeof real !== 'object') throw new Error(`${a.path} does not export a plain object; it cannot be loaded on first use`);
      const getters = Object.keys(real)
        .map((k) => `  ${JSON.stringify(k)}: { enumerable: true, get: () => load()[${JSON.stringify(k)}] },`)
        .join('\n');
      return { contents: `let real;\nconst load = () => (real ??= require(${name}));\nmodule.exports = Object.defineProperties({}, {\n${getters}\n});\n`, loader: 'js' };
    });
  },
};

/** Write `bytes` to `file` by way of a temporary file in the same directory and a rename. */
function writeAtomically(file, bytes) {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

mkdirSync(OUT_DIR, { recursive: true });
const bundled = await build({
  entryPoints: [path.join(ROOT, 'dist', 'cli', 'main.js')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  write: false,
  // Whitespace only (a third less to read, check and compile); names stay as they are.
  minifyWhitespace: true,
  logLevel: 'warning',
  legalComments: 'none',
  ...(esm
    ? // An ES module may import node's modules itself; commander's require() calls need a require.
      { banner: { js: "import { createRequire as __gwctlRequire } from 'node:module'; const require = __gwctlRequire(import.meta.url);" } }
    : { plugins: [builtinsThroughRequire] }),
});
if (esm) {
  writeAtomically(path.join(OUT_DIR, 'gwctl.mjs'), bundled.outputFiles[0].text);
  process.exit(0);
}

// The ES module output has no import or export left (the plugin above), only main.js's top-level
// await: in an async function body it means the same. Strict, as the modules were.
const source = Buffer.from(`(async function (require) {\n"use strict";\n${bundled.outputFiles[0].text}})\n`);
// bundle-loader reads it as latin1, which only ASCII reads the same as UTF-8; esbuild's default
// charset escapes everything else.
if (source.some((byte) => byte > 0x7f)) throw new Error('the gwctl bundle is not ASCII');
new vm.Script(source.toString('latin1'), { filename: loader.BUNDLE_FILE }); // a syntax error fails the build here

// A new bundle never meets the old cache (the cache names its bundle anyway).
rmSync(loader.CODE_CACHE_FILE, { force: true });
writeAtomically(loader.BUNDLE_FILE, source);
if (!codeCache) process.exit(0);

// The cache is made in a child: gwctl's runs need a process of their own (they write to stdout and
// call process.exit), and the cache must be made with node's default flags, which gwctl runs with.
const made = spawnSync(process.execPath, [fileURLToPath(new URL('./make-cli-code-cache.cjs', import.meta.url)), ROOT], {
  stdio: ['ignore', 'ignore', 'pipe'],
  env: { ...process.env, NODE_OPTIONS: '' },
  encoding: 'utf8',
  timeout: 60_000,
});
if (made.status !== 0) {
  process.stderr.write(`bundle-cli: making the code cache failed (status ${made.status ?? made.signal}):\n${made.stderr}`);
  process.exit(1);
}
