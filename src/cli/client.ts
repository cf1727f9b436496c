// node:http and not undici: undici parses HTTP with a WebAssembly build of llhttp whose compile and
// teardown cost gwctl ~130 ms on every call (measured: 180 ms against 50 ms for `node -e 0`), while
// node:http uses the parser built into node. A CLI that scripts call in loops must start fast.
// A request with a whole answer (every command but the streamed ones) does not load node:http at all
// (exchange() below).
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { connect } from 'node:net';
import { userInfo } from 'node:os';

import { GwError, isErrorBody, type ErrorCode, type ParamsArgs, type RemoteError } from '../core/errors.js';
import type { NetworkUpdate, RedundancyUpdate } from '../core/settings/types.js';
import type {
  CertEntry,
  ConnectionEntry,
  EventRecord,
  NetworkView,
  NodeCert,
  NodeInfo,
  NodeUpdate,
  PauseRequest,
  PauseResponse,
  RedundancyUpdateRequest,
  RedundancyView,
  ResyncResponse,
  StatusResponse,
  TrustDirection,
  TrustState,
  FailoverAccepted,
} from '../core/wire.js';
import type { Collection, VersionName, VersionQuery } from '../core/config-model.js';
import type {
  ConfigArchivesResponse,
  ConfigCheckResponse,
  ConfigExportFormat,
  ConfigListResponse,
  ConfigRescanResponse,
  ConfigResourceResponse,
  ConfigWriteResponse,
} from '../core/config-wire.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** An error raised by the client itself (not sent by the daemon). */
export function clientError<C extends ErrorCode>(code: C, ...args: ParamsArgs<C>): GwError {
  return new GwError(code, ...args);
}

/** GW_ERR_CLI_DAEMON_UNREACHABLE, its detail kept in `details` too (a caller that says more reuses it). */
export function unreachable(socket: string, detail: string): GwError {
  return clientError('GW_ERR_CLI_DAEMON_UNREACHABLE', { socket, detail }, { detail });
}

/** The detail of an unreachable() error; its message for any other. */
export function unreachableDetail(err: GwError): string {
  const details = err.details as { detail?: unknown } | undefined;
  return typeof details?.detail === 'string' ? details.detail : err.message;
}

/**
 * The typed client of the local API: the only way gwctl (and tests that act as a user) reach gwd.
 * Every failure is a GwError: the daemon's own coded error, or GW_ERR_CLI_DAEMON_UNREACHABLE when
 * nothing answers on the socket (a RemoteError only for a code from a newer gwd this build lacks).
 */
export class GwClient {
  constructor(readonly socketPath: string) {}

  /** Nothing to release: each request has its own connection (agent: false). Kept for callers. */
  async close(): Promise<void> {}

