import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { GwError } from '../../src/core/errors.js';
import type { GanMessage } from '../../src/core/gan/protocol.js';
import type { EventRecord } from '../../src/core/wire.js';
import type { PeerDown, PeerInfo } from '../../src/daemon/gan/peer-link.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { freePort } from '../helpers/free-port.js';

const started: TestDaemon[] = [];
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const t of started) process.stderr.write(t.logs.join(''));
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

async function daemon(name: string): Promise<TestDaemon> {
  const t = await startTestDaemon({ systemName: name });
  started.push(t);
  return t;
}

function waitEvent<T>(emitter: { once(e: string, l: (...a: never[]) => void): unknown }, event: string, timeoutMs = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, ((value: T) => {
      clearTimeout(timer);
      resolve(value);
    }) as never);
  });
}

/** A plain, Unrestricted pair: the shortest way to a Running link. */
async function pair(): Promise<{ master: TestDaemon; backup: TestDaemon }> {
  const master = await daemon('m');
  const backup = await daemon('b');
  await master.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
  await master.client.configureRedundancy({ role: 'Master' });
  const up = waitEvent<PeerInfo>(backup.daemon.gan.link, 'up');
  await backup.client.configureRedundancy({
    role: 'Backup',
    master: { host: '127.0.0.1', port: master.daemon.gan.listenerViews().plain.port!, enableSsl: false, reconnectPeriod: 50 },
  });
  await up;
  return { master, backup };
}

