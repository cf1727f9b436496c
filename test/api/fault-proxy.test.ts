import { connect, createServer, type Server } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { FaultProxy } from '../helpers/fault-proxy.js';

let echo: Server;
let proxy: FaultProxy;

async function startEcho(): Promise<number> {
  echo = createServer((s) => s.on('data', (d) => s.write(d)).on('error', () => undefined));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  return (echo.address() as { port: number }).port;
}

function roundTrip(port: number, text: string, timeoutMs = 300): Promise<string | null> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      s.destroy();
      resolve(null);
    }, timeoutMs);
    s.on('connect', () => s.write(text));
    s.on('data', (d) => {
      clearTimeout(timer);
      s.destroy();
      resolve(d.toString());
    });
    s.on('error', () => {
      clearTimeout(timer);
      resolve(null);
    });
  });
}

afterEach(async () => {
  await proxy?.stop();
  await new Promise((r) => echo?.close(r));
});

describe('fault-injecting proxy (test tool)', () => {
  it('passes bytes through, holds them under a blackhole, and delivers them in order once healed', async () => {
    proxy = await new FaultProxy(await startEcho()).start();
    expect(await roundTrip(proxy.port, 'a')).toBe('a');
    proxy.blackhole();
    expect(await roundTrip(proxy.port, 'b')).toBeNull();
    const late = roundTrip(proxy.port, 'held', 2000);
    await new Promise((r) => setTimeout(r, 100));
    proxy.heal();
    expect(await late).toBe('held');
    expect(await roundTrip(proxy.port, 'c')).toBe('c');
  });

  it('a one-way blackhole holds only the replies', async () => {
    proxy = await new FaultProxy(await startEcho()).start();
    proxy.blackhole('toClient');
    expect(await roundTrip(proxy.port, 'x')).toBeNull();
  });

  it('reset closes and refuses; delay holds bytes back', async () => {
    proxy = await new FaultProxy(await startEcho()).start();
    proxy.reset();
    expect(await roundTrip(proxy.port, 'r')).toBeNull();
    proxy.heal();
    proxy.delay(150);
    const t0 = Date.now();
    expect(await roundTrip(proxy.port, 'd', 2000)).toBe('d');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });
});
