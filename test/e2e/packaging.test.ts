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
