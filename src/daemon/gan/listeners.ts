import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';

import { WebSocketServer, type WebSocket } from 'ws';

import { GAN_PATH, MAX_FRAME_BYTES } from '../../core/gan/protocol.js';
import type { ListenerView } from '../../core/wire.js';
import type { Logger } from '../logger.js';

export interface ListenerConfig {
  enabled: boolean;
  bindAddress: string;
  port: number;
  sslPort: number;
}

export interface ListenerHandlers {
  onConnection(ws: WebSocket, req: IncomingMessage, ssl: boolean): void;
  onHttp(req: IncomingMessage, res: ServerResponse, ssl: boolean): void;
}

interface Listener {
  ssl: boolean;
  server: Server | null;
  wss: WebSocketServer | null;
  address: string;
  wantedPort: number;
  boundPort: number | null;
  error: string | null;
}

/**
 * The two Gateway Network listeners: plain HTTP and TLS (1.2 or later, client certificate asked for
 * but not verified by TLS: the trust stores decide). Each serves the WebSocket link on GAN_PATH and
 * the unauthenticated health routes. `apply` rebinds only what changed, live.
 */
export class GanListeners {
  private readonly plain: Listener = blank(false);
  private readonly secure: Listener = blank(true);

  constructor(
    private readonly tls: () => { key: string; cert: string },
    private readonly handlers: ListenerHandlers,
    private readonly logger: Logger,
  ) {}

  /** Bind (or rebind) both listeners to `config`; a listener that cannot bind reports its error. */
  async apply(config: ListenerConfig): Promise<void> {
    await this.applyOne(this.plain, config.enabled, config.bindAddress, config.port);
    await this.applyOne(this.secure, config.enabled, config.bindAddress, config.sslPort);
  }

  views(): { plain: ListenerView; ssl: ListenerView } {
    return { plain: view(this.plain), ssl: view(this.secure) };
  }

  async close(): Promise<void> {
    await this.closeOne(this.plain);
    await this.closeOne(this.secure);
  }

  private async applyOne(l: Listener, enabled: boolean, address: string, port: number): Promise<void> {
    const same = l.server !== null && l.address === address && l.wantedPort === port;
    if (enabled && same) return;
    await this.closeOne(l);
    l.address = address;
    l.wantedPort = port;
    l.error = null;
    if (!enabled) return;
    const server = l.ssl
      ? createHttpsServer({
          ...this.tls(),
          minVersion: 'TLSv1.2',
          requestCert: true,
          // TLS does not judge the peer's self-signed certificate: the trust stores do, after.
          rejectUnauthorized: false,
        })
      : createHttpServer();
    // UTF-8 is checked by LinkConnection, which refuses bad text with a coded close (ws would send 1007).
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
      clientTracking: true,
      skipUTF8Validation: true,
    });
    server.on('request', (req, res) => this.handlers.onHttp(req, res, l.ssl));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      const pathname = (req.url ?? '/').split('?')[0];
      if (pathname !== GAN_PATH || req.method !== 'GET') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.handlers.onConnection(ws, req, l.ssl));
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    server.on('tlsClientError', (err) => this.logger.debug({ err: err.message }, 'TLS handshake failed on the SSL port'));
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, address, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      l.error = (err as Error).message;
      this.logger.error({ listener: l.ssl ? 'ssl' : 'plain', address, port, err: l.error }, 'gateway network listener could not bind');
      return;
    }
    server.on('error', (err) => this.logger.error({ err: err.message }, 'gateway network listener error'));
    const bound = server.address();
    l.boundPort = typeof bound === 'object' && bound ? bound.port : port;
    l.server = server;
    l.wss = wss;
    this.logger.info({ listener: l.ssl ? 'ssl' : 'plain', address, port: l.boundPort }, 'gateway network listening');
  }

  private async closeOne(l: Listener): Promise<void> {
    const { server, wss } = l;
    l.server = null;
    l.wss = null;
    l.boundPort = null;
    if (wss) for (const ws of wss.clients) ws.terminate();
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
    wss?.close();
  }
}

function blank(ssl: boolean): Listener {
  return { ssl, server: null, wss: null, address: '', wantedPort: 0, boundPort: null, error: null };
}

function view(l: Listener): ListenerView {
  return { address: l.address, port: l.boundPort ?? l.wantedPort, listening: l.server !== null, error: l.error };
}
