/**
 * The etcd witness adapter (src/daemon/witness) against a real etcd server (Debian etcd-server,
 * installed by .ci/run). Skipped, with the reason in the suite name, only when the etcd binary is
 * missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GwError } from '../../src/core/errors.js';
import { EtcdWitness, maxRequestTimeoutMs, type WitnessSettings } from '../../src/daemon/witness/etcd-client.js';
import { etcdVersion, freePort, makeEtcdCerts, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { ROOT } from '../helpers/processes.js';

const version = etcdVersion();
const suite = version ? `etcd witness adapter (${version})` : 'etcd witness adapter (skipped: no etcd binary; apt-get install etcd-server)';

let prefixSeq = 0;
function settings(endpoints: string[], extra: Partial<WitnessSettings> = {}): WitnessSettings {
  return { kind: 'etcd', endpoints, prefix: `/gwd/test-${process.pid}-${++prefixSeq}`, leaseTtlMs: 5000, ...extra };
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GwError);
    return { code: (err as GwError).code, message: (err as GwError).message };
  }
  throw new Error('expected a GwError, the call succeeded');
}

/** A TCP server that accepts connections and never answers. */
async function silentServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

describe('witness request timeout', () => {
  it('is below a third of the lease: min(ttl/3 - 50, 1500), at least 100; a larger option is lowered to it', () => {
    expect(maxRequestTimeoutMs(5000)).toBe(1500);
    expect(maxRequestTimeoutMs(3000)).toBe(950);
    expect(maxRequestTimeoutMs(2000)).toBe(616);
    expect(maxRequestTimeoutMs(300)).toBe(100);
    for (const ttl of [1000, 2000, 3000, 5000, 10_000, 60_000]) expect(maxRequestTimeoutMs(ttl)).toBeLessThan(ttl / 3);
    const w = new EtcdWitness(settings(['http://127.0.0.1:1'], { leaseTtlMs: 3000 }), { requestTimeoutMs: 5000 });
    expect(w.requestTimeoutMs).toBe(950);
    expect(new EtcdWitness(settings(['http://127.0.0.1:1'], { leaseTtlMs: 3000 }), { requestTimeoutMs: 200 }).requestTimeoutMs).toBe(200);
    expect(new EtcdWitness(settings(['http://127.0.0.1:1'])).requestTimeoutMs).toBe(1500);
  });

  it('a server that accepts and never answers fails the request after the timeout', async () => {
    await import('undici'); // loaded once per process (a few hundred ms); not part of what is timed here
    const silent = await silentServer();
    const w = new EtcdWitness(settings([silent.url], { leaseTtlMs: 3000 }));
    try {
      const t0 = performance.now();
      const err = await codeOf(w.grant());
      const took = performance.now() - t0;
      expect(err.code).toBe('GW_ERR_WITNESS_UNREACHABLE');
      expect(err.message).toContain(`${silent.url}: no answer within 950 ms`);
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(950 + 500); // the timeout, plus slack for a loaded machine
    } finally {
      await w.close();
      await silent.close();
    }
  });

  it('refuses settings it cannot use: no endpoints, a non-http URL, an empty prefix', () => {
    expect(() => new EtcdWitness(settings([]))).toThrow(/witness.endpoints is empty/);
    expect(() => new EtcdWitness(settings(['etcd.local:2379']))).toThrow(/http/);
    expect(() => new EtcdWitness(settings(['http://127.0.0.1:2379'], { prefix: '/' }))).toThrow(/prefix/);
  });
});

