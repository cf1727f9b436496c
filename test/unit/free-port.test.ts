import { createConnection, createServer, type Server, type Socket } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { ephemeralRange, freePort } from '../helpers/free-port.js';

// The tests' nodes are told a port and bind it later; freePort() takes it below the kernel's
// ephemeral range because the kernel gives ports in that range, and only there, to outgoing
// connections and to listen(0). These tests would show that belief wrong on this machine.
const open: Array<Server | Socket> = [];
afterEach(() => {
  for (const s of open.splice(0)) {
    if ('destroy' in s) s.destroy();
    else s.close();
  }
});

describe('freePort (a port for a node started later)', () => {
  it('gives bindable ports below the ephemeral range, never the same one twice', async () => {
    const [low] = ephemeralRange();
    const ports = [];
    for (let i = 0; i < 50; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(50);
    for (const p of ports) expect(p).toBeLessThan(low);
    const srv = createServer();
    open.push(srv);
    await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(ports[0], '127.0.0.1', resolve));
  });

  it('the kernel gives outgoing connections and listen(0) ports inside the ephemeral range only', async () => {
    const [low, high] = ephemeralRange();
    const srv = createServer((s) => open.push(s));
    open.push(srv);
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as { port: number }).port;
    expect(port).toBeGreaterThanOrEqual(low);
    expect(port).toBeLessThanOrEqual(high);
    for (let i = 0; i < 100; i++) {
      const sock = createConnection(port, '127.0.0.1');
      open.push(sock);
      await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
      expect(sock.localPort).toBeGreaterThanOrEqual(low);
      expect(sock.localPort).toBeLessThanOrEqual(high);
    }
  });
});
