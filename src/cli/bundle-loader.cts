/**
 * gwctl's entry point (bin/gwctl calls start()). Scripts call gwctl in loops, so its start-up time
 * is what they pay on every call (docs/benchmarks.md, "gwctl start-up"): instead of the ES module
 * graph tsc writes (a dozen files of dist/cli, commander's, and the ES module loader that resolves
 * them), it runs the one-file bundle that `npm run build` makes of it (scripts/bundle-cli.mjs),
 * compiled through node:vm with the V8 code cache made at the same time.
 *
 * When the bundle is missing or does not compile here, gwctl runs the tsc output (main.js) as it
 * always did, without a word: same commands, same output. A code cache that is missing, damaged,
 * made for another bundle, or rejected by V8 (another Node version or other V8 flags) only costs
 * the compile it would have saved.
 *
 * The code cache is made at build time only, when dist/ is writable (scripts/bundle-cli.mjs writes
 * it to a temporary file and renames it into place); gwctl itself never writes it, so a read-only
 * install and any number of gwctl running at once are safe.
 *
 * CommonJS (.cts, and bin/package.json makes bin/gwctl CommonJS too) because an ES module entry
 * point starts node's ES module loader, which cost 11-17 ms a call here; node:vm compiles a script,
 * not a module, which is also why the bundle is one function expression (scripts/bundle-cli.mjs).
 */
import fs = require('node:fs');
import path = require('node:path');
import vm = require('node:vm');
import zlib = require('node:zlib');

const BUNDLE_FILE = path.join(__dirname, '..', 'cli-bundle', 'gwctl.js');
const CODE_CACHE_FILE = path.join(__dirname, '..', 'cli-bundle', 'gwctl.code-cache');

/** What the bundle evaluates to: gwctl's main.js as an async function of the `require` it may use for node's modules. */
type BundleMain = (require: NodeJS.Require) => Promise<void>;

function start(): void {
  const source = readBundle();
  const compiled = source && compileBundle(source, readCodeCache(source));
  if (compiled) void compiled.main(require);
  else void import('./main.js');
}

function readBundle(): Buffer | null {
  try {
    return fs.readFileSync(BUNDLE_FILE);
  } catch {
    return null;
  }
}

/** The bundle compiled (not yet run), or null when it does not compile here. */
function compileBundle(source: Buffer, cachedData: Buffer | undefined): { script: vm.Script; main: BundleMain } | null {
  try {
    // latin1: the bundle is ASCII (esbuild escapes the rest; scripts/bundle-cli.mjs checks), and
    // a one-byte string is made without decoding UTF-8.
    const script = new vm.Script(source.toString('latin1'), {
      filename: BUNDLE_FILE,
      cachedData,
      // The bundle holds every import gwctl makes; were one left to load at run time, it would load as in main.js.
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    // Evaluating the script only creates the function: none of gwctl has run yet, so falling back is still safe.
    const main: unknown = script.runInThisContext();
    return typeof main === 'function' ? { script, main: main as BundleMain } : null;
  } catch {
    return null;
  }
}

/*
 * The code cache file: CRC-32 of the bundle it was made for, CRC-32 of the V8 data (4 bytes each,
 * little-endian), then the V8 data, as node 22's module.enableCompileCache() keeps its own files.
 * V8 checks a cache against its own version and flags and the source's length only, not their
 * bytes (release builds keep no checksum): a cache with a few bytes changed made node crash in
 * V8's deserializer (test/e2e/gwctl-startup.test.ts). CRC-32 rather than a hash from node:crypto,
 * whose loading alone cost gwctl several milliseconds; node:zlib adds about one to the streams
 * gwctl loads anyway for its standard output.
 */
const HEADER_BYTES = 8;

function readCodeCache(source: Buffer): Buffer | undefined {
  let file: Buffer;
  try {
    file = fs.readFileSync(CODE_CACHE_FILE);
  } catch {
    return undefined;
  }
  if (file.length <= HEADER_BYTES || typeof zlib.crc32 !== 'function') return undefined;
  const data = file.subarray(HEADER_BYTES);
  const fresh = file.readUInt32LE(0) === zlib.crc32(source) && file.readUInt32LE(4) === zlib.crc32(data);
  return fresh ? data : undefined;
}

function encodeCodeCache(source: Buffer, data: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(zlib.crc32(source), 0);
  header.writeUInt32LE(zlib.crc32(data), 4);
  return Buffer.concat([header, data]);
}

// verbatimModuleSyntax: a CommonJS file says what it exports this way.
export = { BUNDLE_FILE, CODE_CACHE_FILE, start, readBundle, compileBundle, readCodeCache, encodeCodeCache };