describe('witness TLS material', () => {
  const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gwd-wtls-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!hasOpenssl)('a missing, garbled or mismatched file is GW_ERR_WITNESS_TLS naming the file and why', async () => {
    const certs = makeEtcdCerts(dir);
    const garbage = path.join(dir, 'garbage.pem');
    writeFileSync(garbage, 'hello\n');
    const badPem = path.join(dir, 'bad.pem');
    writeFileSync(badPem, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const cases: Array<[WitnessSettings['tls'], string, RegExp]> = [
      [{ ca: path.join(dir, 'nope.pem'), cert: certs.cert, key: certs.key }, 'ca', /no such file/],
      [{ ca: certs.ca, cert: garbage, key: certs.key }, 'cert', /not a PEM file/],
      [{ ca: badPem, cert: certs.cert, key: certs.key }, 'ca', /not a certificate/],
      [{ ca: certs.ca, cert: certs.cert, key: certs.ca }, 'key', /not a private key/],
      [{ ca: certs.ca, cert: certs.cert, key: certs.strangerKey }, 'key', /not the key of the certificate/],
      [{ ca: certs.ca, cert: certs.cert, key: dir }, 'key', /directory/],
    ];
    for (const [tls, what, why] of cases) {
      const w = new EtcdWitness(settings(['https://127.0.0.1:1'], { tls }));
      try {
        const err = await codeOf(w.clusterId());
        expect(err.code, err.message).toBe('GW_ERR_WITNESS_TLS');
        expect(err.message).toContain(`TLS ${what} file ${tls![what as 'ca' | 'cert' | 'key']}`);
        expect(err.message).toMatch(why);
      } finally {
        await w.close();
      }
    }
  });
});

