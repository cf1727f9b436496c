import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ERROR_CATALOGUE, GwError, formatMessage, isErrorBody } from '../../src/core/errors.js';

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
});
