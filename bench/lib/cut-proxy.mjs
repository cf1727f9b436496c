import { fork } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * A TCP pipe on a free loopback port to `targetPort` that can be cut like a cable: while cut, no
 * byte moves either way (they are held, in order) and connections stay open, as TCP keeps
 * retransmitting behind a cut cable; heal() delivers what was held and lets everything flow again.
 */
export async function cutProxyHere(targetPort) {
  let cut = false;
  const flushers = new Set();
  const sockets = new Set();
  const forward = (from, to) => {
    const held = [];
    from.on('data', (chunk) => {
      if (cut) held.push(chunk);
      else to.write(chunk);
    });
    const flush = () => {
      for (const chunk of held.splice(0)) to.write(chunk);
    };
    flushers.add(flush);
    from.once('close', () => flushers.delete(flush));
  };
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    cut() {
      cut = true;
    },
    heal() {
      cut = false;
      for (const flush of flushers) flush();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * The same pipe in a child process: the benchmarks drive gwctl with spawnSync, which blocks this
 * process's event loop, and a pipe living here would stop moving bytes meanwhile.
 */
export async function cutProxy(targetPort) {
  const child = fork(fileURLToPath(import.meta.url), ['--child', String(targetPort)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const ask = (msg) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send(msg);
    });
  const port = await new Promise((resolve) => child.once('message', (m) => resolve(m.port)));
  return {
    port,
    cut: () => ask('cut'),
    heal: () => ask('heal'),
    async close() {
      await ask('close');
      child.kill();
    },
  };
}

if (process.argv[2] === '--child') {
  const proxy = await cutProxyHere(Number(process.argv[3]));
  process.send({ port: proxy.port });
  process.on('message', async (m) => {
    if (m === 'cut') proxy.cut();
    if (m === 'heal') proxy.heal();
    if (m === 'close') await proxy.close();
    process.send({ done: m });
  });
}
