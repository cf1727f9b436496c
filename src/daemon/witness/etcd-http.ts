/**
 * Transport to etcd's v3 JSON gateway (`POST /v3/...` with a JSON body) over HTTP or HTTPS, with
 * undici. undici is imported on first use only, so a daemon without a witness never loads it.
 *
 * - Several endpoints: each request tries the endpoint that answered last, then the others in
 *   order, one attempt each. An endpoint that cannot be connected, does not answer within the
 *   request timeout, answers something that is not etcd's JSON, or answers "unavailable" (gRPC code
 *   14: no leader, a partitioned member, ...) is skipped; when none answers the request fails with
 *   GW_ERR_WITNESS_UNREACHABLE listing each endpoint and why. Worst case: requestTimeoutMs ×
 *   endpoints.
 * - An error etcd answers (lease not found, bad request, ...) stops there: GW_ERR_WITNESS_REFUSED
 *   with etcd's message; `details` carries {endpoint, grpcCode, etcdMessage} for the caller to map.
 * - Every answer's `header.cluster_id` must be the one this transport saw first: endpoints of two
 *   different etcd clusters in one list would let two nodes each win a leader key, so an answer
 *   from another cluster is refused. (A rebuilt etcd cluster needs a new client: reconfigure or
 *   restart.)
 * - `sentAt` is performance.now() just before the answered attempt was sent (a monotonic clock):
 *   etcd received the request no earlier, so a lease renewed by it lives at least its TTL from then.
 */
import { performance } from 'node:perf_hooks';

import type { Agent, Dispatcher } from 'undici';

import { GwError } from '../../core/errors.js';
import type { Logger } from '../logger.js';
import { loadWitnessTls, type WitnessTlsPaths } from './etcd-tls.js';

export type WitnessLogger = Pick<Logger, 'debug' | 'info' | 'warn'>;

export interface EtcdHttpOptions {
  endpoints: string[];
  requestTimeoutMs: number;
  tls?: WitnessTlsPaths | undefined;
  logger?: WitnessLogger | undefined;
}

/** One JSON object etcd answered (for a streaming call, the first message, unwrapped from `result`). */
export interface EtcdAnswer {
  endpoint: string;
  body: Record<string, unknown>;
  sentAt: number;
}

/** gRPC status codes the gateway reports that mean "this member cannot serve now": try another. */
const UNAVAILABLE_CODES = new Set([4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

type Undici = typeof import('undici');
let undiciModule: Promise<Undici> | null = null;
function loadUndici(): Promise<Undici> {
  undiciModule ??= import('undici');
  return undiciModule;
}

/** Endpoint URLs as given, without a trailing slash; refuses anything but http(s) URLs. */
export function normalizeEndpoints(endpoints: readonly string[]): string[] {
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new GwError('GW_ERR_REDUNDANCY_INVALID_SETTINGS', { detail: 'witness.endpoints is empty: give at least one etcd URL' });
  }
  return endpoints.map((raw, i) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new GwError('GW_ERR_REDUNDANCY_INVALID_SETTINGS', { detail: `witness.endpoints[${i}] "${raw}" is not a URL (e.g. http://10.0.0.7:2379)` });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new GwError('GW_ERR_REDUNDANCY_INVALID_SETTINGS', { detail: `witness.endpoints[${i}] "${raw}" must be an http:// or https:// URL` });
    }
    return url.origin + url.pathname.replace(/\/+$/, '');
  });
}

function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(describeError).join(', ');
  const e = err as NodeJS.ErrnoException & { cause?: unknown };
  if (e && typeof e === 'object') {
    if (e.code === 'ECONNREFUSED') return 'connection refused';
    if (e.code === 'ECONNRESET') return 'connection reset';
    if (e.code === 'EHOSTUNREACH') return 'host unreachable';
    if (e.code === 'ENOTFOUND') return 'host name not found';
    if (e.message) return e.code && !e.message.includes(e.code) ? `${e.message} (${e.code})` : e.message;
    if (e.cause) return describeError(e.cause);
  }
  return String(err);
}

