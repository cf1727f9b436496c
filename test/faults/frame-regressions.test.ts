import { randomUUID } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { WebSocketServer } from 'ws';

import { encodeBinaryFrame, GAN_PATH, MAX_FRAME_BYTES } from '../../src/core/gan/protocol.js';
import { FakeMaster, ganUrl, hello, peerSession, stateReport } from '../helpers/frame-fuzz.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { waitFor } from '../helpers/processes.js';

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

  it('binary frames: refused before the handshake, or when not a well-formed header of a type sent in binary; a snapshot chunk is accepted', async () => {
    const { url } = await master();
    const chunk = { type: 'sync.snapshotChunk', chunk: { id: 'c-1', seq: 0, file: 0, offset: 0 } };
    const good = { kind: 'binary-chunk', data: encodeBinaryFrame(chunk, [Buffer.from('{}')]), binary: true };
    const early = await peerSession(url, { frames: [good] });
    expect([early.closeCode, early.closeReason]).toEqual([4000, 'GW_ERR_GAN_PROTOCOL_VIOLATION']);
    const admitted = (frames: Array<{ kind: string; data: Buffer; binary: boolean }>) =>
      peerSession(url, { hello: hello(randomUUID(), 'p', { state: stateReport(null) }), frames });
    // A well-formed chunk reaches the sync engine, which as a master ignores it: the link stays.
    expect((await admitted([good])).alive).toBe(true);
    const bad = (kind: string, data: Buffer) => ({ kind, data, binary: true });
    const textType = encodeBinaryFrame({ type: 'redundancy.stateQuery', id: 'x' } as { type: string }, []);
    const tooLong = encodeBinaryFrame(chunk, [Buffer.from('{}')]);
    tooLong.writeUInt32BE(tooLong.length, 0);
    for (const frame of [
      bad('a type sent as text', textType),
      bad('a header length past the frame', tooLong),
      bad('shorter than a header length', Buffer.from([0, 0])),
      bad('a header that is not JSON', Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')])),
      bad('a header that fails its schema', encodeBinaryFrame({ ...chunk, chunk: { ...chunk.chunk, offset: -1 } }, [])),
      bad('a header in the text form', encodeBinaryFrame({ ...chunk, chunk: { id: 'c-1', seq: 0, parts: [] } }, [])),
    ]) {
      const res = await admitted([frame]);
      expect([res.closeCode, res.closeReason], frame.kind).toEqual([4000, 'GW_ERR_GAN_PROTOCOL_VIOLATION']);
    }
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

  it('a frame over MAX_FRAME_BYTES is refused with 1009 and the reason GW_ERR_GAN_FRAME_TOO_LARGE (was: a bare ws 1009 close, no code)', async () => {
    const { url } = await master();
    const oversize = { kind: 'oversize', data: Buffer.alloc(MAX_FRAME_BYTES + 1, 0x20), binary: false };
    const before = await peerSession(url, { frames: [oversize] });
    expect([before.closeCode, before.closeReason]).toEqual([1009, 'GW_ERR_GAN_FRAME_TOO_LARGE']);
    const after = await peerSession(url, { hello: hello(randomUUID(), 'p', { state: stateReport(null) }), frames: [oversize] });
    expect(after.admitted).toBe(true);
    expect([after.closeCode, after.closeReason]).toEqual([1009, 'GW_ERR_GAN_FRAME_TOO_LARGE']);
    // Exactly at the limit is still a frame (refused for what it says, not for its size).
    const atLimit = await peerSession(url, { frames: [{ kind: 'at-limit', data: Buffer.alloc(MAX_FRAME_BYTES, 0x20), binary: false }] });
    expect([atLimit.closeCode, atLimit.closeReason]).toEqual([4000, 'GW_ERR_GAN_PROTOCOL_VIOLATION']);
  });

  it('a backup sent a frame over MAX_FRAME_BYTES by what it dials closes with GW_ERR_GAN_FRAME_TOO_LARGE and shows it as the last error (was: a bare 1009, shown as a protocol violation)', async () => {
    // A fake master on loopback that sends an oversize frame as soon as the backup connects.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: GAN_PATH, maxPayload: 1024 * 1024 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const closes: Array<[number, string]> = [];
    wss.on('connection', (ws) => {
      ws.on('error', () => undefined);
      ws.on('close', (code, reason) => closes.push([code, reason.toString()]));
      ws.send(Buffer.alloc(MAX_FRAME_BYTES + 1, 0x20), { binary: false });
    });
    try {
      const t = await startTestDaemon({ systemName: 'reg-backup', logLevel: 'warn' });
      started.push(t);
      const port = (wss.address() as { port: number }).port;
      await t.client.configureRedundancy({ role: 'Backup', master: { host: '127.0.0.1', port, enableSsl: false, reconnectPeriod: 60_000 } });
      await waitFor('the fake master to see the close', () => (closes.length > 0 ? true : undefined));
      expect(closes[0]).toEqual([1009, 'GW_ERR_GAN_FRAME_TOO_LARGE']);
      const conn = await waitFor('the outgoing connection to show its error', async () => (await t.client.connections()).find((c) => c.direction === 'outgoing' && c.lastError));
      expect(conn.lastError!.code).toBe('GW_ERR_GAN_FRAME_TOO_LARGE');
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });

  it('a backup sent a text frame that is not UTF-8 by its master refuses it with GW_ERR_GAN_PROTOCOL_VIOLATION (was: a bare ws 1007 close from the dialer)', async () => {
    const fake = await FakeMaster.start();
    try {
      const t = await startTestDaemon({ systemName: 'reg-backup', logLevel: 'warn' });
      started.push(t);
      await t.client.configureRedundancy({ role: 'Backup', master: { host: '127.0.0.1', port: fake.port, enableSsl: false, reconnectPeriod: 10 } });
      const res = await fake.session([{ kind: 'bad-utf8', data: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), binary: false }]);
      expect(res.admitted).toBe(true);
      expect([res.closeCode, res.closeReason]).toEqual([4000, 'GW_ERR_GAN_PROTOCOL_VIOLATION']);
    } finally {
      await fake.close();
    }
  });

  it('a sync cut off by the link going down is reported with a code (was: sync.failed with a reason only)', async () => {
    const fake = await FakeMaster.start();
    try {
      const t = await startTestDaemon({ systemName: 'reg-backup', logLevel: 'warn' });
      started.push(t);
      await t.client.configureRedundancy({ role: 'Backup', master: { host: '127.0.0.1', port: fake.port, enableSsl: false, reconnectPeriod: 60_000 } });
      // The backup asks for a sync as soon as the link is up; the fake master never answers, then closes.
      const res = await fake.session([]);
      expect(res.alive).toBe(true);
      const failed = await waitFor('sync.failed', () => t.daemon.events.since(0).find((e) => e.type === 'sync.failed'));
      expect(failed.data).toMatchObject({ code: 'GW_ERR_SYNC_FAILED', reason: 'the link to the master went down' });
    } finally {
      await fake.close();
    }
  });
});