  async request<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const text = await this.requestText(method, path, body);
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw clientError('GW_ERR_CLI_BAD_RESPONSE', { path, detail: 'the body is not JSON' });
    }
  }

  /** Raw text body; a non-2xx answer becomes the daemon's GwError. */
  async requestText(method: Method, path: string, body?: unknown, contentType = 'application/json'): Promise<string> {
    const { status, text } = await this.exchange(method, path, body, contentType);
    if (status >= 200 && status < 300) return text;
    throw this.toError(path, status, text);
  }

  /** Stream NDJSON events; resolves when the daemon ends the stream or `signal` aborts. */
  async streamEvents(
    query: { since?: number; follow?: boolean; type?: string; limit?: number },
    onEvent: (event: EventRecord) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const params = new URLSearchParams();
    if (query.since !== undefined) params.set('since', String(query.since));
    if (query.follow) params.set('follow', '1');
    if (query.type) params.set('type', query.type);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const path = `/v0/events?${params.toString()}`;
    const res = await this.send('GET', path, undefined, 'application/json', signal);
    if (res.statusCode !== 200) throw this.toError(path, res.statusCode ?? 0, await readAll(res));
    let pending = '';
    try {
      for await (const chunk of res) {
        pending += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (line.trim()) onEvent(JSON.parse(line) as EventRecord);
        }
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw unreachable(this.socketPath, `the event stream broke: ${(err as Error).message}`);
    }
  }

  status(): Promise<StatusResponse> {
    return this.request('GET', '/v0/status');
  }

  node(): Promise<NodeInfo> {
    return this.request('GET', '/v0/node');
  }

  configureNode(update: NodeUpdate): Promise<NodeInfo> {
    return this.request('PUT', '/v0/node', update);
  }

  nodeCert(): Promise<NodeCert> {
    return this.request('GET', '/v0/node/cert');
  }

  network(): Promise<NetworkView> {
    return this.request('GET', '/v0/network');
  }

  configureNetwork(update: NetworkUpdate): Promise<NetworkView> {
    return this.request('PUT', '/v0/network', update);
  }

  redundancy(): Promise<RedundancyView> {
    return this.request('GET', '/v0/redundancy');
  }

  failover(force: boolean, to?: string): Promise<FailoverAccepted> {
    return this.request('POST', '/v0/redundancy/failover', to === undefined ? { force } : { force, to });
  }

  /** `force`: apply a role change that rule 11 refuses (the answer's `forced` says what it overrode). */
  configureRedundancy(update: RedundancyUpdate, options: { force?: boolean } = {}): Promise<RedundancyView> {
    const body: RedundancyUpdateRequest = options.force ? { ...update, force: true } : update;
    return this.request('PUT', '/v0/redundancy', body);
  }

  /** Rule 12: hold both nodes' activities; `forMs` 0 until resumed, absent 60 minutes. */
  pause(request: PauseRequest): Promise<PauseResponse> {
    return this.request('POST', '/v0/redundancy/pause', request);
  }

  resume(): Promise<PauseResponse> {
    return this.request('POST', '/v0/redundancy/resume');
  }

  /** Force a full snapshot: a backup asks its master for one, a master pushes one to its backup. */
  resync(): Promise<ResyncResponse> {
    return this.request('POST', '/v0/redundancy/resync');
  }

  certs(filter: { state?: TrustState; direction?: TrustDirection } = {}): Promise<CertEntry[]> {
    return this.request('GET', `/v0/certs${query(filter)}`);
  }

  /** Approve or deny what a fingerprint or unique prefix (8+ characters) names; every match is returned. */
  decideCert(id: string, decision: 'approve' | 'deny', direction?: TrustDirection): Promise<CertEntry[]> {
    return this.request('POST', `/v0/certs/${encodeURIComponent(id)}/${decision}${query({ direction })}`);
  }

  removeCert(id: string, direction?: TrustDirection): Promise<CertEntry[]> {
    return this.request('DELETE', `/v0/certs/${encodeURIComponent(id)}${query({ direction })}`);
  }

  trustCert(direction: TrustDirection, pem: string): Promise<CertEntry> {
    return this.request('POST', '/v0/certs', { direction, pem });
  }

  connections(): Promise<ConnectionEntry[]> {
    return this.request('GET', '/v0/connections');
  }

  decideConnection(id: string, decision: 'approve' | 'deny'): Promise<ConnectionEntry> {
    return this.request('POST', `/v0/connections/${encodeURIComponent(id)}/${decision}`);
  }

  configList(): Promise<ConfigListResponse> {
    return this.request('GET', '/v0/config/resources');
  }

  configGet(address: string, version: VersionQuery = 'effective', collection?: Collection): Promise<ConfigResourceResponse> {
    const q = new URLSearchParams({ version });
    if (collection) q.set('collection', collection);
    return this.request('GET', `/v0/config/resources/${addressPath(address)}?${q.toString()}`);
  }

  configSet(
    address: string,
    content: unknown,
    opts: { version?: VersionName; collection?: Collection } = {},
  ): Promise<ConfigWriteResponse> {
    return this.request('PUT', `/v0/config/resources/${addressPath(address)}`, {
      content,
      version: opts.version ?? 'primary',
      collection: opts.collection ?? 'core',
    });
  }

  configDelete(address: string, collection: Collection = 'core'): Promise<ConfigWriteResponse> {
    return this.request('DELETE', `/v0/config/resources/${addressPath(address)}?collection=${collection}`);
  }

  configBackupAdd(address: string, content?: unknown, collection: Collection = 'core'): Promise<ConfigWriteResponse> {
    return this.request('POST', `/v0/config/backup/${addressPath(address)}`, content === undefined ? { collection } : { content, collection });
  }

  configBackupRemove(address: string, collection: Collection = 'core'): Promise<ConfigWriteResponse> {
    return this.request('DELETE', `/v0/config/backup/${addressPath(address)}?collection=${collection}`);
  }

  /**
   * GET /v0/config/export, its body handed to `onText` piece by piece as it arrives (NDJSON of
   * ConfigExportEntry, or with format json one ConfigExportDocument). The next piece is read only
   * once the promise `onText` returns has resolved, so a slow consumer slows the daemon down instead
   * of piling the export up in memory. A stream that breaks before its end is an error (the pieces
   * already handed over are then not the whole export).
   */
  async configExport(
    query: { version?: VersionQuery; collection?: Collection; format?: ConfigExportFormat },
    onText: (text: string) => void | Promise<void>,
  ): Promise<void> {
    const q = new URLSearchParams({ version: query.version ?? 'effective', format: query.format ?? 'ndjson' });
    if (query.collection) q.set('collection', query.collection);
    const path = `/v0/config/export?${q.toString()}`;
    const res = await this.send('GET', path, undefined, 'application/json');
    if (res.statusCode !== 200) throw this.toError(path, res.statusCode ?? 0, await readAll(res));
    // Decoded as UTF-8 across chunk boundaries (a character split between two chunks stays whole).
    res.setEncoding('utf8');
    const broken = (detail: string): GwError =>
      unreachable(this.socketPath, `the export broke off before its end: ${detail}`);
    const chunks = res[Symbol.asyncIterator]() as AsyncIterator<string>;
    try {
      for (;;) {
        let step: IteratorResult<string>;
        try {
          step = await chunks.next();
        } catch (err) {
          throw broken((err as Error).message);
        }
        if (step.done) break;
        if (step.value) await onText(step.value);
      }
      if (!res.complete) throw broken('the connection closed');
    } finally {
      // A consumer that failed leaves the rest unread: close the connection rather than leave it open.
      if (!res.complete) res.destroy();
    }
  }

  configCheck(): Promise<ConfigCheckResponse> {
    return this.request('GET', '/v0/config/check');
  }

  configRescan(): Promise<ConfigRescanResponse> {
    return this.request('POST', '/v0/config/rescan');
  }

  configArchives(): Promise<ConfigArchivesResponse> {
    return this.request('GET', '/v0/config/archives');
  }

  /**
   * One request and its whole answer, written and read on the unix socket without node:http: its
   * modules (client, agent, outgoing and incoming messages, the parser's setup) and the request's
   * trip through them were ~5 ms of the ~30 ms `gwctl status` costs beyond `node -e 0`
   * (bench/NOTES.md, "gwctl start-up, step by step"). The request is what node:http sent
   * (`Connection: close`, the same headers); the answer is gwd's own (src/daemon/api/server.ts):
   * a status line, headers, and a body of content-length bytes, or chunked, or up to the close.
   * Streamed answers (events, export) still go through send().
   */
  private exchange(method: Method, path: string, body: unknown, contentType: string): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const head = [`${method} ${path} HTTP/1.1`, 'Host: localhost', 'Connection: close'];
    for (const [name, value] of Object.entries(requestHeaders(method, payload, contentType))) head.push(`${name}: ${value}`);
    const request = Buffer.from(`${head.join('\r\n')}\r\n\r\n${payload ?? ''}`, 'utf8');
    return new Promise((resolve, reject) => {
      const socket = connect(this.socketPath);
      const answer = new AnswerReader();
      let connected = false;
      let settled = false;
      const settle = (result: { status: number; text: string } | GwError): void => {
        if (settled) return;
        settled = true;
        socket.destroy();
        if (result instanceof GwError) reject(result);
        else resolve(result);
      };
      socket.once('connect', () => {
        connected = true;
        socket.write(request);
      });
      socket.on('data', (chunk: Buffer) => {
        try {
          const whole = answer.add(chunk);
          if (whole) settle(whole);
        } catch (err) {
          settle(clientError('GW_ERR_CLI_BAD_RESPONSE', { path, detail: (err as Error).message }));
        }
      });
      socket.once('end', () => {
        try {
          settle(answer.end() ?? unreachable(this.socketPath, connected ? 'ECONNRESET: socket hang up' : 'the socket closed'));
        } catch (err) {
          settle(clientError('GW_ERR_CLI_BAD_RESPONSE', { path, detail: (err as Error).message }));
        }
      });
      socket.once('error', (err) => settle(unreachable(this.socketPath, describeConnectError(err, this.socketPath))));
      socket.once('close', () => settle(unreachable(this.socketPath, 'ECONNRESET: socket hang up')));
    });
  }

  private send(method: Method, path: string, body: unknown, contentType: string, signal?: AbortSignal): Promise<IncomingMessage> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const headers = requestHeaders(method, payload, contentType);
      // servername '': without it the agent derives a TLS server name from the Host header, and its
      // isIP('localhost') compiles node's IPv6 regular expression on first use, 10-25 ms of every
      // call here (--cpu-prof of `gwctl status`). Nothing here is TLS, so the name is never used.
      const options: RequestOptions & { servername: string } = { socketPath: this.socketPath, method, path, headers, agent: false, signal, servername: '' };
      const req = httpRequest(options);
      req.once('response', resolve);
      req.once('error', (err) => {
        if (signal?.aborted) {
          resolve(emptyResponse());
          return;
        }
        reject(unreachable(this.socketPath, describeConnectError(err, this.socketPath)));
      });
      req.end(payload);
    });
  }

  private toError(path: string, statusCode: number, text: string): GwError | RemoteError {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // fall through
    }
    if (isErrorBody(parsed)) return GwError.fromBody(parsed);
    return clientError('GW_ERR_CLI_BAD_RESPONSE', { path, detail: `HTTP ${statusCode}` });
  }
}