/** Thrown inside one attempt when the endpoint should be skipped. */
class EndpointFailure extends Error {}

/** Parse the first JSON object of a body (a streaming answer may hold several, one per line). */
function parseFirst(text: string): Record<string, unknown> | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  const firstLine = trimmed.split('\n', 1)[0]!;
  for (const candidate of [firstLine, trimmed]) {
    try {
      const v: unknown = JSON.parse(candidate);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // try the next form
    }
  }
  return null;
}

export class EtcdHttp {
  readonly endpoints: readonly string[];
  readonly requestTimeoutMs: number;
  private preferred = 0;
  private agent: Promise<Agent> | null = null;
  private closed = false;
  private pinnedCluster: { id: string; endpoint: string } | null = null;
  private readonly log: WitnessLogger | undefined;

  constructor(private readonly opts: EtcdHttpOptions) {
    this.endpoints = normalizeEndpoints(opts.endpoints);
    this.requestTimeoutMs = opts.requestTimeoutMs;
    this.log = opts.logger;
  }

  /**
   * Start loading undici now (importing it takes a few hundred ms), so that the first request does
   * not wait for it. Errors surface at the first request.
   */
  preload(): void {
    loadUndici().catch(() => undefined);
  }

  /** The endpoint tried first by the next request (the one that answered last). */
  currentEndpoint(): string {
    return this.endpoints[this.preferred]!;
  }

