import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { GwError, type ErrorBody } from '../../core/errors.js';
import { describeProblems } from '../../core/schema-errors.js';
import type { Logger } from '../logger.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { isReply, STREAMED, type HttpMethod, type Router } from './router.js';

export interface ApiServerOptions {
  socketPath: string;
  router: Router;
  schemas: SchemaRegistry;
  logger: Logger;
  /** Default request body limit in bytes. */
  bodyLimit?: number;
  /** Socket file mode: 0o600 by default, 0o660 when a group is meant to use it. */
  socketMode?: number;
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// sun_path is 108 bytes on Linux including the terminating NUL.
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Transport of the local API: HTTP/1.1 on a unix socket. It owns the socket file (stale ones are
 * replaced, live ones refused), its permissions, browser refusal, body limits and JSON parsing, and
 * turns every failure into the one coded error body. Routing and handlers live elsewhere.
 */
export class ApiServer {
  private server: Server | null = null;
  private readonly streams = new Set<ServerResponse>();
  private closing = false;
  /** Inode of the socket file this server created: only that file is removed on close. */
  private ownedSocketIno: number | null = null;

  constructor(private readonly options: ApiServerOptions) {}

  get socketPath(): string {
    return this.options.socketPath;
  }

  async listen(): Promise<void> {
    const socketPath = this.options.socketPath;
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new GwError('GW_ERR_DAEMON_SOCKET_PATH_INVALID', {
        socket: socketPath,
        detail: `the path is longer than ${MAX_SOCKET_PATH_BYTES} bytes; choose a shorter --socket`,
      });
    }
    await fsp.mkdir(path.dirname(socketPath), { recursive: true });
    await clearStaleSocket(socketPath);
    const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => void this.handle(req, res));
    // Bytes that are not HTTP/1.1 (an unknown method, a broken header) never reach a handler; they
    // still get the coded body, then the connection is closed.
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const body = JSON.stringify(
        new GwError('GW_ERR_API_MALFORMED_REQUEST', { detail: err.code ?? err.message }).toBody(),
      );
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    // The umask covers the moment between bind() and chmod(): nobody else may connect in between.
    const previousUmask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(previousUmask);
    }
    this.server = server;
    await fsp.chmod(socketPath, this.options.socketMode ?? 0o600);
    this.ownedSocketIno = (await fsp.lstat(socketPath)).ino;
  }

  /** Stop accepting, end follow streams, close idle connections and remove the socket file. */
  async close(): Promise<void> {
    this.closing = true;
    const server = this.server;
    this.server = null;
    for (const res of this.streams) res.end();
    this.streams.clear();
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), 1000);
      await closed;
      clearTimeout(timer);
    }
    await this.removeOwnSocket();
  }

  // Never remove what is not ours: a refused start must leave another gwd's socket, or a file
  // that was in the way, exactly as it found them.
  private async removeOwnSocket(): Promise<void> {
    if (this.ownedSocketIno === null) return;
    try {
      const st = await fsp.lstat(this.options.socketPath);
      if (st.isSocket() && st.ino === this.ownedSocketIno) await fsp.rm(this.options.socketPath, { force: true });
    } catch {
      // Already gone.
    }
    this.ownedSocketIno = null;
  }

  /** Keep a long-lived response (event follow) so shutdown can end it. */
  trackStream(res: ServerResponse): void {
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    // A body on GET/OPTIONS/... is never read: discard it so it cannot be taken for the next request.
    if (!METHODS_WITH_BODY.has(method)) req.resume();
    let pathname = '/';
    try {
      if (this.closing) throw new GwError('GW_ERR_API_SHUTTING_DOWN');
      // Browsers send Origin/Referer; a web page must never drive the daemon (DNS rebinding, CSRF).
      for (const header of ['origin', 'referer'] as const) {
        if (req.headers[header] !== undefined) {
          throw new GwError('GW_ERR_API_ORIGIN_REFUSED', { header: header === 'origin' ? 'Origin' : 'Referer' });
        }
      }
      const url = parseRequestUrl(req.url ?? '/');
      pathname = url.pathname;
      const match = this.options.router.match(method, pathname);
      if (match.kind === 'none') throw new GwError('GW_ERR_API_NOT_FOUND', { method, path: pathname });
      if (match.kind === 'method') {
        res.setHeader('Allow', match.allowed.join(', '));
        throw new GwError('GW_ERR_API_METHOD_NOT_ALLOWED', { method, path: pathname, allowed: match.allowed.join(', ') });
      }
      const { route, params } = match;
      let body: unknown;
      if (METHODS_WITH_BODY.has(method)) {
        const text = await readBody(req, route.bodyLimit ?? this.options.bodyLimit ?? DEFAULT_BODY_LIMIT);
        if (route.rawBody) body = text;
        else if (text.trim().length > 0) body = parseJson(text);
        if (route.bodySchema) {
          const candidate = body === undefined ? {} : body;
          const result = this.options.schemas.validate(route.bodySchema, candidate);
          if (!result.ok) {
            throw new GwError('GW_ERR_API_INVALID_BODY', { detail: describeProblems(result.problems) }, { problems: result.problems });
          }
          body = result.value;
        }
      }
      const result = await route.handler({
        method: method as HttpMethod,
        path: pathname,
        params,
        query: url.searchParams,
        body,
        raw: req,
        res,
      });
      if (result === STREAMED) return;
      if (isReply(result)) sendJson(res, result.statusCode, result.body);
      else sendJson(res, 200, result);
    } catch (err) {
      this.sendError(req, res, err, method, pathname);
    }
  }

  private sendError(req: IncomingMessage, res: ServerResponse, err: unknown, method: string, pathname: string): void {
    let gw: GwError;
    if (err instanceof GwError) {
      gw = err;
    } else {
      this.options.logger.error({ err, method, path: pathname }, 'unhandled error in API handler');
      gw = new GwError('GW_ERR_DAEMON_INTERNAL', { detail: err instanceof Error ? err.message : String(err) });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body: ErrorBody = gw.toBody();
    if (gw.code === 'GW_ERR_API_BODY_TOO_LARGE') {
      // The rest of the body is not read: close the connection after answering.
      res.setHeader('Connection', 'close');
      res.on('finish', () => req.destroy());
    }
    sendJson(res, gw.statusCode, body);
  }
}

