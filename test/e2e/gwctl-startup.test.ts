/**
 * gwctl's fast start (issue 16, part; src/cli/bundle-loader.cts): the build leaves a bundle and a
 * V8 code cache that node accepts, bin/gwctl runs gwctl from them, and whatever is wrong with them
 * (missing, damaged, not compiling) gwctl still does exactly what the plain tsc output does: the
 * same bytes on stdout and stderr, the same exit codes. Times are the benchmark's business
 * (bench/figures/cli-startup.mjs), not this test's.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { dumpLogsOnFailure, startGwd, type GwdProcess } from '../helpers/gwd-process.js';
import { ROOT } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const BUNDLE = path.join(ROOT, 'dist', 'cli-bundle', 'gwctl.js');
const CODE_CACHE = path.join(ROOT, 'dist', 'cli-bundle', 'gwctl.code-cache');

let node: GwdProcess;
const temp = makeTempDir('gwctl-start-');

beforeAll(async () => {
  node = await startGwd({ systemName: 'startup' });
});
afterEach((ctx) => dumpLogsOnFailure(ctx.task.result?.state, [node]));
afterAll(async () => {
  await node?.stop();
  temp.cleanup();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * What the daemon's answers say about the moment they were made: its uptime, and the time of the
 * last activity change (computed on each call, it may move by a millisecond).
 */
function steady(text: string): string {
  return text.replace(/"uptimeSecs": \d+/g, '"uptimeSecs": 0').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z/g, 'TIME');
}

/** gwctl of the tree at `root`, as a script runs it (stdout made steady). */
function run(root: string, args: string[]): Run {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'gwctl'), ...args], {
    cwd: temp.dir,
    env: { ...process.env, GWD_SOCKET: '', GWD_DATA_DIR: '', NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stdout: steady(r.stdout), stderr: r.stderr };
}