describe('PeerLink: the interface of the redundancy and sync engines', () => {
  it('up, app messages both ways after registration, and down with the bye reason on a clean stop', async () => {
    const { master, backup } = await pair();
    expect(backup.daemon.gan.link.connected).toBe(true);
    expect(backup.daemon.gan.link.peer).toMatchObject({ systemName: 'm', role: 'Master', direction: 'outgoing', ssl: false });
    for (const t of [master, backup]) {
      t.daemon.schemas.add({
        $id: 'gwd:protocol/test-note',
        type: 'object',
        required: ['type', 'text'],
        properties: { type: { const: 'test.note' }, text: { type: 'string' } },
      });
      t.daemon.gan.link.registerMessageType('test.note', 'gwd:protocol/test-note');
    }
    // A listener that throws is logged; the link and the daemon carry on.
    master.daemon.gan.link.on('message', () => {
      throw new Error('a buggy engine');
    });
    // The sync engine talks on the same link: wait for our message among its.
    const got = new Promise<GanMessage>((resolve) => {
      const on = (m: GanMessage): void => {
        if (m.type !== 'test.note') return;
        master.daemon.gan.link.off('message', on);
        resolve(m);
      };
      master.daemon.gan.link.on('message', on);
    });
    expect(backup.daemon.gan.link.send({ type: 'test.note', text: 'hi' })).toBe(true);
    expect(await got).toEqual({ type: 'test.note', text: 'hi' });
    expect(() => backup.daemon.gan.link.send({ type: 'never.registered' })).toThrow(/not registered/);
    expect(backup.daemon.gan.link.lastMessageAt).toBeGreaterThan(0);
    expect(master.daemon.gan.link.connected).toBe(true);
    expect(master.logs.join('')).toContain('a PeerLink listener threw');

    const down = waitEvent<PeerDown>(backup.daemon.gan.link, 'down');
    await master.daemon.stop('test');
    const d = await down;
    expect(d.byeReason).toBe('shutdown');
    expect(d.error.code).toBe('GW_ERR_GAN_PEER_LEFT');
    // Rule 10: a stopping node stands down first and says so in its goodbye.
    expect(d.byeActive).toBe(false);
    expect(d.selfBye).toBe(false);
    const events = backup.daemon.events.since(0).map((e: EventRecord) => e.type);
    expect(events).toContain('peer.disconnected');
    const failed = waitEvent<{ errno: string | null }>(backup.daemon.gan.link, 'dialFailed');
    expect((await failed).errno).toBe('ECONNREFUSED');
  });

  it('binary messages: a validated header and its payload, of types registered as binary; the hello negotiates nothing', async () => {
    const { master, backup } = await pair();
    // One protocol version on both ends: nothing to offer or negotiate.
    expect(backup.daemon.gan.link.peer?.hello).not.toHaveProperty('features');
    for (const t of [master, backup]) {
      t.daemon.schemas.add({
        $id: 'gwd:protocol/test-blob',
        oneOf: [{ type: 'object', additionalProperties: false, required: ['type', 'name'], properties: { type: { const: 'test.blob' }, name: { type: 'string' } } }],
      });
      t.daemon.gan.link.registerMessageTypes(['test.blob'], 'gwd:protocol/test-blob', { binary: true });
    }
    const got = new Promise<GanMessage>((resolve) => {
      const on = (m: GanMessage): void => {
        if (m.type !== 'test.blob') return;
        backup.daemon.gan.link.off('message', on);
        resolve(m);
      };
      backup.daemon.gan.link.on('message', on);
    });
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x7b]);
    expect(master.daemon.gan.link.sendBinary({ type: 'test.blob', name: 'b' }, [bytes.subarray(0, 2), bytes.subarray(2)])).toBe(true);
    const m = await got;
    expect(m.type).toBe('test.blob');
    expect(m.name).toBe('b');
    expect(Buffer.from(m.payload as Uint8Array)).toEqual(bytes);
    // Registered as binary only: not sendable as text, and a type never registered as binary is refused.
    expect(() => master.daemon.gan.link.send({ type: 'test.blob', name: 'x' })).toThrow(/not registered/);
    expect(() => master.daemon.gan.link.sendBinary({ type: 'redundancy.stateQuery', id: 'x' }, [])).toThrow(/not registered as binary/);
    expect(master.daemon.gan.link.connected).toBe(true);
  });

  it('a role change away from Master closes the link; the backup shows Incompatible on redial', async () => {
    const { master, backup } = await pair();
    const deadlineActive = Date.now() + 3000;
    while (Date.now() < deadlineActive && master.daemon.engine.activity !== 'Active') await new Promise((r) => setTimeout(r, 10));
    expect(master.daemon.engine.activity).toBe('Active');
    const down = waitEvent<PeerDown>(backup.daemon.gan.link, 'down');
    const own = waitEvent<PeerDown>(master.daemon.gan.link, 'down');
    await master.client.configureRedundancy({ role: 'Independent' });
    const d = await down;
    expect(d.byeReason).toBe('role-changed');
    // Rule 10: the master leaves Active (Independent is always Active), and says so; its own side
    // of the close is marked as its own goodbye, which is no evidence about the backup.
    expect(d.byeActive).toBe(true);
    expect(d.selfBye).toBe(false);
    expect((await own).selfBye).toBe(true);
    const holdBy = Date.now() + 2000;
    while (Date.now() < holdBy && backup.daemon.engine.view().hold !== 'peer-left-active') await new Promise((r) => setTimeout(r, 5));
    expect(backup.daemon.engine.view().hold).toBe('peer-left-active');
    expect(backup.daemon.engine.activity).not.toBe('Active');
    const events = master.daemon.events.since(0);
    expect(events.findLast((e) => e.type === 'role.changed')?.data).toEqual({ from: 'Master', to: 'Independent' });
    const deadline = Date.now() + 3000;
    let status = '';
    while (Date.now() < deadline && status !== 'Incompatible') {
      status = (await backup.client.connections())[0]!.status;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe('Incompatible');
  });
});