function requestHeaders(method: Method, payload: string | undefined, contentType: string): Record<string, string | number> {
  // Only changes are recorded with their author: a GET does not look the user up.
  const headers: Record<string, string | number> = method === 'GET' ? {} : { 'x-gwd-actor': actor() };
  if (payload !== undefined) {
    headers['content-type'] = contentType;
    headers['content-length'] = Buffer.byteLength(payload);
  }
  return headers;
}

/**
 * An HTTP/1.1 answer read as it arrives: add() gives it once its content-length is reached, end()
 * at the close (a body without a length ends there). gwd sends no 1xx answer to these requests.
 */
export class AnswerReader {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private head: { status: number; bodyAt: number; length: number | null; chunked: boolean } | null = null;

  add(chunk: Buffer): { status: number; text: string } | null {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.head === null) {
      const all = this.joined();
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return null;
      this.head = parseHead(all.subarray(0, end).toString('latin1'), end + 4);
    }
    // Whole once its length is there; any other body (a 204's none, a chunked one) ends at the
    // close, which `Connection: close` asks for.
    const { bodyAt, length } = this.head;
    return length !== null && this.bytes - bodyAt >= length ? this.answer() : null;
  }

  /** The answer at the close, or null when it is not whole. */
  end(): { status: number; text: string } | null {
    if (this.head === null) return null;
    const { bodyAt, length } = this.head;
    return length !== null && this.bytes - bodyAt < length ? null : this.answer();
  }

  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private answer(): { status: number; text: string } {
    const { status, bodyAt, length, chunked } = this.head!;
    let body = this.joined().subarray(bodyAt, length === null ? undefined : bodyAt + length);
    if (chunked) body = dechunk(body);
    return { status, text: body.toString('utf8') };
  }
}

