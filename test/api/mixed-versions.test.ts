import { randomUUID } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';

import { GAN_PATH } from '../../src/core/gan/protocol.js';
import { PROTOCOL_VERSION } from '../../src/core/version.js';
import { ganUrl, hello, peerSession, stateReport } from '../helpers/frame-fuzz.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { waitFor } from '../helpers/processes.js';

/**
 * During an upgrade the two nodes of a pair run different gwd versions. The link speaks one
 * protocol version and negotiates nothing: a peer of another version is refused at the hello with
 * a clear, coded error, never linked half-working (no sync, no redundancy messages).
 */
const started: TestDaemon[] = [];
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const t of started) process.stderr.write(t.logs.join('').slice(-20_000));
  await Promise.all(started.splice(0).map((t) => t.stop().catch(() => undefined)));
});

async function daemon(name: string): Promise<TestDaemon> {
  const t = await startTestDaemon({ systemName: name, logLevel: 'warn' });
  started.push(t);
  return t;
}

/** The hello of the build before this one: protocol 2, which offered snapshot forms as features. */
function oldHello(uuid: string, role: 'Master' | 'Backup'): Record<string, unknown> {
  const state = { ...stateReport(null), role, activity: role === 'Master' ? 'Active' : 'Cold', epoch: role === 'Master' ? 1 : 0 };
  return { ...hello(uuid, `old-${role.toLowerCase()}`, { role, state }), protocol: PROTOCOL_VERSION - 1, features: ['binary-frames', 'snapshot-stream'] };
}

describe('nodes of different gwd versions', () => {
  it('a master refuses a backup of another protocol version at the hello, naming both versions; nothing else is exchanged', async () => {
    const master = await daemon('new-master');
    await master.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
    await master.client.configureRedundancy({ role: 'Master', joinWaitTime: 0 });
    const url = ganUrl(master.daemon.gan.listenerViews().plain.port!, false);
    const request = { kind: 'sync-valid', data: JSON.stringify({ type: 'sync.request', holder: null, revision: 0, full: true }), binary: false };
    for (const protocol of [PROTOCOL_VERSION - 1, PROTOCOL_VERSION + 1]) {
      const res = await peerSession(url, { hello: { ...oldHello(randomUUID(), 'Backup'), protocol }, frames: [request] });
      expect(res.admitted, `protocol ${protocol}`).toBe(false);
      expect(res.closeCode).toBe(4003);
      expect(res.closeReason).toBe('GW_ERR_GAN_INCOMPATIBLE_PROTOCOL');
      const frames = res.received.map((t) => JSON.parse(t) as { type: string; code?: string; message?: string });
      expect(frames.map((f) => f.type)).toEqual(['refused']);
      expect(frames[0]!.message).toBe(`old-backup speaks Gateway Network protocol ${protocol}, this node speaks ${PROTOCOL_VERSION}; run the same gwd version on both nodes`);
    }
    const s = await master.client.status();
    expect(s.redundancy.peer?.connected ?? false).toBe(false);
    expect(s.redundancy.activity).toBe('Active');
  });

  it('a backup dialling a master of another protocol version shows the refusal on its connection and takes no configuration', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: GAN_PATH, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    const masterUuid = randomUUID();
    const got: string[] = [];
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        const text = (data as Buffer).toString('utf8');
        got.push(text);
        if ((JSON.parse(text) as { type: string }).type === 'hello') ws.send(JSON.stringify(oldHello(masterUuid, 'Master')));
      });
      ws.on('error', () => undefined);
    });
    try {
      const backup = await daemon('new-backup');
      const before = backup.daemon.config.revision;
      await backup.client.configureRedundancy({
        role: 'Backup',
        master: { host: '127.0.0.1', port: (wss.address() as { port: number }).port, enableSsl: false, reconnectPeriod: 100 },
      });
      const entry = await waitFor('the refusal on the backup connection', async () =>
        (await backup.client.connections()).find((c) => c.direction === 'outgoing' && c.lastError?.code === 'GW_ERR_GAN_INCOMPATIBLE_PROTOCOL'),
      );
      expect(entry.lastError!.message).toBe(`old-master speaks Gateway Network protocol ${PROTOCOL_VERSION - 1}, this node speaks ${PROTOCOL_VERSION}; run the same gwd version on both nodes`);
      expect(entry.status).toBe('Incompatible');
      // The backup said hello and then only its refusal: no sync request ever left it.
      expect(got.map((t) => (JSON.parse(t) as { type: string }).type).filter((t) => t !== 'hello' && t !== 'refused')).toEqual([]);
      const s = await backup.client.status();
      expect(s.redundancy.activity).not.toBe('Active');
      expect(s.redundancy.sync.state).not.toBe('InSync');
      expect(backup.daemon.config.revision).toBe(before);
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});
