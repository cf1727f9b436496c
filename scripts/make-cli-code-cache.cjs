// Build step, run by scripts/bundle-cli.mjs in a child process: run gwctl from its bundle as
// scripts run it (--version, --help, status with --json and without) and save the V8 code cache of
// the bundle with every function these runs compiled, which a cache made before any run would
// leave out (V8 compiles most functions only when first called). No gwd is needed: status against
// a socket that does not exist still goes through the client and the error report.
//   node scripts/make-cli-code-cache.cjs ROOT
'use strict';
const { mkdtempSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');

async function main() {
  const root = process.argv[2];
  const loader = require(path.join(root, 'dist', 'cli', 'bundle-loader.cjs'));
  const source = loader.readBundle();
  const compiled = source && loader.compileBundle(source, undefined);
  if (!compiled) throw new Error(`${loader.BUNDLE_FILE} is missing or does not compile`);

  const dir = mkdtempSync(path.join(tmpdir(), 'gwctl-cache-'));
  const socket = path.join(dir, 'gwd.sock');
  const runs = [['--version'], ['--help'], ['--socket', socket, 'status'], ['--socket', socket, '--json', 'status']];
  const exit = process.exit;
  try {
    for (const argv of runs) {
      // gwctl ends with process.exit(code): here that ends one run, and the next starts.
      await new Promise((resolve, reject) => {
        process.exit = resolve;
        process.argv = [process.argv[0], 'gwctl', ...argv];
        compiled.main(require).catch(reject);
      });
    }
  } finally {
    process.exit = exit;
    rmSync(dir, { recursive: true, force: true });
  }

  const file = loader.CODE_CACHE_FILE;
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, loader.encodeCodeCache(source, compiled.script.createCachedData()));
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  },
);
