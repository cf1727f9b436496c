import { statSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { GwError } from '../../src/core/errors.js';
import { reply } from '../../src/daemon/api/router.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { rawRequest } from '../helpers/raw-http.js';
import { makeTempDir } from '../helpers/temp-dir.js';

let t: TestDaemon;

beforeEach(async () => {
  t = await startTestDaemon();
});
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(t.logs.join(''));
  await t.stop();
});

describe('GET /v0/status', () => {
  it('answers the node, role Independent, activity Active and the certificate fingerprint', async () => {
    const s = await t.client.status();
    expect(s.node).toMatchObject({ systemName: 'test-node', edition: 'standard', version: '0.1.0' });
    expect(s.node.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.node.certFingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(s.redundancy).toMatchObject({
      role: 'Independent',
      activity: 'Active',
      epoch: 0,
      peer: null,
      sync: { state: 'NotApplicable', revision: 0, peerRevision: null },
    });
    expect(Date.parse(s.redundancy.since)).not.toBeNaN();
    expect(s.daemon).toMatchObject({ ready: true, socket: t.socketPath, dataDir: t.dataDir, pid: process.pid });
  });

  it('GET /v0/node/cert returns the PEM whose fingerprint is the status fingerprint', async () => {
    const { X509Certificate } = await import('node:crypto');
    const cert = await t.client.nodeCert();
    const fp = new X509Certificate(cert.pem).fingerprint256.replace(/:/g, '').toLowerCase();
    expect(fp).toBe(cert.fingerprint);
    expect(cert.fingerprint).toBe((await t.client.node()).certFingerprint);
    expect(readFileSync(cert.path, 'utf8')).toBe(cert.pem);
  });
});

describe('transport errors use the coded body', () => {
  beforeEach(() => {
    // A route with a body, as the feature routes have: the transport is what is under test here.
    t.daemon.router.post('/v0/test/echo', (req) => reply(200, { got: req.body }), { bodyLimit: 1024 });
  });

  it('unknown route: 404 GW_ERR_API_NOT_FOUND', async () => {
    const r = await rawRequest(t.socketPath, 'GET', '/v0/nope');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({
      statusCode: 404,
      code: 'GW_ERR_API_NOT_FOUND',
      error: 'Not Found',
      message: 'no route for GET /v0/nope; see docs/api.md for the routes',
    });
  });

  it('wrong method: 405 with Allow', async () => {
    const r = await rawRequest(t.socketPath, 'DELETE', '/v0/status');
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET');
    expect(r.json).toMatchObject({ statusCode: 405, code: 'GW_ERR_API_METHOD_NOT_ALLOWED', error: 'Method Not Allowed' });
  });

  it('malformed JSON: 400 GW_ERR_API_MALFORMED_JSON', async () => {
    const r = await rawRequest(t.socketPath, 'POST', '/v0/test/echo', {
      headers: { 'content-type': 'application/json' },
      body: '{"a": ',
    });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ statusCode: 400, code: 'GW_ERR_API_MALFORMED_JSON', error: 'Bad Request' });
  });

  it('a body over the limit: 413 GW_ERR_API_BODY_TOO_LARGE, declared or streamed', async () => {
    const big = JSON.stringify({ x: 'y'.repeat(5000) });
    const declared = await rawRequest(t.socketPath, 'POST', '/v0/test/echo', { body: big });
    expect(declared.status).toBe(413);
    expect(declared.json).toMatchObject({ statusCode: 413, code: 'GW_ERR_API_BODY_TOO_LARGE', error: 'Payload Too Large' });
    const chunked = await rawRequest(t.socketPath, 'POST', '/v0/test/echo', {
      headers: { 'transfer-encoding': 'chunked' },
      body: big,
    });
    expect(chunked.status).toBe(413);
    // The daemon still answers afterwards.
    expect((await t.client.status()).daemon.ready).toBe(true);
  });

  it('a body within the limit reaches the handler parsed', async () => {
    const r = await rawRequest(t.socketPath, 'POST', '/v0/test/echo', { body: '{"a":1}' });
    expect(r.json).toEqual({ got: { a: 1 } });
  });

  it('requests with Origin or Referer are refused with 403', async () => {
    for (const header of ['origin', 'referer']) {
      const r = await rawRequest(t.socketPath, 'GET', '/v0/status', { headers: { [header]: 'http://evil.example' } });
      expect(r.status).toBe(403);
      expect(r.json).toMatchObject({ statusCode: 403, code: 'GW_ERR_API_ORIGIN_REFUSED', error: 'Forbidden' });
    }
  });

  it('a handler that throws an uncoded error answers 500 GW_ERR_DAEMON_INTERNAL and the daemon lives on', async () => {
    t.daemon.router.get('/v0/test/boom', () => {
      throw new TypeError('boom');
    });
    const r = await rawRequest(t.socketPath, 'GET', '/v0/test/boom');
    expect(r.status).toBe(500);
    expect(r.json).toMatchObject({ code: 'GW_ERR_DAEMON_INTERNAL' });
    expect((await t.client.status()).daemon.ready).toBe(true);
  });

  it('the typed client turns the body back into a GwError with its code', async () => {
    const err = await t.client.request('GET', '/v0/missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GwError);
    expect((err as GwError).code).toBe('GW_ERR_API_NOT_FOUND');
  });
});