describe('witness loads undici lazily', () => {
  const compiled = path.join(ROOT, 'dist/daemon/witness/etcd-client.js');
  it.skipIf(!existsSync(compiled))('importing and constructing the client loads no undici; the first request does', () => {
    const hook = `data:text/javascript,${encodeURIComponent(
      'export async function resolve(s, c, next) { if (s === "undici") throw new Error("UNDICI-LOADED"); return next(s, c); }',
    )}`;
    const script = `
      import { register } from 'node:module';
      register(${JSON.stringify(hook)});
      const m = await import(${JSON.stringify(pathToFileURL(compiled).href)});
      const w = new m.EtcdWitness({ kind: 'etcd', endpoints: ['http://127.0.0.1:1'], prefix: '/p', leaseTtlMs: 3000 });
      console.log('constructed without undici');
      try { await w.clusterId(); } catch (e) { console.log('first request: ' + e.message); }
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout, r.stderr).toContain('constructed without undici');
    expect(r.stdout, r.stderr).toContain('first request: UNDICI-LOADED');
  });
});

describe.skipIf(!version)(suite, () => {
  let etcd: EtcdServer;
  const open: EtcdWitness[] = [];
  function witness(s: WitnessSettings, opts?: ConstructorParameters<typeof EtcdWitness>[1]): EtcdWitness {
    const w = new EtcdWitness(s, opts);
    open.push(w);
    return w;
  }

  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await Promise.all(open.map((w) => w.close()));
    await etcd?.cleanup();
  });

  it('reads the cluster id from the answer header, the same through two clients', async () => {
    const a = witness(settings([etcd.clientUrl]));
    const b = witness(settings([etcd.clientUrl]));
    const id = await a.clusterId();
    expect(id).toMatch(/^\d+$/);
    expect(await b.clusterId()).toBe(id);
  });

  it('grants, renews and revokes a lease; renewing a revoked lease is GW_ERR_WITNESS_LEASE_LOST', async () => {
    const w = witness(settings([etcd.clientUrl]));
    const before = performance.now();
    const lease = await w.grant();
    expect(lease.leaseId).toMatch(/^\d+$/);
    expect(lease.ttlMs).toBe(5000);
    expect(lease.sentAt).toBeGreaterThanOrEqual(before);
    expect(lease.sentAt).toBeLessThanOrEqual(performance.now());
    const renewed = await w.renew(lease.leaseId);
    expect(renewed.ttlMs).toBe(5000);
    expect(renewed.sentAt).toBeGreaterThanOrEqual(lease.sentAt);
    await w.revoke(lease.leaseId);
    const lost = await codeOf(w.renew(lease.leaseId));
    expect(lost.code).toBe('GW_ERR_WITNESS_LEASE_LOST');
    expect(lost.message).toContain(lease.leaseId);
    await w.revoke(lease.leaseId); // already gone: revoking again is not an error
    const never = await codeOf(w.renew('12345'));
    expect(never.code).toBe('GW_ERR_WITNESS_LEASE_LOST');
  });

  it("rounds the TTL up to whole seconds, and etcd raises it to its minimum of 2 s", async () => {
    expect((await witness(settings([etcd.clientUrl], { leaseTtlMs: 2500 })).grant()).ttlMs).toBe(3000);
    expect((await witness(settings([etcd.clientUrl], { leaseTtlMs: 1000 })).grant()).ttlMs).toBe(2000);
    expect((await witness(settings([etcd.clientUrl], { leaseTtlMs: 200 })).grant()).ttlMs).toBe(2000);
  });

  it('the leader key: acquire when absent, a second lease gets the holder, the holder re-acquires, revoke frees it', async () => {
    const s = settings([etcd.clientUrl]);
    const a = witness(s);
    const b = witness(s);
    const la = await a.grant();
    const lb = await b.grant();
    expect(await a.read()).toEqual({ holder: null, leaseId: null });

    expect(await a.acquire(la.leaseId, { uuid: 'node-a', epoch: 3 })).toEqual({ acquired: true, holder: { uuid: 'node-a', epoch: 3 } });
    expect(await b.read()).toEqual({ holder: { uuid: 'node-a', epoch: 3 }, leaseId: la.leaseId });
    expect(await b.acquire(lb.leaseId, { uuid: 'node-b', epoch: 4 })).toEqual({ acquired: false, holder: { uuid: 'node-a', epoch: 3 } });
    // idempotent for the holder, and it may write a new epoch
    expect(await a.acquire(la.leaseId, { uuid: 'node-a', epoch: 3 })).toEqual({ acquired: true, holder: { uuid: 'node-a', epoch: 3 } });
    expect(await a.acquire(la.leaseId, { uuid: 'node-a', epoch: 5 })).toEqual({ acquired: true, holder: { uuid: 'node-a', epoch: 5 } });
    expect(await b.read()).toEqual({ holder: { uuid: 'node-a', epoch: 5 }, leaseId: la.leaseId });

    await a.revoke(la.leaseId);
    expect(await b.read()).toEqual({ holder: null, leaseId: null });
    expect(await b.acquire(lb.leaseId, { uuid: 'node-b', epoch: 6 })).toEqual({ acquired: true, holder: { uuid: 'node-b', epoch: 6 } });
    expect(await a.read()).toEqual({ holder: { uuid: 'node-b', epoch: 6 }, leaseId: lb.leaseId });

    // with a lease that is gone: the key held by another lease gives that holder (nothing is
    // written); an absent key is a lost lease (etcd refuses the put), not a refusal
    expect(await a.acquire(la.leaseId, { uuid: 'node-a', epoch: 7 })).toEqual({ acquired: false, holder: { uuid: 'node-b', epoch: 6 } });
    await b.revoke(lb.leaseId);
    const gone = await codeOf(a.acquire(la.leaseId, { uuid: 'node-a', epoch: 7 }));
    expect(gone.code).toBe('GW_ERR_WITNESS_LEASE_LOST');
    expect(gone.message).toContain(la.leaseId);
    expect(await a.read()).toEqual({ holder: null, leaseId: null });
  });

  it('release deletes the key only when this lease holds it, then revokes the lease', async () => {
    const s = settings([etcd.clientUrl]);
    const a = witness(s);
    const b = witness(s);
    const la = await a.grant();
    const lb = await b.grant();
    await a.acquire(la.leaseId, { uuid: 'node-a', epoch: 1 });
    await b.release(lb.leaseId);
    expect((await a.read()).holder).toEqual({ uuid: 'node-a', epoch: 1 });
    expect((await codeOf(b.renew(lb.leaseId))).code).toBe('GW_ERR_WITNESS_LEASE_LOST');
    await a.release(la.leaseId);
    expect(await a.read()).toEqual({ holder: null, leaseId: null });
    expect((await codeOf(a.renew(la.leaseId))).code).toBe('GW_ERR_WITNESS_LEASE_LOST');
    await a.release(la.leaseId); // twice: nothing left to do, no error
  });

  it('the key outlives its TTL while renewed, and is gone once the TTL runs out without renewal', async () => {
    const s = settings([etcd.clientUrl], { leaseTtlMs: 2000 });
    const w = witness(s);
    // renewed every ttl/3 for 1.5 TTLs: still held
    const kept = await w.grant();
    await w.acquire(kept.leaseId, { uuid: 'kept', epoch: 1 });
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 600));
      await w.renew(kept.leaseId);
    }
    expect((await w.read()).holder).toEqual({ uuid: 'kept', epoch: 1 });
    await w.revoke(kept.leaseId);

    const lease = await w.grant();
    expect(lease.ttlMs).toBe(2000);
    await w.acquire(lease.leaseId, { uuid: 'expiring', epoch: 1 });
    let goneAt: number | null = null;
    const deadline = lease.sentAt + lease.ttlMs + 3000;
    for (let i = 0; i < 200 && performance.now() < deadline; i++) {
      if ((await w.read()).holder === null) {
        goneAt = performance.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(goneAt, 'the key was still there 3 s after its TTL').not.toBeNull();
    const after = goneAt! - lease.sentAt;
    // never before the TTL from the send time; etcd checks for expired leases every 500 ms
    expect(after).toBeGreaterThanOrEqual(lease.ttlMs);
    expect(after).toBeLessThan(lease.ttlMs + 1500);
    expect((await codeOf(w.renew(lease.leaseId))).code).toBe('GW_ERR_WITNESS_LEASE_LOST');
  });

  it('a dead first endpoint: the request goes through the second, which is then tried first', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const w = witness(settings([dead, etcd.clientUrl]));
    expect(w.currentEndpoint()).toBe(dead);
    const lease = await w.grant();
    expect(w.currentEndpoint()).toBe(etcd.clientUrl);
    await w.renew(lease.leaseId);
    expect(w.currentEndpoint()).toBe(etcd.clientUrl);
    await w.revoke(lease.leaseId);
  });

  it('a first endpoint that never answers costs one request timeout, then the second answers', async () => {
    const silent = await silentServer();
    try {
      const w = witness(settings([silent.url, etcd.clientUrl], { leaseTtlMs: 2000 }));
      expect(w.requestTimeoutMs).toBe(616);
      const t0 = performance.now();
      const id = await w.clusterId();
      const took = performance.now() - t0;
      expect(id).toMatch(/^\d+$/);
      expect(took).toBeGreaterThanOrEqual(600);
      expect(took).toBeLessThan(616 + 600);
      const t1 = performance.now();
      await w.clusterId();
      expect(performance.now() - t1).toBeLessThan(500); // straight to the endpoint that answered
    } finally {
      await silent.close();
    }
  });

  it('all endpoints dead: GW_ERR_WITNESS_UNREACHABLE naming each one and why, within timeout × endpoints', async () => {
    const silent = await silentServer();
    try {
      const refused = `http://127.0.0.1:${await freePort()}`;
      const w = witness(settings([refused, silent.url], { leaseTtlMs: 2000 }));
      const t0 = performance.now();
      const err = await codeOf(w.grant());
      const took = performance.now() - t0;
      expect(err.code).toBe('GW_ERR_WITNESS_UNREACHABLE');
      expect(err.message).toContain(`${refused}: connection refused`);
      expect(err.message).toContain(`${silent.url}: no answer within 616 ms`);
      expect(took).toBeLessThan(2 * 616 + 600);
    } finally {
      await silent.close();
    }
  });

  it('etcd stopped: requests fail as unreachable; started again on the same data: the lease and the key are back', async () => {
    const s = settings([etcd.clientUrl]);
    const w = witness(s);
    const id = await w.clusterId();
    const lease = await w.grant();
    await w.acquire(lease.leaseId, { uuid: 'node-a', epoch: 9 });
    await etcd.stop();
    const t0 = performance.now();
    const down = await codeOf(w.renew(lease.leaseId));
    expect(down.code).toBe('GW_ERR_WITNESS_UNREACHABLE');
    expect(down.message).toContain('connection refused');
    expect(performance.now() - t0).toBeLessThan(w.requestTimeoutMs + 500);
    await etcd.start();
    expect(await w.clusterId()).toBe(id);
    // etcd keeps leases across a restart and gives each its full TTL again from the restart
    expect((await w.renew(lease.leaseId)).ttlMs).toBe(5000);
    expect(await w.read()).toEqual({ holder: { uuid: 'node-a', epoch: 9 }, leaseId: lease.leaseId });
    await w.release(lease.leaseId);
  }, 40_000);

  it('endpoints of two different etcd clusters are refused, not used as one witness', async () => {
    const other = await startEtcd();
    try {
      const w = witness(settings([etcd.clientUrl, other.clientUrl]));
      const id = await w.clusterId();
      await etcd.stop();
      try {
        const err = await codeOf(w.clusterId());
        expect(err.code).toBe('GW_ERR_WITNESS_REFUSED');
        expect(err.message).toContain(`etcd at ${other.clientUrl}`);
        expect(err.message).toContain(`but ${etcd.clientUrl} to cluster ${id}`);
      } finally {
        await etcd.start();
      }
    } finally {
      await other.cleanup();
    }
  }, 40_000);

  it('a leader key written by something else is a refusal, not a holder', async () => {
    const s = settings([etcd.clientUrl]);
    const w = witness(s);
    const lease = await w.grant();
    // write garbage through the gateway directly
    const res = await fetch(`${etcd.clientUrl}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from(w.leaderKey).toString('base64'), value: Buffer.from('not json').toString('base64') }),
    });
    expect(res.status).toBe(200);
    expect((await codeOf(w.read())).code).toBe('GW_ERR_WITNESS_REFUSED');
    const err = await codeOf(w.acquire(lease.leaseId, { uuid: 'x', epoch: 1 }));
    expect(err.code).toBe('GW_ERR_WITNESS_REFUSED');
    expect(err.message).toContain('not {uuid, epoch}');
    await w.revoke(lease.leaseId);
  });
});

describe.skipIf(!version)(`${suite}: TLS with client certificates`, () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd({ tls: true });
  });
  afterAll(async () => {
    await etcd?.cleanup();
  });

  it('works with the CA and a client certificate; a certificate from another CA gets no answer', async () => {
    const tls = etcd.tls!;
    const good = new EtcdWitness(settings([etcd.clientUrl], { tls: { ca: tls.ca, cert: tls.cert, key: tls.key } }));
    const stranger = new EtcdWitness(settings([etcd.clientUrl], { tls: { ca: tls.ca, cert: tls.strangerCert, key: tls.strangerKey } }));
    try {
      expect(etcd.clientUrl.startsWith('https://')).toBe(true);
      const lease = await good.grant();
      expect(await good.acquire(lease.leaseId, { uuid: 'tls-node', epoch: 1 })).toEqual({ acquired: true, holder: { uuid: 'tls-node', epoch: 1 } });
      await good.release(lease.leaseId);
      const err = await codeOf(stranger.clusterId());
      expect(err.code).toBe('GW_ERR_WITNESS_UNREACHABLE');
      expect(err.message).toContain(etcd.clientUrl);
    } finally {
      await good.close();
      await stranger.close();
    }
  });
});
