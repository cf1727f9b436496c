import { randomUUID } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { ganUrl, hello, peerSession, stateReport } from '../helpers/frame-fuzz.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';

// Defects the frame fuzz found, one test each, named after what broke.
const started: TestDaemon[] = [];
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const t of started) process.stderr.write(t.logs.join(''));
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

async function master(): Promise<{ t: TestDaemon; url: string }> {
  const t = await startTestDaemon({ systemName: 'reg-master', logLevel: 'warn' });
  started.push(t);
  await t.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
  await t.client.configureRedundancy({ role: 'Master', joinWaitTime: 0 });
  return { t, url: ganUrl(t.daemon.gan.listenerViews().plain.port!, false) };
}

describe('frame fuzz regressions', () => {
  it('a text frame that is not UTF-8 is refused with GW_ERR_GAN_PROTOCOL_VIOLATION (was: a bare ws 1007 close)', async () => {
    const { url } = await master();
    const bad = { kind: 'bad-utf8', data: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), binary: false };
    const before = await peerSession(url, { frames: [bad] });
    expect([before.closeCode, before.closeReason]).toEqual([4000, 'GW_ERR_GAN_PROTOCOL_VIOLATION']);
    const after = await peerSession(url, { hello: hello(randomUUID(), 'p', { state: stateReport(null) }), frames: [bad] });
    expect(after.admitted).toBe(true);
    expect([after.closeCode, after.closeReason]).toEqual([4000, 'GW_ERR_GAN_PROTOCOL_VIOLATION']);
  });

  it('a valid message right behind an invalid frame is not delivered to the engines (was: acted on while the socket closed)', async () => {
    const { t, url } = await master();
    const delivered: string[] = [];
    t.daemon.gan.link.on('message', (m: { type: string }) => delivered.push(m.type));
    const junk = { kind: 'junk', data: 'not json', binary: false };
    const query = { kind: 'valid', data: JSON.stringify({ type: 'redundancy.stateQuery', id: 'after-junk' }), binary: false };
    const res = await peerSession(url, { hello: hello(randomUUID(), 'p', { state: stateReport(null) }), frames: [junk, query, query] });
    expect(res.closeReason).toBe('GW_ERR_GAN_PROTOCOL_VIOLATION');
    // Nothing the master sent answers the query that came after the junk.
    expect(res.received.filter((f) => f.includes('"replyTo":"after-junk"'))).toEqual([]);
    expect(delivered).toEqual([]);
  });

  it('a hello followed at once by an invalid frame is not admitted (hardening: the acceptor checks isClosing)', async () => {
    const t = await startTestDaemon({ systemName: 'reg-master', logLevel: 'warn' });
    started.push(t);
    // ApprovedOnly: admitting an approved peer from a new address awaits a write of connections.json,
    // which is when the junk behind the hello is read.
    await t.client.configureNetwork({ requireSsl: false });
    await t.client.configureRedundancy({ role: 'Master', joinWaitTime: 0 });
    const url = ganUrl(t.daemon.gan.listenerViews().plain.port!, false);
    const uuid = randomUUID();
    const first = await peerSession(url, { hello: hello(uuid, 'p', { state: stateReport(null) }), frames: [] });
    expect(first.closeReason).toBe('GW_ERR_GAN_CONNECTION_NOT_APPROVED');
    const id = (await t.client.connections()).find((c) => c.peer?.uuid === uuid)!.id;
    await t.client.decideConnection(id, 'approve');
    let ups = 0;
    t.daemon.gan.link.on('up', () => (ups += 1));
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(url);
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('open', () => {
      // No wait for the master's hello: the junk is in the socket while the checks run.
      ws.send(JSON.stringify(hello(uuid, 'p', { state: stateReport(null) })));
      ws.send('junk');
    });
    expect(await closed).toEqual({ code: 4000, reason: 'GW_ERR_GAN_PROTOCOL_VIOLATION' });
    expect(ups).toBe(0);
  });
});