/** A copy of what gwctl runs from (bin/, dist/cli, dist/core, dist/cli-bundle), to break at will. */
function copyTree(name: string): string {
  const root = path.join(temp.dir, name);
  mkdirSync(path.join(root, 'dist'), { recursive: true });
  cpSync(path.join(ROOT, 'bin'), path.join(root, 'bin'), { recursive: true });
  for (const d of ['cli', 'core', 'cli-bundle']) cpSync(path.join(ROOT, 'dist', d), path.join(root, 'dist', d), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(root, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
  return root;
}

/** Commands whose output a script reads: help, version, usage error, daemon unreachable, answers. */
function commands(): string[][] {
  const missing = path.join(temp.dir, 'no-such-dir', 'gwd.sock');
  return [
    ['--version'],
    ['--help'],
    ['redundancy', 'configure', '--help'],
    ['bogus'],
    [],
    ['--socket', missing, 'status'],
    ['--json', '--socket', missing, 'status'],
    ['--socket', node.socket, 'status'],
    ['--json', '--socket', node.socket, 'status'],
    ['--socket', node.socket, 'config', 'list'],
    ['--json', '--socket', node.socket, 'config', 'get', 'no-such-type'],
    ['--socket', node.socket, 'wait', '--activity', 'cold', '--timeout', '1'],
  ];
}

describe('gwctl fast start', () => {
  it('the build leaves the bundle and a code cache that node accepts, and bin/gwctl runs from them', () => {
    expect(statSync(BUNDLE).size).toBeGreaterThan(0);
    expect(statSync(CODE_CACHE).size).toBeGreaterThan(0);
    // In a node of its own, with default flags as gwctl has: V8 takes the cache (it would say so).
    const check = spawnSync(
      process.execPath,
      [
        '-e',
        `const l = require(${JSON.stringify(path.join(ROOT, 'dist', 'cli', 'bundle-loader.cjs'))});
         const source = l.readBundle();
         const cache = l.readCodeCache(source);
         const compiled = l.compileBundle(source, cache);
         console.log(JSON.stringify({ cache: cache !== undefined, compiled: compiled !== null, rejected: compiled && compiled.script.cachedDataRejected }));`,
      ],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(check.status, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toEqual({ cache: true, compiled: true, rejected: false });

    // Without any of the tsc output of dist/cli but the loader, gwctl still runs: from the bundle.
    const root = copyTree('bundle-only');
    for (const f of readdirSync(path.join(root, 'dist', 'cli'))) if (f !== 'bundle-loader.cjs') rmSync(path.join(root, 'dist', 'cli', f), { recursive: true });
    rmSync(path.join(root, 'dist', 'core'), { recursive: true });
    const version = run(root, ['--version']);
    expect(version).toEqual(run(ROOT, ['--version']));
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    const status = run(root, ['--json', '--socket', node.socket, 'status']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).redundancy.activity).toBe('Active');
  });

  it('with the cache missing, damaged or stale, or the bundle missing or broken, every command says the same', () => {
    // `status` says how long ago and for how long (`(3 s ago)`, `up 4 s`): the same words, later.
    const steady = (text: string): string => text.replace(/\(([^()]*) ago\)/g, '(… ago)').replace(/\bup \d+[^,\n]*/g, 'up …');
    const variants: Record<string, (root: string) => void> = {
      'cache missing': (root) => rmSync(path.join(root, 'dist', 'cli-bundle', 'gwctl.code-cache')),
      // A few bytes changed in the middle of V8's data: V8 itself does not notice (node crashed).
      'cache damaged inside': (root) => {
        const file = path.join(root, 'dist', 'cli-bundle', 'gwctl.code-cache');
        const bytes = readFileSync(file);
        for (let i = 0; i < 16; i++) bytes[Math.floor(bytes.length / 2) + i]! ^= 0xff;
        writeFileSync(file, bytes);
      },
      'cache truncated': (root) => {
        const file = path.join(root, 'dist', 'cli-bundle', 'gwctl.code-cache');
        writeFileSync(file, readFileSync(file).subarray(0, 1000));
      },
      'cache of another bundle': (root) => {
        // Same length (all V8 checks of the source), one character different.
        const file = path.join(root, 'dist', 'cli-bundle', 'gwctl.js');
        writeFileSync(file, readFileSync(file, 'latin1').replace('Control a gwd', 'Control a GWD'), 'latin1');
      },
      'bundle missing': (root) => rmSync(path.join(root, 'dist', 'cli-bundle'), { recursive: true }),
      'bundle broken': (root) => writeFileSync(path.join(root, 'dist', 'cli-bundle', 'gwctl.js'), '(async function (require) { this is not javascript'),
      'bundle empty': (root) => writeFileSync(path.join(root, 'dist', 'cli-bundle', 'gwctl.js'), ''),
    };
    const expected = commands().map((args) => ({ args, ...run(ROOT, args) }));
    // Exit codes 0 (success), 1 (refused), 2 (usage) and 3 (unreachable) are all among them.
    expect(new Set(expected.map((e) => e.code))).toEqual(new Set([0, 1, 2, 3]));
    for (const [name, breakIt] of Object.entries(variants)) {
      const root = copyTree(name.replaceAll(' ', '-'));
      breakIt(root);
      // The changed bundle says what was changed in it (with the old cache, it said the old text).
      const edit = (text: string): string => (name === 'cache of another bundle' ? text.replaceAll('Control a gwd', 'Control a GWD') : text);
      for (const e of expected) {
        const got = run(root, e.args);
        expect({ variant: name, args: e.args, ...got, stdout: steady(got.stdout) }).toEqual({ variant: name, ...e, stdout: steady(edit(e.stdout)), stderr: edit(e.stderr) });
      }
    }
  }, 180_000);

  it('gwctl only reads its bundle and cache: four at once answer alike and leave them as they were', async () => {
    const root = copyTree('read-only');
    const before = readdirSync(path.join(root, 'dist', 'cli-bundle')).map((f) => [f, statSync(path.join(root, 'dist', 'cli-bundle', f)).mtimeMs]);
    const runs = await Promise.all(
      Array.from({ length: 4 }, () =>
        new Promise<Run>((resolve) => {
          const child = spawn(process.execPath, [path.join(root, 'bin', 'gwctl'), '--json', '--socket', node.socket, 'status'], { stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
          child.once('exit', (code) => resolve({ code, stdout: steady(stdout), stderr }));
        }),
      ),
    );
    for (const r of runs) expect(r).toEqual(runs[0]);
    expect(runs[0]!.code, runs[0]!.stderr).toBe(0);
    const after = readdirSync(path.join(root, 'dist', 'cli-bundle')).map((f) => [f, statSync(path.join(root, 'dist', 'cli-bundle', f)).mtimeMs]);
    expect(after).toEqual(before);
    expect(existsSync(path.join(root, 'dist', 'cli-bundle', 'gwctl.code-cache'))).toBe(true);
  });
});
