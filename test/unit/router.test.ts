import { describe, expect, it } from 'vitest';

import { Router } from '../../src/daemon/api/router.js';

describe('route table', () => {
  it('a duplicate route fails at registration', () => {
    const r = new Router();
    r.get('/v0/config/:name', () => 1);
    expect(() => r.get('/v0/config/:other', () => 2)).toThrow(/duplicate route GET/);
  });

  it('the same path with another method is not a duplicate', () => {
    const r = new Router();
    r.get('/v0/status', () => 1);
    expect(() => r.post('/v0/status', () => 2)).not.toThrow();
  });

  it('reports the allowed methods when only the method is wrong', () => {
    const r = new Router();
    r.get('/v0/status', () => 1);
    expect(r.match('DELETE', '/v0/status')).toEqual({ kind: 'method', allowed: ['GET'] });
    expect(r.match('GET', '/v0/nothing')).toEqual({ kind: 'none' });
  });

  it('literal segments win over parameters', () => {
    const r = new Router();
    r.get('/v0/config/:name', () => 'param');
    r.get('/v0/config/check', () => 'literal');
    const m = r.match('GET', '/v0/config/check');
    expect(m.kind === 'found' && m.route.pattern).toBe('/v0/config/check');
  });

  it('a trailing *rest captures a resource address with slashes, decoded', () => {
    const r = new Router();
    r.get('/v0/config/resources/*address', () => 1);
    const m = r.match('GET', '/v0/config/resources/opc-connection/plc%201');
    expect(m.kind === 'found' && m.params).toEqual({ address: 'opc-connection/plc 1' });
    expect(r.match('GET', '/v0/config/resources').kind).toBe('none');
  });
});
