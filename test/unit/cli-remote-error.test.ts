import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { run } from '../../src/cli/program.js';

// A gwd newer than this gwctl may answer with a code this build does not know (codes are only
// ever added). gwctl keeps it as it came: the code printed, the body under --json, exit 1.
describe('gwctl and an error code it does not know', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gwctl-remote-'));
  const socket = path.join(dir, 'gwd.sock');
  const body = { statusCode: 409, code: 'GW_ERR_FUTURE_THING', error: 'Conflict', message: 'something new happened', details: { x: 1 } };
  let server: Server;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(409, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  function io(): { io: never; out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    const value = {
      stdout: { write: (s: string) => out.push(s) > 0 },
      stderr: { write: (s: string) => err.push(s) > 0 },
      env: {},
      cwd: '/',
      isTTY: false,
    };
    return { io: value as never, out, err };
  }

  it('prints the code and message and exits 1', async () => {
    const t = io();
    expect(await run(['--socket', socket, 'node', 'show'], t.io)).toBe(1);
    expect(t.err.join('')).toBe('gwctl: GW_ERR_FUTURE_THING: something new happened\n');
  });

  it('--json prints the body as it came', async () => {
    const t = io();
    expect(await run(['--socket', socket, 'node', 'show', '--json'], t.io)).toBe(1);
    expect(JSON.parse(t.err.join(''))).toEqual(body);
  });
});
