import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ROOT, waitFor } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const temps: Array<() => void> = [];
afterAll(() => temps.splice(0).forEach((c) => c()));

function tempDir(prefix: string): string {
  const t = makeTempDir(prefix);
  temps.push(t.cleanup);
  return t.dir;
}

describe('systemd unit', () => {
  const unit = readFileSync(path.join(ROOT, 'contrib/systemd/gwd.service'), 'utf8');

  function verify(text: string): { status: number | null; output: string } {
    const dir = tempDir('gwd-unit-');
    const file = path.join(dir, 'gwd.service');
    writeFileSync(file, text);
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  }

  it('passes systemd-analyze verify with the binaries in place', () => {
    const placed = unit.replaceAll('/usr/local/bin/', `${path.join(ROOT, 'bin')}/`);
    expect(placed).toContain(path.join(ROOT, 'bin/gwctl'));
    const r = verify(placed);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('the verification catches a unit whose binary is missing', () => {
    const r = verify(unit.replaceAll('/usr/local/bin/', '/nonexistent/bin/'));
    expect(r.status).not.toBe(0);
  });

  it('runs as user gwd with state and runtime directories, readiness and restart on failure', () => {
    expect(unit).toMatch(/^User=gwd$/m);
    expect(unit).toMatch(/^StateDirectory=gwd$/m);
    expect(unit).toMatch(/^RuntimeDirectory=gwd$/m);
    expect(unit).toMatch(/^Environment=GWD_SOCKET=\/run\/gwd\/gwd.sock$/m);
    expect(unit).toMatch(/^ExecStartPost=.*gwctl wait --ready/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
  });

  // The belief behind the unit's GLIBC_TUNABLES (docs/operations.md, "Memory"): by default glibc
  // moves a freed multi-megabyte buffer's successors into the process's heap, which keeps the memory
  // they leave; with the threshold fixed each gets its own mapping, given back when freed. A child
  // frees 16 buffers of 3 MB (as V8 frees a snapshot's frames), then holds 16 more: where they are is
  // the [heap] mapping's resident size. If a C library stops doing this, the setting can go.
  it("its malloc setting keeps a snapshot's multi-megabyte buffers out of the process's heap", () => {
    const tunables = /^Environment=GLIBC_TUNABLES=(\S+)$/m.exec(unit)?.[1];
    expect(tunables).toBe('glibc.malloc.mmap_threshold=131072');
    const child = `
      const fill = () => Array.from({ length: 16 }, (_, i) => Buffer.alloc(3 * 1024 * 1024, i + 1));
      let held = fill();
      held = null;
      gc();
      held = fill();
      const heap = require('fs').readFileSync('/proc/self/smaps', 'utf8').split('\\n');
      const at = heap.findIndex((l) => l.endsWith('[heap]'));
      const rss = at < 0 ? 0 : Number(heap.slice(at).find((l) => l.startsWith('Rss:')).split(/\\s+/)[1]);
      console.log(JSON.stringify({ heapMb: rss / 1024, held: held.length }));`;
    const heapMb = (env: NodeJS.ProcessEnv): number => {
      const out = execFileSync(process.execPath, ['--expose-gc', '-e', child], { env, encoding: 'utf8' });
      return (JSON.parse(out) as { heapMb: number }).heapMb;
    };
    const { GLIBC_TUNABLES: _, ...plain } = process.env;
    // 48 MB held: most in the heap by default (42 MB here), in their own mappings with the unit's
    // setting (3 MB: the heap is then only the small allocations').
    expect(heapMb(plain)).toBeGreaterThan(24);
    expect(heapMb({ ...plain, GLIBC_TUNABLES: tunables })).toBeLessThan(16);
  });
});

describe('npm package', () => {
  it('npm pack gives a tarball that, installed globally into a fresh prefix, puts working gwd and gwctl on PATH', async () => {
    const work = tempDir('gwd-pack-');
    execFileSync('npm', ['pack', '--pack-destination', work, '--ignore-scripts'], { cwd: ROOT, stdio: 'pipe' });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    const prefix = path.join(work, 'prefix');
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', path.join(work, tarball!)], {
      stdio: 'pipe',
      timeout: 180_000,
    });
    const env = { ...process.env, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}` };
    const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
    expect(execFileSync('gwd', ['--version'], { env, encoding: 'utf8' }).trim()).toBe(version);
    expect(execFileSync('gwctl', ['--version'], { env, encoding: 'utf8' }).trim()).toBe(version);

    // The installed daemon starts on a data dir and the installed CLI reaches it.
    const dataDir = path.join(work, 'data');
    const child = spawn('gwd', ['--data-dir', dataDir], { env, stdio: 'ignore' });
    try {
      const out = await waitFor('installed gwctl status', () => {
        const r = spawnSync('gwctl', ['--socket', path.join(dataDir, 'gwd.sock'), '--json', 'status'], { env, encoding: 'utf8' });
        return r.status === 0 ? r.stdout : undefined;
      }, 20_000, 100);
      expect(JSON.parse(out).redundancy.activity).toBe('Active');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 240_000);
});