function parseHead(text: string, bodyAt: number): { status: number; bodyAt: number; length: number | null; chunked: boolean } {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new Error('not an HTTP answer');
  let length: number | null = null;
  let chunked = false;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') length = Number(value);
    else if (name === 'transfer-encoding') chunked = value.toLowerCase().includes('chunked');
  }
  if (chunked) length = null;
  if (length !== null && !(Number.isSafeInteger(length) && length >= 0)) throw new Error('bad content-length');
  return { status: Number(m[1]), bodyAt, length, chunked };
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) throw new Error('a chunked answer broke off');
    const size = Number.parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error('bad chunk size');
    if (size === 0) return Buffer.concat(parts);
    if (eol + 2 + size > body.length) throw new Error('a chunked answer broke off');
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : '';
}

let cachedActor: string | null = null;
/**
 * Who is asking, recorded by the daemon as the author of configuration changes. Looked up on first
 * need: getpwuid can be slow where users come from a directory service, and most gwctl calls are reads.
 */
function actor(): string {
  if (cachedActor === null) {
    try {
      cachedActor = `gwctl:${userInfo().username}`;
    } catch {
      cachedActor = 'gwctl';
    }
  }
  return cachedActor;
}

/** Each segment percent-encoded: names may hold spaces; the slash between type and name stays. */
function addressPath(address: string): string {
  const slash = address.indexOf('/');
  const type = slash < 0 ? address : address.slice(0, slash);
  const name = slash < 0 ? null : address.slice(slash + 1);
  // An empty part would not reach the config routes at all: say what an address looks like instead.
  if (type === '' || name === '') {
    throw new GwError('GW_ERR_CONFIG_BAD_ADDRESS', { address, detail: 'use <type>/<name>, or <type> for a singleton' });
  }
  // The name is one segment even if it holds a slash, so the daemon can refuse it by name.
  return name === null ? encodeURIComponent(type) : `${encodeURIComponent(type)}/${encodeURIComponent(name)}`;
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** What an aborted stream resolves to: a finished, empty 200 response. */
function emptyResponse(): IncomingMessage {
  return Object.assign(Object.create(null) as object, {
    statusCode: 200,
    async *[Symbol.asyncIterator]() {},
  }) as unknown as IncomingMessage;
}

function describeConnectError(err: unknown, socketPath: string): string {
  const e = err as NodeJS.ErrnoException;
  // `--socket` given the data directory: connect() answers ECONNREFUSED, which would send the
  // operator looking for a gwd that is not running; say what the path is, and where the socket is.
  const dir = isDirectory(socketPath);
  if (dir) {
    const inside = path.join(socketPath, 'gwd.sock');
    return existsSync(inside) ? `that is a directory; its socket is ${inside}` : `that is a directory, not a socket, and it holds no gwd.sock`;
  }
  switch (e?.code) {
    case 'ENOENT':
      return 'no socket file there';
    case 'ECONNREFUSED':
      return 'nothing is listening on the socket';
    case 'EACCES':
      return 'permission denied on the socket';
    default:
      return e?.code ? `${e.code}: ${e.message}` : String(err);
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
