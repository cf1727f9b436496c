import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { renderRouteTable, replaceRouteTable, ROUTE_DOCS } from '../../src/daemon/api/route-docs.js';
import { Router } from '../../src/daemon/api/router.js';
import { registerAllRoutes, type ApiServices } from '../../src/daemon/api/routes/index.js';

/** The route table as the daemon registers it; the services are never called while registering. */
function routeTable() {
  const router = new Router();
  const unused = new Proxy({}, { get: (_t, p) => { throw new Error(`a service was used while registering (${String(p)})`); } });
  registerAllRoutes(router, { status: unused, events: unused, metrics: unused, network: unused, redundancy: unused, trust: unused, config: unused } as unknown as ApiServices);
  return router.list();
}

describe('docs/api.md route table', () => {
  it('equals the table rendered from the router (run `npm run docs` when this fails)', () => {
    const page = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    expect(page).toBe(replaceRouteTable(page, renderRouteTable(routeTable())));
  });

  it('every route has a line and every line a route', () => {
    const keys = routeTable().map((r) => `${r.method} ${r.pattern}`);
    expect(keys.length).toBeGreaterThan(20);
    expect(Object.keys(ROUTE_DOCS).sort()).toEqual([...keys].sort());
  });

  it('a route without a line, or a line without a route, is named', () => {
    const routes = routeTable();
    expect(() => renderRouteTable([...routes, { method: 'GET', pattern: '/v0/new' }])).toThrow(/no line for \[GET \/v0\/new\]/);
    expect(() => renderRouteTable(routes.slice(1))).toThrow(/no route for \[GET \/v0\/status\]/);
  });
});
