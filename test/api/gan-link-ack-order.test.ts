/**
 * The link reports a pong's ack before the frame's proof of life (link-connection.ts): at a thaw the
 * redundancy engine's first step judges the stall from the last ping the peer answered, so a pong
 * that waited in the socket must reach the machine before the proof of life of the same frame.
 */
import { afterEach, expect, it } from 'vitest';

import type { PeerInfo } from '../../src/daemon/gan/peer-link.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';

const started: TestDaemon[] = [];
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const t of started) process.stderr.write(t.logs.join(''));
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

it("a pong is reported as acked before the same frame's alive", async () => {
  const master = await startTestDaemon({ systemName: 'm' });
  started.push(master);
  const backup = await startTestDaemon({ systemName: 'b' });
  started.push(backup);
  await master.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
  await master.client.configureRedundancy({ role: 'Master', master: { pingRate: 50 } });
  const link = backup.daemon.gan.link;
  // The two events of one frame are emitted in one synchronous turn; a microtask ends the turn.
  let ackInTurn = false;
  let acks = 0;
  let alivesAfterAck = 0;
  link.on('acked', () => {
    acks += 1;
    ackInTurn = true;
    queueMicrotask(() => (ackInTurn = false));
  });
  link.on('alive', () => {
    if (ackInTurn) alivesAfterAck += 1;
    ackInTurn = false;
  });
  const up = new Promise<PeerInfo>((resolve) => link.once('up', resolve));
  await backup.client.configureRedundancy({
    role: 'Backup',
    master: { host: '127.0.0.1', port: master.daemon.gan.listenerViews().plain.port!, enableSsl: false, reconnectPeriod: 50, pingRate: 50 },
  });
  await up;
  const until = Date.now() + 5000;
  while (acks < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  expect(acks).toBeGreaterThanOrEqual(5);
  expect(alivesAfterAck).toBe(acks);
});