  private getAgent(): Promise<Agent> {
    if (!this.agent) {
      const made = (async () => {
        const [undici, tls] = await Promise.all([loadUndici(), this.opts.tls ? loadWitnessTls(this.opts.tls) : Promise.resolve(undefined)]);
        // The request timeout is our own timer (attempt()); undici's timers are coarse (they may
        // fire up to ~500 ms early or late), so its own are only a backstop, a second later.
        const backstop = this.requestTimeoutMs + 1000;
        return new undici.Agent({
          connect: { timeout: backstop, ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}) },
          headersTimeout: backstop,
          bodyTimeout: backstop,
          keepAliveTimeout: 30_000,
          connections: 4,
        });
      })();
      // A failure (bad TLS files) is not remembered: the next request reads the files again.
      made.catch(() => {
        if (this.agent === made) this.agent = null;
      });
      this.agent = made;
    }
    return this.agent;
  }

  /**
   * POST `payload` as JSON to `path` on the first endpoint that answers. `stream`: the call is a
   * gRPC stream through the gateway (lease keepalive); only its first message is read.
   */
  async post(path: string, payload: unknown, operation: string, stream = false): Promise<EtcdAnswer> {
    if (this.closed) {
      throw new GwError('GW_ERR_WITNESS_UNREACHABLE', { operation, detail: 'the witness client is closed' });
    }
    const agent = await this.getAgent();
    const { request } = await loadUndici();
    const body = JSON.stringify(payload);
    const failures: string[] = [];
    const n = this.endpoints.length;
    for (let i = 0; i < n; i++) {
      const index = (this.preferred + i) % n;
      const endpoint = this.endpoints[index]!;
      try {
        const answer = await this.attempt(request, agent, endpoint, path, body, operation, stream);
        this.remember(index, operation);
        return answer;
      } catch (err) {
        if (!(err instanceof EndpointFailure)) {
          this.remember(index, operation); // etcd answered there, if only with an error
          throw err;
        }
        failures.push(`${endpoint}: ${err.message}`);
        this.log?.debug({ endpoint, operation, err: err.message }, 'witness: etcd endpoint failed');
      }
    }
    throw new GwError('GW_ERR_WITNESS_UNREACHABLE', { operation, detail: failures.join('; ') }, { endpoints: failures });
  }

  private remember(index: number, operation: string): void {
    if (index === this.preferred) return;
    this.log?.info({ endpoint: this.endpoints[index], previous: this.endpoints[this.preferred], operation }, 'witness: switched etcd endpoint');
    this.preferred = index;
  }

  private async attempt(
    request: Undici['request'],
    agent: Dispatcher,
    endpoint: string,
    path: string,
    body: string,
    operation: string,
    stream: boolean,
  ): Promise<EtcdAnswer> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`no answer within ${this.requestTimeoutMs} ms`));
    }, this.requestTimeoutMs);
    const sentAt = performance.now();
    let status: number;
    let text: string;
    try {
      const res = await request(endpoint + path, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
        dispatcher: agent,
        signal: controller.signal,
      });
      status = res.statusCode;
      text = stream ? await readFirstMessage(res.body) : await res.body.text();
    } catch (err) {
      // Our timer, or undici's own connect/headers/body timeouts (the backstop).
      if (timedOut || TIMEOUT_CODES.has((err as { code?: string }).code ?? '')) {
        throw new EndpointFailure(`no answer within ${this.requestTimeoutMs} ms`);
      }
      throw new EndpointFailure(describeError(err));
    } finally {
      clearTimeout(timer);
    }
    const parsed = parseFirst(text);
    if (!parsed) {
      throw new EndpointFailure(`answered HTTP ${status} with something that is not etcd's JSON (${JSON.stringify(text.slice(0, 80))})`);
    }
    // A streaming answer wraps each message in {result} or {error}; unary errors are {error, message, code}.
    const msg = (stream && parsed.result && typeof parsed.result === 'object' ? parsed.result : parsed) as Record<string, unknown>;
    const error = etcdError(parsed);
    if (error) {
      if (UNAVAILABLE_CODES.has(error.grpcCode)) throw new EndpointFailure(`unavailable (${error.message})`);
      throw new GwError(
        'GW_ERR_WITNESS_REFUSED',
        { endpoint, operation, detail: error.message },
        { endpoint, grpcCode: error.grpcCode, etcdMessage: error.message },
      );
    }
    if (status < 200 || status >= 300) {
      throw new EndpointFailure(`answered HTTP ${status} (${JSON.stringify(text.slice(0, 80))})`);
    }
    this.checkCluster(endpoint, msg, operation);
    return { endpoint, body: msg, sentAt };
  }

  private checkCluster(endpoint: string, msg: Record<string, unknown>, operation: string): void {
    const header = msg.header as Record<string, unknown> | undefined;
    const id = header && typeof header.cluster_id === 'string' ? header.cluster_id : undefined;
    if (id === undefined) return;
    if (!this.pinnedCluster) {
      this.pinnedCluster = { id, endpoint };
      return;
    }
    if (this.pinnedCluster.id !== id) {
      throw new GwError(
        'GW_ERR_WITNESS_REFUSED',
        {
          endpoint,
          operation,
          detail: `this endpoint belongs to etcd cluster ${id}, but ${this.pinnedCluster.endpoint} to cluster ${this.pinnedCluster.id}: all witness endpoints must be members of one cluster`,
        },
        { endpoint, clusterId: id, expectedClusterId: this.pinnedCluster.id },
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const agent = this.agent;
    this.agent = null;
    if (!agent) return;
    try {
      await (await agent).destroy();
    } catch {
      // nothing was open, or the TLS files were bad: nothing to close
    }
  }
}

/** etcd's error in a gateway answer: unary `{error, message, code}` or streamed `{error: {grpc_code, message}}`. */
function etcdError(parsed: Record<string, unknown>): { grpcCode: number; message: string } | null {
  const e = parsed.error;
  if (e === undefined || e === null) return null;
  if (typeof e === 'object') {
    const o = e as Record<string, unknown>;
    return { grpcCode: Number(o.grpc_code ?? o.code ?? 2), message: String(o.message ?? JSON.stringify(o)) };
  }
  return { grpcCode: Number(parsed.code ?? 2), message: String(parsed.message ?? e) };
}

/** Read a streamed body up to its first complete message, then let the rest go. */
async function readFirstMessage(body: AsyncIterable<Buffer | string> & { destroy?: () => void }): Promise<string> {
  let text = '';
  for await (const chunk of body) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const nl = text.indexOf('\n');
    const first = nl >= 0 ? text.slice(0, nl) : text;
    if ((nl >= 0 && first.trim() !== '') || isJson(first)) {
      body.destroy?.();
      return first;
    }
  }
  return text;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