describe('events', () => {
  it('GET /v0/events is NDJSON with daemon.started carrying seq and time', async () => {
    const r = await rawRequest(t.socketPath, 'GET', '/v0/events');
    expect(r.headers['content-type']).toContain('application/x-ndjson');
    const events = r.text.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; time: string; type: string });
    const started = events.find((e) => e.type === 'daemon.started');
    expect(started).toBeDefined();
    expect(started!.seq).toBeGreaterThan(0);
    expect(Date.parse(started!.time)).not.toBeNaN();
  });

  it('follow=1 streams events emitted after the request, in order', async () => {
    const abort = new AbortController();
    const seen: string[] = [];
    const done = t.client.streamEvents({ follow: true, since: t.daemon.events.lastSeq }, (e) => {
      seen.push(e.type);
      if (seen.length === 2) abort.abort();
    }, abort.signal);
    // Emit only once the stream is subscribed: poll the listener count through a bounded loop.
    for (let i = 0; i < 200 && (t.daemon.events as unknown as { listeners: Set<unknown> }).listeners.size === 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    t.daemon.events.emit('test.one', {});
    t.daemon.events.emit('test.two', {});
    await done;
    expect(seen).toEqual(['test.one', 'test.two']);
  });

  it('a bad since is a 400 naming the parameter', async () => {
    const r = await rawRequest(t.socketPath, 'GET', '/v0/events?since=abc');
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 'GW_ERR_API_INVALID_QUERY' });
    expect((r.json as { message: string }).message).toContain('since');
  });

  it('seq continues across a restart of the daemon', async () => {
    const before = t.daemon.events.lastSeq;
    const dir = t.dataDir;
    await t.daemon.stop('test');
    const again = await startTestDaemon({}, dir);
    try {
      expect(again.daemon.events.lastSeq).toBeGreaterThan(before);
    } finally {
      await again.daemon.stop('test');
    }
  });
});

describe('socket', () => {
  it('is mode 0600 and removed on stop', async () => {
    expect(statSync(t.socketPath).mode & 0o777).toBe(0o600);
    await t.daemon.stop('test');
    expect(existsSync(t.socketPath)).toBe(false);
  });

  it('a second daemon on a live socket is refused with a message naming the socket', async () => {
    const err = await startTestDaemon({ socketPath: t.socketPath }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GwError);
    expect((err as GwError).code).toBe('GW_ERR_DAEMON_SOCKET_IN_USE');
    expect((err as GwError).message).toContain(t.socketPath);
    // The first daemon is unharmed.
    expect((await t.client.status()).daemon.ready).toBe(true);
  });

  it('a stale socket file (no one listening) is replaced', async () => {
    const temp = makeTempDir();
    const sock = path.join(temp.dir, 'stale.sock');
    // Leave a real socket file behind with nobody listening, as a gwd killed with -9 would.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`]);
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(sock)).toBe(true);
    const d = await startTestDaemon({ socketPath: sock });
    try {
      expect((await d.client.status()).daemon.socket).toBe(sock);
    } finally {
      await d.stop();
      temp.cleanup();
    }
  });

  it('a regular file in the socket path is left untouched and the start refused', async () => {
    const temp = makeTempDir();
    const file = path.join(temp.dir, 'not-a-socket');
    writeFileSync(file, 'keep me');
    const err = await startTestDaemon({ socketPath: file }).catch((e: unknown) => e);
    expect((err as GwError).code).toBe('GW_ERR_DAEMON_SOCKET_PATH_INVALID');
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    temp.cleanup();
  });
});

describe('first start and files on disk', () => {
  it('creates node.json, a 0600 key, a certificate and default settings files', async () => {
    expect(statSync(path.join(t.dataDir, 'pki', 'gwd.key')).mode & 0o777).toBe(0o600);
    for (const f of ['node.json', 'redundancy.json', 'gateway-network.json', 'pki/gwd.crt']) {
      expect(existsSync(path.join(t.dataDir, f)), f).toBe(true);
    }
    const node = JSON.parse(readFileSync(path.join(t.dataDir, 'node.json'), 'utf8')) as { uuid: string };
    expect(node.uuid).toBe((await t.client.node()).uuid);
  });

  it('keeps its identity across restarts', async () => {
    const before = await t.client.node();
    const dir = t.dataDir;
    await t.daemon.stop('test');
    const again = await startTestDaemon({ systemName: 'other-name' }, dir);
    try {
      const after = await again.client.node();
      expect(after.uuid).toBe(before.uuid);
      expect(after.certFingerprint).toBe(before.certFingerprint);
      // --system-name seeds on first start only.
      expect(after.systemName).toBe('test-node');
    } finally {
      await again.daemon.stop('test');
    }
  });

  it('an invalid redundancy.json stops the start, names file and field, and is not overwritten', async () => {
    const temp = makeTempDir();
    const file = path.join(temp.dir, 'redundancy.json');
    const content = '{"role": "Boss"}\n';
    writeFileSync(file, content);
    const err = await startTestDaemon({}, temp.dir).catch((e: unknown) => e);
    expect((err as GwError).code).toBe('GW_ERR_SETTINGS_INVALID');
    expect((err as GwError).message).toContain(file);
    expect((err as GwError).message).toContain('/role');
    expect(readFileSync(file, 'utf8')).toBe(content);
    expect(existsSync(path.join(temp.dir, 'gwd.sock'))).toBe(false);
    temp.cleanup();
  });
});
