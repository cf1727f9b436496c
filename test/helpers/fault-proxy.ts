import { connect, createServer, type Server, type Socket } from 'node:net';

export type Direction = 'both' | 'toTarget' | 'toClient';

interface Pair {
  client: Socket;
  upstream: Socket;
}

/**
 * A TCP proxy between two nodes that injects network faults (tc netem is not available here):
 * - blackhole(dir): bytes in that direction are held back and connections stay open, as when a cable
 *   is cut (TCP keeps retransmitting): on heal() the held bytes are delivered in order, unless a
 *   side gave up on the connection meanwhile. New connections hang the same way.
 * - reset(): every connection is closed at once and new ones are refused, as when a host is gone.
 * - delay(ms): every chunk is held back ms before being forwarded (both directions).
 * - heal(): back to a straight pipe (connections that lived through a blackhole carry on).
 * Loopback only; the listening port is picked free by the OS.
 */
export class FaultProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  private dropToTarget = false;
  private dropToClient = false;
  private refusing = false;
  private delayMs = 0;
  private readonly flushers = new Set<() => void>();
  port = 0;

  constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1') {}

  async start(): Promise<this> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  blackhole(direction: Direction = 'both'): void {
    if (direction !== 'toClient') this.dropToTarget = true;
    if (direction !== 'toTarget') this.dropToClient = true;
  }

  reset(): void {
    this.refusing = true;
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
  }

  delay(ms: number): void {
    this.delayMs = ms;
  }

  heal(): void {
    this.dropToTarget = false;
    this.dropToClient = false;
    this.refusing = false;
    this.delayMs = 0;
    for (const flush of this.flushers) flush();
  }

  get connections(): number {
    return this.pairs.size;
  }

  async stop(): Promise<void> {
    this.reset();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket, held: () => boolean): void => {
      const queue: Buffer[] = [];
      const flush = (): void => {
        while (queue.length > 0 && !held() && !to.destroyed) to.write(queue.shift()!);
      };
      this.flushers.add(flush);
      to.once('close', () => this.flushers.delete(flush));
      from.on('data', (chunk: Buffer) => {
        if (held() || queue.length > 0) {
          queue.push(chunk);
          return;
        }
        if (this.delayMs > 0) {
          const d = this.delayMs;
          from.pause();
          setTimeout(() => {
            if (held()) queue.push(chunk);
            else if (!to.destroyed) to.write(chunk);
            from.resume();
          }, d);
        } else if (!to.destroyed) {
          to.write(chunk);
        }
      });
    };
    forward(client, upstream, () => this.dropToTarget);
    forward(upstream, client, () => this.dropToClient);
    const close = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }
}
