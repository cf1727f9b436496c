import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ERROR_CATALOGUE, GwError, RemoteError, formatMessage, isErrorBody } from '../../src/core/errors.js';

function docRows(): Map<string, { statusCode: number; message: string }> {
  const text = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, { statusCode: number; message: string }>();
  for (const line of text.split('\n')) {
    const m = /^\| (GW_ERR_[A-Z0-9_]+) \| (\d{3}) \| (.*) \|$/.exec(line);
    if (m) rows.set(m[1]!, { statusCode: Number(m[2]), message: m[3]!.replace(/\\\|/g, '|') });
  }
  return rows;
}

describe('error catalogue', () => {
  it('every code in src/core/errors.ts is documented in docs/errors.md with the same status and message', () => {
    const rows = docRows();
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      expect(rows.get(code), `${code} missing from docs/errors.md`).toEqual({
        statusCode: entry.statusCode,
        message: entry.message,
      });
    }
  });

  it('every code in docs/errors.md exists in the catalogue', () => {
    for (const code of docRows().keys()) {
      expect(Object.hasOwn(ERROR_CATALOGUE, code), `${code} documented but not in the catalogue`).toBe(true);
    }
  });

  it('codes follow GW_ERR_<AREA>_<WHAT> and statuses are HTTP error statuses', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      expect(code).toMatch(/^GW_ERR_[A-Z0-9]+_[A-Z0-9_]+$/);
      expect(entry.statusCode).toBeGreaterThanOrEqual(400);
      expect(entry.statusCode).toBeLessThan(600);
    }
  });

  it('every brace in a message is a {word} placeholder: the one form formatMessage fills and the params type requires', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      const braces = entry.message.match(/[{}][^{}]*[{}]?/g) ?? [];
      for (const b of braces) expect(b, `${code}: ${entry.message}`).toMatch(/^\{\w+\}$/);
    }
  });

  it('fills message placeholders and keeps unknown ones visible', () => {
    expect(formatMessage('edit it on {host}:{port}', { host: '10.0.0.5', port: 8060 })).toBe('edit it on 10.0.0.5:8060');
    expect(formatMessage('missing {nothing}', {})).toBe('missing {nothing}');
  });

  it('round-trips through the wire body with code, status, reason and details', () => {
    const err = new GwError('GW_ERR_API_METHOD_NOT_ALLOWED', { method: 'PUT', path: '/v0/status', allowed: 'GET' }, { a: 1 });
    const body = err.toBody();
    expect(body).toEqual({
      statusCode: 405,
      code: 'GW_ERR_API_METHOD_NOT_ALLOWED',
      error: 'Method Not Allowed',
      message: 'PUT is not allowed on /v0/status; allowed: GET',
      details: { a: 1 },
    });
    expect(isErrorBody(body)).toBe(true);
    const back = GwError.fromBody(body);
    expect(back).toBeInstanceOf(GwError);
    expect(back.code).toBe('GW_ERR_API_METHOD_NOT_ALLOWED');
    expect(back.message).toBe(body.message);
  });

  it('a body with a code this build does not know (a newer gwd) is kept as it came, as a RemoteError', () => {
    const body = { statusCode: 409, code: 'GW_ERR_FUTURE_THING', error: 'Conflict', message: 'something new', details: { x: 1 } };
    const err = GwError.fromBody(body);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).not.toBeInstanceOf(GwError);
    expect(err.code).toBe('GW_ERR_FUTURE_THING');
    expect(err.toBody()).toEqual(body);
  });

  it('a connection keeps an error as a record: code, message and the time given', () => {
    const err = new GwError('GW_ERR_GAN_UNREACHABLE', { address: '10.0.0.1:8060', detail: 'ECONNREFUSED' });
    expect(err.toRecord(new Date(Date.UTC(2026, 11, 4, 16, 0, 0)))).toEqual({
      code: 'GW_ERR_GAN_UNREACHABLE',
      message: 'cannot reach 10.0.0.1:8060: ECONNREFUSED',
      time: '2026-12-04T16:00:00.000Z',
    });
  });

  it('GwError.from makes the error a machine returned as a spec', () => {
    const err = GwError.from({ code: 'GW_ERR_REDUNDANCY_NO_PEER', params: { activity: 'Active' } }, { why: 1 });
    expect(err).toBeInstanceOf(GwError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('GwError');
    expect(err.code).toBe('GW_ERR_REDUNDANCY_NO_PEER');
    expect(err.statusCode).toBe(409);
    expect(err.message).toContain('(this node is Active)');
    expect(err.details).toEqual({ why: 1 });
  });
});
