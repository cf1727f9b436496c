import type { IncomingMessage, ServerResponse } from 'node:http';

import { GwError } from '../../core/errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiRequest {
  method: HttpMethod;
  path: string;
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** Parsed (and, when the route names a schema, validated) JSON body; undefined when none was sent. */
  body: unknown;
  raw: IncomingMessage;
  res: ServerResponse;
}

/** What a handler returns: a JSON value (200), an explicit reply, or STREAMED when it wrote itself. */
export interface ApiReply {
  statusCode: number;
  body?: unknown;
}
export const STREAMED = Symbol('streamed');
export type HandlerResult = unknown | ApiReply | typeof STREAMED;

export type Handler = (req: ApiRequest) => HandlerResult | Promise<HandlerResult>;

export interface RouteOptions {
  /** `$id` of the JSON Schema the body must satisfy (schemas/api). */
  bodySchema?: string;
  /** Body size limit in bytes for this route (default: the server's). */
  bodyLimit?: number;
  /** Raw body: the handler gets the text, not parsed JSON (for uploads of files as they are). */
  rawBody?: boolean;
}

export interface Route extends RouteOptions {
  method: HttpMethod;
  pattern: string;
  handler: Handler;
  segments: string[];
}

export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method'; allowed: HttpMethod[] }
  | { kind: 'none' };

export function reply(statusCode: number, body?: unknown): ApiReply {
  return Object.assign(Object.create(REPLY_PROTO) as object, { statusCode, body }) as ApiReply;
}
const REPLY_PROTO = {};
export function isReply(value: unknown): value is ApiReply {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === REPLY_PROTO;
}

/**
 * The one route table of the local API. Patterns are `/v0/a/:param/b`, with an optional trailing
 * `*rest` segment that captures the remainder (resource addresses contain slashes).
 * A second registration of the same method and pattern fails at startup.
 */
export class Router {
  private readonly routes: Route[] = [];

  add(method: HttpMethod, pattern: string, handler: Handler, options: RouteOptions = {}): void {
    if (!pattern.startsWith('/')) throw new Error(`route pattern must start with /: ${pattern}`);
    const shape = normalisePattern(pattern);
    if (this.routes.some((r) => r.method === method && normalisePattern(r.pattern) === shape)) {
      throw new Error(`duplicate route ${method} ${pattern}`);
    }
    this.routes.push({ method, pattern, handler, segments: pattern.split('/').slice(1), ...options });
  }

  get(pattern: string, handler: Handler, options?: RouteOptions): void { this.add('GET', pattern, handler, options); }
  post(pattern: string, handler: Handler, options?: RouteOptions): void { this.add('POST', pattern, handler, options); }
  put(pattern: string, handler: Handler, options?: RouteOptions): void { this.add('PUT', pattern, handler, options); }
  delete(pattern: string, handler: Handler, options?: RouteOptions): void { this.add('DELETE', pattern, handler, options); }

  /** The table as registered, in order (docs/api.md is rendered from it). */
  list(): ReadonlyArray<Pick<Route, 'method' | 'pattern' | 'bodySchema' | 'rawBody'>> {
    return this.routes.map((r) => ({ method: r.method, pattern: r.pattern, bodySchema: r.bodySchema, rawBody: r.rawBody }));
  }

  match(method: string, path: string): RouteMatch {
    const parts = path.split('/').slice(1);
    const allowed: HttpMethod[] = [];
    let found: { route: Route; params: Record<string, string> } | undefined;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method) {
        // Literal segments beat parameters: /v0/config/check wins over /v0/config/:name.
        if (!found || specificity(route) > specificity(found.route)) found = { route, params };
      } else if (!allowed.includes(route.method)) {
        allowed.push(route.method);
      }
    }
    if (found) return { kind: 'found', ...found };
    if (allowed.length > 0) return { kind: 'method', allowed };
    return { kind: 'none' };
  }
}

function normalisePattern(pattern: string): string {
  return pattern.replace(/\/:[^/]+/g, '/:').replace(/\/\*[^/]*$/, '/*');
}

function specificity(route: Route): number {
  return route.segments.filter((s) => !s.startsWith(':') && !s.startsWith('*')).length;
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i]!;
    if (seg.startsWith('*')) {
      const rest = parts.slice(i);
      if (rest.length === 0 || rest.some((p) => p === '')) return null;
      params[seg.slice(1) || 'rest'] = rest.map(decodeSegment).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return null;
    if (seg.startsWith(':')) {
      if (part === '') return null;
      params[seg.slice(1)] = decodeSegment(part);
    } else if (seg !== part) {
      return null;
    }
  }
  return parts.length === pattern.length ? params : null;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GwError('GW_ERR_API_BAD_PATH', { path: segment, detail: 'malformed percent-encoding' });
  }
}
