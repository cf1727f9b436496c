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

/** A listener this apply asked to listen somewhere new (or again after being off) that did not bind. */
export interface ListenFailure {
  listener: 'plain' | 'ssl';
  address: string;
  port: number;
  error: string;
}

interface Listener {
  ssl: boolean;
  /** Whether the last apply wanted it listening (off: gateway-network.json enabled false). */
  on: boolean;
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

  /**
   * Bind (or rebind) both listeners to `config`; a listener that cannot bind keeps its error (shown
   * in status). Answers the failures of listeners whose address or port changed, or that were off:
   * a listener already down on an unchanged target is retried, but its failure is not the change's.
   */
  async apply(config: ListenerConfig): Promise<ListenFailure[]> {
    const failures: ListenFailure[] = [];
    for (const [l, port] of [[this.plain, config.port], [this.secure, config.sslPort]] as const) {
      const moved = !l.on || l.address !== config.bindAddress || l.wantedPort !== port;
      await this.applyOne(l, config.enabled, config.bindAddress, port);
      if (l.error !== null && moved) failures.push({ listener: l.ssl ? 'ssl' : 'plain', address: config.bindAddress, port, error: l.error });
    }
    return failures;
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
    l.on = enabled;
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
    server.on('clientError', (err: Error & { rawPacket?: Buffer }, socket: Duplex) => {
      // A TLS ClientHello (first byte 0x16, a handshake record) on the plain port: answering in plain
      // HTTP makes the TLS client fail with 'wrong version number', which the dialer names (ssl-mismatch.ts).
      if (!l.ssl && err.rawPacket?.[0] === 0x16 && socket.writable) socket.end(PLAIN_PORT_ANSWER);
      else socket.destroy();
    });
    server.on('tlsClientError', (err: Error & { code?: string }, tlsSocket) => {
      this.logger.debug({ err: err.message }, 'TLS handshake failed on the SSL port');
      // Plain HTTP on the SSL port: answered in plain HTTP on the raw socket beneath TLS, with a header
      // the dialer reads, instead of a bare reset that looks like a dead peer. `_parent` is Node's
      // (undocumented) raw socket of a server-side TLSSocket; without it the socket is only closed.
      const raw = (tlsSocket as unknown as { _parent?: Duplex })._parent;
      if (err.code === 'ERR_SSL_HTTP_REQUEST' && raw?.writable) raw.end(SSL_PORT_ANSWER);
    });
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
    server.on('error', (err) => {
      l.error = err.message;
      this.logger.error({ err: err.message }, 'gateway network listener error');
    });
    server.on('close', () => {
      // Closed by anything but closeOne (which detaches it first): the listener is lost, and status says so.
      if (l.server !== server) return;
      l.server = null;
      l.wss = null;
      l.boundPort = null;
      l.error ??= 'the listener closed';
    });
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

/** What the plain port answers a TLS client (ssl-mismatch.ts reads the header on the other side). */
const PLAIN_PORT_ANSWER =
  'HTTP/1.1 400 Bad Request\r\nX-Gwd-Port: plain\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 49\r\n\r\n' +
  "this is gwd's plain Gateway Network port, not TLS";
/** What the SSL port answers plain HTTP. */
const SSL_PORT_ANSWER =
  'HTTP/1.1 400 Bad Request\r\nX-Gwd-Port: ssl\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 47\r\n\r\n' +
  "this is gwd's SSL Gateway Network port: use TLS";

function blank(ssl: boolean): Listener {
  return { ssl, on: false, server: null, wss: null, address: '', wantedPort: 0, boundPort: null, error: null };
}

function view(l: Listener): ListenerView {
  return { address: l.address, port: l.boundPort ?? l.wantedPort, listening: l.server !== null, error: l.error };
}
