/**
 * gwd's log as a person and as journald see it: JSON lines when stdout is a pipe (what systemd's
 * journal and log shippers take), one readable line per entry on a terminal. The terminal is a real
 * pseudo-terminal (util-linux `script`), so the test shows it if `process.stdout.isTTY` stops
 * telling the two apart.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { GWD, gwctl, spawnGwd, waitFor, type GwdProcess } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const running: GwdProcess[] = [];
const cleanups: Array<() => void> = [];

function tempDir(): string {
  const t = makeTempDir('gwd-log-');
  cleanups.push(t.cleanup);
  return t.dir;
}

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
  for (const c of cleanups.splice(0)) c();
});

const PRETTY = /^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S/;
const LISTEN = ['--port', '0', '--ssl-port', '0', '--bind', '127.0.0.1'];

describe('gwd log format', () => {
  it('is JSON, one object a line, when stdout is a pipe', async () => {
    const p = spawnGwd(tempDir(), LISTEN);
    running.push(p);
    const ready = await gwctl(['--socket', p.socket, 'wait', '--ready', '--timeout', '15']);
    expect(ready.code, p.output()).toBe(0);
    const lines = p.output().split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lines.map((l) => (JSON.parse(l) as { level: number }).level)).toContain(30);
  });

  it('--log-format pretty gives readable lines through a pipe too', async () => {
    const p = spawnGwd(tempDir(), [...LISTEN, '--log-format', 'pretty']);
    running.push(p);
    expect((await gwctl(['--socket', p.socket, 'wait', '--ready', '--timeout', '15'])).code, p.output()).toBe(0);
    const lines = p.output().split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(line).toMatch(PRETTY);
    expect(lines.some((l) => / INFO {2}gateway network listening {2}listener=plain address=127\.0\.0\.1 port=\d+/.test(l)), lines.join('\n')).toBe(true);
  });

  // `script` is util-linux's (Debian's essential bsdutils): always there, never skipped.
  it('is pretty by default on a terminal', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'gwd.sock');
    // `script` gives gwd a pseudo-terminal as stdout and copies what it prints to ours.
    const cmd = [process.execPath, GWD, '--data-dir', dir, ...LISTEN].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GWD_SOCKET: '', GWD_DATA_DIR: '' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      expect((await gwctl(['--socket', socket, 'wait', '--ready', '--timeout', '15'])).code, out).toBe(0);
      await waitFor('a listening line', () => (out.includes('gateway network listening') ? true : undefined), 5000);
    } finally {
      // gwd is the child of `script`: end it by its own PID (from its status), then script ends.
      const status = await gwctl(['--socket', socket, 'status', '--json']);
      const pid = status.code === 0 ? (JSON.parse(status.stdout) as { daemon: { pid: number } }).daemon.pid : null;
      if (pid) process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    const lines = out.split(/\r?\n/).filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(line).toMatch(PRETTY);
  });
});