describe('settings routes', () => {
  it('PUT /v0/network rebinds the listeners live and persists the file', async () => {
    const t = await daemon('n');
    const before = t.daemon.gan.listenerViews().plain.port!;
    const free = await freePort();
    // gwd --port 0 overrides the file for this process: a new port would be saved but not used, so it is refused.
    const err = await t.client.configureNetwork({ port: free }).catch((e: unknown) => e);
    expect((err as GwError).code).toBe('GW_ERR_GAN_SETTING_OVERRIDDEN');
    expect((err as GwError).message).toContain('--port 0');
    expect(t.daemon.gan.listenerViews().plain.port).toBe(before);
    const file = JSON.parse(readFileSync(path.join(t.dataDir, 'gateway-network.json'), 'utf8')) as { port: number };
    expect(file.port).toBe(8088);
    const view = await t.client.configureNetwork({ requireSsl: false });
    expect(view.settings.requireSsl).toBe(false);
    expect(view.overridden).toContain('port');

    await t.client.configureNetwork({ enabled: false });
    expect((await t.client.network()).listeners.plain.listening).toBe(false);
    expect(await canConnect(before)).toBe(false);
    await t.client.configureNetwork({ enabled: true });
    const again = (await t.client.network()).listeners.plain;
    expect(again.listening).toBe(true);
    expect(await canConnect(again.port!)).toBe(true);
  });

  it('without an override, a new port takes effect at once', async () => {
    const temp = makeTempDir();
    const t = await startTestDaemon({ systemName: 'o', port: null, sslPort: null, bind: null }, temp.dir).catch(async (e: unknown) => {
      temp.cleanup();
      throw e;
    });
    started.push(t);
    const [p1, p2] = [await freePort(), await freePort()];
    await t.client.configureNetwork({ port: p1, sslPort: p2, bindAddress: '127.0.0.1' });
    expect(await canConnect(p1)).toBe(true);
    expect(await canConnect(p2)).toBe(true);
    const err = await t.client.configureNetwork({ sslPort: p1 }).catch((e: unknown) => e);
    expect((err as GwError).code).toBe('GW_ERR_GAN_SETTINGS_INVALID');
    expect((err as GwError).message).toContain('/sslPort');
  });

  it('PUT /v0/redundancy validates by field, persists, and replaces d.redundancy', async () => {
    const t = await daemon('r');
    const err = await t.client.configureRedundancy({ failoverTimeout: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GwError);
    expect((err as GwError).code).toBe('GW_ERR_REDUNDANCY_INVALID_SETTINGS');
    expect((err as GwError).message).toContain('/failoverTimeout');
    const bad = await t.client.configureRedundancy({ role: 'Boss' } as never).catch((e: unknown) => e);
    expect((bad as GwError).code).toBe('GW_ERR_API_INVALID_BODY');

    const view = await t.client.configureRedundancy({ role: 'Master', standbyActivityLevel: 'Warm' });
    expect(view.settings).toMatchObject({ role: 'Master', standbyActivityLevel: 'Warm' });
    expect(t.daemon.redundancy.role).toBe('Master');
    const onDisk = JSON.parse(readFileSync(path.join(t.dataDir, 'redundancy.json'), 'utf8')) as { role: string };
    expect(onDisk.role).toBe('Master');
    expect((await t.client.status()).redundancy.role).toBe('Master');
  });

  it('POST /v0/certs refuses what is not a certificate', async () => {
    const t = await daemon('c');
    const err = await t.client.trustCert('incoming', 'not a pem').catch((e: unknown) => e);
    expect((err as GwError).code).toBe('GW_ERR_GAN_CERT_INVALID');
  });

  it('a redundancy.json that breaks a rule stops the start, naming file and field', async () => {
    const temp = makeTempDir();
    writeFileSync(path.join(temp.dir, 'redundancy.json'), '{"role": "Backup"}\n');
    const err = await startTestDaemon({}, temp.dir).catch((e: unknown) => e);
    expect((err as GwError).code).toBe('GW_ERR_SETTINGS_INVALID');
    expect((err as GwError).message).toContain('/master/host');
    expect(existsSync(path.join(temp.dir, 'gwd.sock'))).toBe(false);
    temp.cleanup();
  });
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1', () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

describe('redundancy.json seeded from env on first start', () => {
  it('GWD_ROLE/GWD_MASTER_ADDRESS seed a missing file only; a seed that breaks a rule is refused unwritten', async () => {
    const t = await startTestDaemon({ bootstrap: { role: 'Backup', master: { host: '127.0.0.1', port: 1, enableSsl: false } } });
    started.push(t);
    expect((await t.client.redundancy()).settings).toMatchObject({ role: 'Backup', master: { host: '127.0.0.1', port: 1, enableSsl: false } });

    const temp = makeTempDir();
    const err = await startTestDaemon({ bootstrap: { role: 'Backup' } }, temp.dir).catch((e: unknown) => e);
    expect((err as GwError).code).toBe('GW_ERR_DAEMON_BAD_OPTION');
    expect((err as GwError).message).toContain('/master/host');
    expect(existsSync(path.join(temp.dir, 'redundancy.json'))).toBe(false);
    temp.cleanup();
  });
});

describe('link failures the engines must see', () => {
  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 3000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a silent network (blackhole) faults the link after pingMaxMissed pings: GW_ERR_GAN_PING_TIMEOUT, then redials', async () => {
    const master = await daemon('m');
    const backup = await daemon('b');
    await master.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
    await master.client.configureRedundancy({ role: 'Master', master: { pingRate: 50, pingTimeout: 40, pingMaxMissed: 3 } });
    const proxy = await new FaultProxy(master.daemon.gan.listenerViews().plain.port!).start();
    try {
      const up = waitEvent<PeerInfo>(backup.daemon.gan.link, 'up');
      await backup.client.configureRedundancy({
        role: 'Backup',
        master: { host: '127.0.0.1', port: proxy.port, enableSsl: false, pingRate: 50, pingTimeout: 40, pingMaxMissed: 3, reconnectPeriod: 50 },
      });
      await up;
      const down = waitEvent<PeerDown>(backup.daemon.gan.link, 'down', 3000);
      const cutAt = Date.now();
      proxy.blackhole('both');
      const d = await down;
      expect(d.error.code).toBe('GW_ERR_GAN_PING_TIMEOUT');
      expect(d.byeReason).toBeNull();
      expect(Date.now() - cutAt).toBeLessThan(1500);
      const c = await until('Faulted', async () => {
        const x = (await backup.client.connections())[0];
        return x?.status === 'Faulted' ? x : undefined;
      });
      expect(c.lastError?.code).toBe('GW_ERR_GAN_PING_TIMEOUT');
      proxy.heal();
      await until('Running again', async () => ((await backup.client.connections())[0]?.status === 'Running' ? true : undefined), 5000);
    } finally {
      await proxy.stop();
    }
  });

  it('a denied connection is refused GW_ERR_GAN_CONNECTION_DENIED; allowIncoming false refuses everyone', async () => {
    const master = await daemon('m');
    const backup = await daemon('b');
    await master.client.configureNetwork({ requireSsl: false });
    await master.client.configureRedundancy({ role: 'Master' });
    await backup.client.configureRedundancy({
      role: 'Backup',
      master: { host: '127.0.0.1', port: master.daemon.gan.listenerViews().plain.port!, enableSsl: false, reconnectPeriod: 50 },
    });
    const pending = await until('pending', async () =>
      (await master.client.connections()).find((c) => c.status === 'PendingApproval'),
    );
    const denied = await master.client.decideConnection(pending.peer.uuid!.slice(0, 8), 'deny');
    expect(denied.state).toBe('denied');
    await until('CONNECTION_DENIED on the backup', async () => {
      const c = (await backup.client.connections())[0];
      return c?.lastError?.code === 'GW_ERR_GAN_CONNECTION_DENIED' ? c : undefined;
    });
    const onDisk = JSON.parse(readFileSync(path.join(master.dataDir, 'connections.json'), 'utf8')) as { connections: Array<{ state: string }> };
    expect(onDisk.connections.map((c) => c.state)).toEqual(['denied']);

    await master.client.configureNetwork({ allowIncoming: false });
    await until('INCOMING_DISABLED on the backup', async () => {
      const c = (await backup.client.connections())[0];
      return c?.lastError?.code === 'GW_ERR_GAN_INCOMING_DISABLED' ? c : undefined;
    });
  });
});

describe('timings changed live', () => {
  it('a shorter reconnectPeriod applies to a redial already pending (was: the old, longer period ran out first)', async () => {
    const backup = await daemon('b');
    const port = await freePort(); // nothing listens there: every dial is refused
    const first = waitEvent(backup.daemon.gan.link, 'dialFailed');
    await backup.client.configureRedundancy({ role: 'Backup', master: { host: '127.0.0.1', port, enableSsl: false, reconnectPeriod: 20_000 } });
    await first;
    const next = waitEvent(backup.daemon.gan.link, 'dialFailed', 5000);
    const changedAt = Date.now();
    await backup.client.configureRedundancy({ master: { reconnectPeriod: 100 } });
    await next;
    expect(Date.now() - changedAt).toBeLessThan(3000);
  });

  it('a shorter pingRate applies to a ping already pending (was: the next ping came one old period later)', async () => {
    const { backup } = await pair();
    // A long ping period and failover timeout, then both shortened: the link's pending ping timer,
    // set at 30 s, must be re-armed, or the peer hears no ping for up to 30 s under a 1 s timeout.
    await backup.client.configureRedundancy({ failoverTimeout: 120_000, master: { pingRate: 30_000 } });
    const conn = backup.daemon.gan.link.currentConnection();
    expect(conn).not.toBeNull();
    const pings: number[] = [];
    const send = conn!.send.bind(conn!);
    conn!.send = (message) => {
      if (message.type === 'ping') pings.push(Date.now());
      return send(message);
    };
    // Let any ping scheduled under the old default rate go by first; then only the 30 s timer is pending.
    await new Promise((r) => setTimeout(r, 1500));
    pings.length = 0;
    const changedAt = Date.now();
    await backup.client.configureRedundancy({ failoverTimeout: 1000, master: { pingRate: 200 } });
    for (let i = 0; i < 100 && pings.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(pings.length).toBeGreaterThanOrEqual(2);
    expect(backup.daemon.gan.link.currentConnection()).toBe(conn);
    expect(pings[0]! - changedAt).toBeLessThan(3000);
  });
});

describe('hello extras and the order of link events', () => {
  it('engines add fields to the hello; the backup sees connecting, then up, then alive', async () => {
    const master = await daemon('m');
    const backup = await daemon('b');
    await master.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
    await master.client.configureRedundancy({ role: 'Master', master: { pingRate: 50 } });
    master.daemon.gan.link.setHelloExtra(() => ({ state: { activity: 'Active', epoch: 3 }, uuid: 'not-overridable' }));
    let reportCalls = 0;
    backup.daemon.gan.link.setHelloExtra(() => ({ state: { activity: 'Cold', epoch: ++reportCalls } }));
    const seen: string[] = [];
    backup.daemon.gan.link.on('connecting', () => seen.push(`connecting:${reportCalls}`));
    backup.daemon.gan.link.on('up', () => seen.push('up'));
    const alive = waitEvent<number>(backup.daemon.gan.link, 'alive');
    const masterUp = waitEvent<PeerInfo>(master.daemon.gan.link, 'up');
    const up = waitEvent<PeerInfo>(backup.daemon.gan.link, 'up');
    await backup.client.configureRedundancy({
      role: 'Backup',
      master: { host: '127.0.0.1', port: master.daemon.gan.listenerViews().plain.port!, enableSsl: false, reconnectPeriod: 50, pingRate: 50 },
    });
    const peer = await up;
    expect(peer.hello.state).toEqual({ activity: 'Active', epoch: 3 });
    expect(peer.hello.uuid).toBe(master.daemon.identity.node.uuid);
    expect((await masterUp).hello.state).toEqual({ activity: 'Cold', epoch: 1 });
    // `connecting` comes before the hello is built (the report taken after it), and before `up`.
    expect(seen).toEqual(['connecting:0', 'up']);
    expect(await alive).toBeGreaterThan(0);
  });
});