export function sendJson(res: ServerResponse, statusCode: number, body: unknown): void {
  if (statusCode === 204 || body === undefined) {
    res.writeHead(statusCode === 200 && body === undefined ? 204 : statusCode);
    res.end();
    return;
  }
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(statusCode, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function parseRequestUrl(raw: string): URL {
  // `//host/...` would be read as an authority; the API only has paths.
  if (!raw.startsWith('/') || raw.startsWith('//')) {
    throw new GwError('GW_ERR_API_BAD_PATH', { path: raw.slice(0, 200), detail: 'not an absolute path' });
  }
  try {
    return new URL(raw, 'http://gwd.local');
  } catch {
    throw new GwError('GW_ERR_API_BAD_PATH', { path: raw.slice(0, 200), detail: 'not a valid URL path' });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new GwError('GW_ERR_API_MALFORMED_JSON', { detail: (err as Error).message });
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new GwError('GW_ERR_API_BODY_TOO_LARGE', { limit }));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        req.pause();
        reject(new GwError('GW_ERR_API_BODY_TOO_LARGE', { limit }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (err) => {
      if (!failed) reject(err);
    });
  });
}

/**
 * A socket file left by a crashed gwd is replaced; one that answers belongs to a live gwd and is
 * refused; a path that is not a socket at all is never deleted.
 */
async function clearStaleSocket(socketPath: string): Promise<void> {
  let st;
  try {
    st = await fsp.lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new GwError('GW_ERR_DAEMON_SOCKET_PATH_INVALID', {
      socket: socketPath,
      detail: 'a file that is not a socket is in the way; it was left untouched',
    });
  }
  const alive = await new Promise<boolean>((resolve) => {
    const sock = connect(socketPath);
    const timer = setTimeout(() => {
      sock.destroy();
      // A socket that accepts but never answers is still someone's: treat it as live.
      resolve(true);
    }, 1000);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (alive) throw new GwError('GW_ERR_DAEMON_SOCKET_IN_USE', { socket: socketPath });
  await fsp.rm(socketPath, { force: true });
}
