import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { AnswerReader, GwClient } from '../../src/cli/client.js';
import { GwError } from '../../src/core/errors.js';

const text = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('AnswerReader: gwctl reads gwd answers without node:http', () => {
  it('a body of content-length bytes is whole only once all arrived, however cut', () => {
    // 18 bytes: the ä is two in UTF-8.
    const whole = 'HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 18\r\n\r\n{"label":"plänt"}';
    const bytes = Buffer.from(whole, 'utf8');
    for (let cut = 1; cut < bytes.length; cut += 7) {
      const r = new AnswerReader();
      expect(r.add(bytes.subarray(0, cut))).toBeNull();
      expect(r.add(bytes.subarray(cut))).toEqual({ status: 200, text: '{"label":"plänt"}' });
    }
  });

  it('an answer cut short by the close is not whole; a 204 without a body is', () => {
    const short = new AnswerReader();
    short.add(text('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 10\r\n\r\n{"co'));
    expect(short.end()).toBeNull();
    const headless = new AnswerReader();
    headless.add(text('HTTP/1.1 200 OK\r\nContent-Le'));
    expect(headless.end()).toBeNull();
    const none = new AnswerReader();
    expect(none.add(text('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'))).toBeNull();
    expect(none.end()).toEqual({ status: 204, text: '' });
  });

  it('a chunked body is decoded at the close', () => {
    const r = new AnswerReader();
    expect(r.add(text('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'))).toBeNull();
    expect(r.add(text('6\r\n world\r\n0\r\n\r\n'))).toBeNull();
    expect(r.end()).toEqual({ status: 200, text: 'hello world' });
  });

  it('what is not an HTTP answer is refused', () => {
    expect(() => new AnswerReader().add(text('SSH-2.0-OpenSSH\r\n\r\n'))).toThrow(/not an HTTP answer/);
    expect(() => new AnswerReader().add(text('HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n'))).toThrow(/content-length/);
  });
});

describe('GwClient over a socket that misbehaves', () => {
  let server: Server | null = null;
  let dir: string | null = null;
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function serve(onRequest: (sock: import('node:net').Socket, request: string) => void): Promise<string> {
    dir = mkdtempSync(path.join(tmpdir(), 'gwctl-answer-'));
    const socketPath = path.join(dir, 'gwd.sock');
    server = createServer((sock) => {
      let got = '';
      sock.on('data', (c) => {
        got += c.toString('latin1');
        if (got.includes('\r\n\r\n')) onRequest(sock, got);
      });
    });
    await new Promise<void>((r) => server!.listen(socketPath, r));
    return socketPath;
  }

  it('sends the request node:http sent, and a whole answer resolves before the close', async () => {
    let seen = '';
    const socketPath = await serve((sock, request) => {
      seen = request;
      // Never closed by the server: the client resolves on content-length and closes itself.
      sock.write('HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"ok":true}');
    });
    const body = await new GwClient(socketPath).request('PUT', '/v0/node', { label: 'x' });
    expect(body).toEqual({ ok: true });
    expect(seen.split('\r\n').slice(0, 3)).toEqual(['PUT /v0/node HTTP/1.1', 'Host: localhost', 'Connection: close']);
    expect(seen).toMatch(/\r\nx-gwd-actor: gwctl/);
    expect(seen).toMatch(/\r\ncontent-type: application\/json\r\ncontent-length: 13\r\n\r\n\{"label":"x"\}$/);
  });

  it('a daemon that closes mid-answer is unreachable, not a half answer', async () => {
    const socketPath = await serve((sock) => sock.end('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"node":'));
    const err = await new GwClient(socketPath).status().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GwError);
    expect((err as GwError).code).toBe('GW_ERR_CLI_DAEMON_UNREACHABLE');
    expect((err as GwError).message).toMatch(/socket hang up/);
  });

  it('an error answer becomes the daemon\'s GwError', async () => {
    const body = JSON.stringify({ statusCode: 404, code: 'GW_ERR_API_NOT_FOUND', message: 'no such route: GET /v0/x', details: { method: 'GET', path: '/v0/x' } });
    const socketPath = await serve((sock) => sock.end(`HTTP/1.1 404 Not Found\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
    const err = await new GwClient(socketPath).request('GET', '/v0/x').catch((e: unknown) => e);
    expect((err as GwError).code).toBe('GW_ERR_API_NOT_FOUND');
  });
});
