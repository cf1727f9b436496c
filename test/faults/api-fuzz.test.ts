import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ERROR_CATALOGUE, isErrorBody } from '../../src/core/errors.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { Prng } from '../helpers/prng.js';
import { rawRequest } from '../helpers/raw-http.js';

// CI runs a reduced set; GWD_FAULTS_FULL=1 (npm run test:faults:full) runs the full one.
const FULL = process.env.GWD_FAULTS_FULL === '1';
const SEEDS = FULL ? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] : [1];
const REQUESTS_PER_SEED = 10_000;

let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon({ logLevel: 'warn' });
});
afterAll(async () => {
  await t.stop();
});

const PATHS = [
  '/v0/status', '/v0/node', '/v0/node/cert', '/v0/events', '/v0/events?follow=0&since=', '/v0/events?since=-1', '/metrics',
  '/v0/config', '/v0/config/resources/opc-connection/plc1', '/v0/config/resources/../../etc', '/v0/config/resources',
  '/v0/config/backup/opc-connection/plc1', '/v0/config/check', '/v0/config/rescan', '/v0/redundancy',
  '/v0/redundancy/failover', '/v0/network', '/v0/certs', '/v0/connections', '/v0/%', '/v0/%2e%2e/%2e%2e', '//v0//status',
  '/', '', '*', '/v0/status?x=%zz', `/v0/${'a'.repeat(3000)}`,
];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'BREW'];

/** Settings and identity: a refused request must never change one byte of them. */
function protectedFilesDigest(dir: string): string {
  const h = createHash('sha256');
  for (const f of ['node.json', 'redundancy.json', 'gateway-network.json', 'pki/gwd.key', 'pki/gwd.crt']) {
    h.update(f).update(readFileSync(path.join(dir, f)));
  }
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else h.update(p).update(readFileSync(p)).update(String(statSync(p).mode));
    }
  };
  walk(path.join(dir, 'config'));
  return h.digest('hex');
}

function randomRequest(rng: Prng): { method: string; path: string; headers: Record<string, string>; body?: Buffer | string } {
  const method = rng.pick(METHODS);
  let p = rng.pick(PATHS);
  if (rng.next() < 0.2) p += `/${encodeURIComponent(String(rng.json(0)))}`;
  const headers: Record<string, string> = {};
  if (rng.next() < 0.3) headers['content-type'] = rng.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded', '']);
  if (rng.next() < 0.05) headers[rng.pick(['origin', 'referer'])] = 'http://evil.example';
  let body: Buffer | string | undefined;
  const kind = rng.int(6);
  if (kind === 1) body = JSON.stringify(rng.json());
  else if (kind === 2) body = rng.bytes(rng.int(200));
  else if (kind === 3) body = JSON.stringify(rng.json()).slice(0, -1);
  else if (kind === 4 && rng.next() < 0.05) {
    body = 'x'.repeat(1024 * 1024 + 10);
    // Aim half of the oversized bodies at a route that reads bodies, or the limit is left to luck.
    if (rng.next() < 0.5) return { method: 'PUT', path: '/v0/config/resources/opc-connection/plc1', headers, body };
  }
  // node's client refuses a body on HEAD and TRACE.
  if (method === 'HEAD' || method === 'TRACE') body = undefined;
  return { method, path: p, headers, body };
}

describe('local API fuzz', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${REQUESTS_PER_SEED} random requests get a JSON answer or a coded error, and the daemon keeps serving`, async () => {
      const rng = new Prng(seed);
      const before = protectedFilesDigest(t.dataDir);
      const codes = new Map<string, number>();
      for (let i = 0; i < REQUESTS_PER_SEED; i++) {
        const req = randomRequest(rng);
        const res = await rawRequest(t.socketPath, req.method, req.path || '/', { headers: req.headers, body: req.body }).catch(
          (err: Error) => ({ status: -1, text: err.message, json: undefined, headers: {} }),
        );
        const where = `request ${i} (seed ${seed}): ${req.method} ${req.path.slice(0, 80)}`;
        expect(res.status, where).toBeGreaterThan(0);
        if (res.status >= 400) {
          // HEAD answers carry no body; every other refusal is a coded body from the catalogue.
          if (req.method !== 'HEAD' && res.text !== '') {
            expect(isErrorBody(res.json), `${where}: ${res.text.slice(0, 200)}`).toBe(true);
            const code = (res.json as { code: string }).code;
            expect(Object.hasOwn(ERROR_CATALOGUE, code), `${where}: unknown code ${code}`).toBe(true);
            codes.set(code, (codes.get(code) ?? 0) + 1);
          }
        }
        expect(res.status, `${where}: ${res.text.slice(0, 300)}`).not.toBe(500);
      }
      expect((await t.client.status()).daemon.ready).toBe(true);
      expect(protectedFilesDigest(t.dataDir)).toBe(before);
      // The fuzz must reach the refusals it is meant to exercise.
      const mustReach = ['GW_ERR_API_MALFORMED_REQUEST', 'GW_ERR_API_NOT_FOUND', 'GW_ERR_API_METHOD_NOT_ALLOWED', 'GW_ERR_API_ORIGIN_REFUSED'];
      // Body limits are only reachable once some route takes a body.
      if (t.daemon.router.list().some((r) => r.method !== 'GET')) mustReach.push('GW_ERR_API_BODY_TOO_LARGE');
      for (const code of mustReach) {
        expect(codes.get(code) ?? 0, code).toBeGreaterThan(0);
      }
    }, 120_000);
  }
});
