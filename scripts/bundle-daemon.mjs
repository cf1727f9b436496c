#!/usr/bin/env node
// Build step after tsc (`npm run build`): gwd's first start. esbuild bundles dist/daemon/main.js and
// all it imports (src/core, src/daemon, ajv, prom-client, pino, ws) into one ES module,
// dist/daemon-bundle/gwd.mjs, which bin/gwd runs. Loading ~130 ES module files and ~170 CommonJS
// files one by one cost ~290 ms of CPU of a ~970 ms first start (baseline 290 ms, issue 18); the
// bundle is one file to read, parse and link.
//
// What the bundle keeps working:
//  - paths from import.meta.url: the bundle sits two directories below the package root, as
//    dist/daemon/*.js do, so SCHEMAS_DIR (../../schemas) is the same directory from both;
//  - the storage threads: their source is a string given to `new Worker(.., {eval: true})`, not a
//    file next to a module;
//  - `import('./daemon.js')` in main.ts stays lazy (esbuild runs that module's body when the
//    import is reached), so the first start's key generation still starts before it.
// Left outside the bundle, loaded from node_modules as before: ws's optional native helpers
// (bufferutil, utf-8-validate: absent or native), and undici, imported only when an etcd witness is
// configured (half the bundle's size otherwise, for a start that does not use it).
// Written to a temporary name and renamed into place, so a gwd starting meanwhile reads a whole old
// bundle or a whole new one.
//
// Options: --root DIR   the tree whose dist/ to bundle (default: this checkout)
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const args = process.argv.slice(2);
const rootArg = args.indexOf('--root');
const ROOT = rootArg >= 0 ? path.resolve(args[rootArg + 1]) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = path.join(ROOT, 'dist', 'daemon-bundle');
const OUT_FILE = path.join(OUT_DIR, 'gwd.mjs');

const bundled = await build({
  entryPoints: [path.join(ROOT, 'dist', 'daemon', 'main.js')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  write: false,
  external: ['bufferutil', 'utf-8-validate', 'undici'],
  // The CommonJS dependencies' require() calls (of node's modules, and of the external ones above)
  // need a require in an ES module.
  banner: { js: "import { createRequire as __gwdCreateRequire } from 'node:module'; const require = __gwdCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});

mkdirSync(OUT_DIR, { recursive: true });
const tmp = `${OUT_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
try {
  writeFileSync(tmp, bundled.outputFiles[0].text);
  renameSync(tmp, OUT_FILE);
} finally {
  rmSync(tmp, { force: true });
}
