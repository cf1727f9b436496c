/**
 * The config routes' handlers, driven through the real Router with a fake ConfigService: no daemon,
 * no disk, no socket. What is checked is the routes' own part: which service method a request
 * reaches with what (address, version asked for, collection, actor, content), how the query is
 * read (defaults, refusals), what is answered (JSON or the export stream), and that the service's
 * coded refusals reach the client with their status and code.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { describe, expect, it } from 'vitest';

import { parseAddress, type ResourceAddress } from '../../src/core/config-address.js';
import type { Collection, ResourceTypeInfo, VersionName, VersionQuery } from '../../src/core/config-model.js';
import type { ConfigResourceResponse, ConfigWriteResponse } from '../../src/core/config-wire.js';
import { GwError } from '../../src/core/errors.js';
import { isReply, Router, STREAMED, type HttpMethod } from '../../src/daemon/api/router.js';
import { registerConfigRoutes } from '../../src/daemon/api/routes/config.js';
import type { ConfigExport, ConfigService } from '../../src/daemon/services/config-service.js';

const TYPES = new Map<string, ResourceTypeInfo>([
  ['opc-connection', { type: 'opc-connection', module: 'opc', singleton: false, protected: false, required: false, schemaId: 'gwd:config/opc-connection' }],
  ['gateway-settings', { type: 'gateway-settings', module: 'gateway', singleton: true, protected: true, required: true, schemaId: 'gwd:config/gateway-settings' }],
]);

type Call = [method: string, ...args: unknown[]];

/** Answers like the real service would, records every call, and refuses what it is told to. */
class FakeConfigService implements ConfigService {
  readonly calls: Call[] = [];
  refuse: GwError | null = null;
  exported: ConfigExport = { revision: 7, role: 'Backup', entries: [] };

  address(text: string): ResourceAddress {
    return parseAddress(text, TYPES);
  }
  list() {
    this.calls.push(['list']);
    return { revision: 7, role: 'Independent' as const, resources: [], invalid: [] };
  }
  async get(addr: ResourceAddress, requested: VersionQuery, collection: Collection | null): Promise<ConfigResourceResponse> {
    this.calls.push(['get', addr.address, requested, collection]);
    this.throwIfRefused();
    return {
      resource: addr.address,
      type: addr.type.type,
      name: addr.name,
      collection: collection ?? 'core',
      requested,
      version: requested === 'effective' ? 'backup' : requested,
      content: { endpointUrl: 'opc.tcp://plc1:4840' },
      meta: { primary: null, backup: null } as unknown as ConfigResourceResponse['meta'],
      revision: 7,
    };
  }
  async export(requested: VersionQuery, collection: Collection | null): Promise<ConfigExport> {
    this.calls.push(['export', requested, collection]);
    return this.exported;
  }
  put(addr: ResourceAddress, collection: Collection, version: VersionName, content: Record<string, unknown>, actor: string) {
    return this.write('put', addr, collection, version, actor, content);
  }
  delete(addr: ResourceAddress, collection: Collection, actor: string) {
    return this.write('delete', addr, collection, 'primary', actor);
  }
  addBackup(addr: ResourceAddress, collection: Collection, content: Record<string, unknown> | undefined, actor: string) {
    return this.write('addBackup', addr, collection, 'backup', actor, content);
  }
  removeBackup(addr: ResourceAddress, collection: Collection, actor: string) {
    return this.write('removeBackup', addr, collection, 'backup', actor);
  }
  async check() {
    this.calls.push(['check']);
    return { revision: 7, ok: true, invalid: [], changes: [], resources: 0, settings: [] };
  }
  async archives() {
    this.calls.push(['archives']);
    return { dir: '/var/archive', keep: 5, archives: [] };
  }
  async rescan(actor: string) {
    this.calls.push(['rescan', actor]);
    return { revision: 7, changes: [], invalid: [] };
  }

  private async write(
    method: string,
    addr: ResourceAddress,
    collection: Collection,
    version: VersionName,
    actor: string,
    content?: Record<string, unknown>,
  ): Promise<ConfigWriteResponse> {
    this.calls.push(content === undefined ? [method, addr.address, collection, actor] : [method, addr.address, collection, version, content, actor]);
    this.throwIfRefused();
    return { resource: addr.address, collection, version, op: method === 'delete' ? 'delete' : 'update', changed: true, revision: 8, applies: true, note: null };
  }

  private throwIfRefused(): void {
    if (this.refuse) throw this.refuse;
  }
}

interface Answer {
  status: number;
  body?: unknown;
  /** What a streamed answer wrote, and its headers. */
  text?: string;
  headers?: Record<string, string>;
  code?: string;
}

/** What the API server does with a request, minus the socket: match, call, and turn a refusal into its status and code. */
async function request(
  router: Router,
  method: HttpMethod,
  url: string,
  options: { body?: unknown; actor?: string } = {},
): Promise<Answer> {
  const { pathname, searchParams } = new URL(url, 'http://gwd.local');
  try {
    const match = router.match(method, pathname);
    if (match.kind !== 'found') throw new Error(`no route for ${method} ${pathname}: ${match.kind}`);
    const res = new FakeResponse();
    const raw = { headers: options.actor === undefined ? {} : { 'x-gwd-actor': options.actor } } as unknown as IncomingMessage;
    const result = await match.route.handler({
      method,
      path: pathname,
      params: match.params,
      query: searchParams,
      body: options.body,
      raw,
      res: res as unknown as ServerResponse,
    });
    if (result === STREAMED) {
      expect(res.ended).toBe(true);
      return { status: res.statusCode, text: res.chunks.join(''), headers: res.headers };
    }
    if (isReply(result)) return { status: result.statusCode, body: result.body };
    return { status: 200, body: result };
  } catch (err) {
    if (!(err instanceof GwError)) throw err;
    return { status: err.statusCode, code: err.code, body: err.toBody() };
  }
}

/** The part of a ServerResponse that the streamed answers use. */
class FakeResponse extends EventEmitter {
  statusCode = 0;
  headers: Record<string, string> = {};
  chunks: string[] = [];
  ended = false;
  destroyed = false;
  writeHead(status: number, headers: Record<string, string>): this {
    this.statusCode = status;
    this.headers = headers;
    return this;
  }
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  end(): void {
    this.ended = true;
  }
}

function setup(): { router: Router; config: FakeConfigService } {
  const router = new Router();
  const config = new FakeConfigService();
  registerConfigRoutes(router, config);
  return { router, config };
}

describe('config routes over a fake ConfigService', () => {
  it('list answers what the service lists', async () => {
    const { router, config } = setup();
    const r = await request(router, 'GET', '/v0/config/resources');
    expect(r).toEqual({ status: 200, body: { revision: 7, role: 'Independent', resources: [], invalid: [] } });
    expect(config.calls).toEqual([['list']]);
  });

  it('get: the address after the route (slashes and percent-escapes kept), effective and no collection by default', async () => {
    const { router, config } = setup();
    const r = await request(router, 'GET', '/v0/config/resources/opc-connection/plc%201');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ resource: 'opc-connection/plc 1', requested: 'effective', version: 'backup' });
    expect(config.calls).toEqual([['get', 'opc-connection/plc 1', 'effective', null]]);
  });

  it('get: the version and collection asked for reach the service as they are', async () => {
    const { router, config } = setup();
    await request(router, 'GET', '/v0/config/resources/opc-connection/plc1?version=primary');
    await request(router, 'GET', '/v0/config/resources/opc-connection/plc1?version=backup&collection=local');
    await request(router, 'GET', '/v0/config/resources/gateway-settings?collection=core&version=effective');
    // An empty collection is the default collection, not "none given".
    await request(router, 'GET', '/v0/config/resources/gateway-settings?collection=');
    expect(config.calls).toEqual([
      ['get', 'opc-connection/plc1', 'primary', null],
      ['get', 'opc-connection/plc1', 'backup', 'local'],
      ['get', 'gateway-settings', 'effective', 'core'],
      ['get', 'gateway-settings', 'effective', 'core'],
    ]);
  });

  it('get: a version or collection that is not one is GW_ERR_API_INVALID_QUERY (400), before the service is asked', async () => {
    const { router, config } = setup();
    const version = await request(router, 'GET', '/v0/config/resources/opc-connection/plc1?version=latest');
    expect(version).toMatchObject({ status: 400, code: 'GW_ERR_API_INVALID_QUERY' });
    expect((version.body as { message: string }).message).toContain('"latest" is not one of primary, backup, effective');
    const collection = await request(router, 'GET', '/v0/config/resources/opc-connection/plc1?collection=shared');
    expect(collection).toMatchObject({ status: 400, code: 'GW_ERR_API_INVALID_QUERY' });
    expect(config.calls).toEqual([]);
  });

  it('get: an address the registry refuses is refused with its code; one without the version asked for is 404', async () => {
    const { router, config } = setup();
    expect(await request(router, 'GET', '/v0/config/resources/modbus-connection/x')).toMatchObject({ status: 400, code: 'GW_ERR_CONFIG_UNKNOWN_TYPE' });
    expect(await request(router, 'GET', '/v0/config/resources/gateway-settings/extra')).toMatchObject({ status: 400, code: 'GW_ERR_CONFIG_BAD_ADDRESS' });
    // The address is read first: a bad address with a bad query is refused for the address.
    expect(await request(router, 'GET', '/v0/config/resources/Bad?version=latest')).toMatchObject({ code: 'GW_ERR_CONFIG_BAD_ADDRESS' });
    config.refuse = new GwError('GW_ERR_CONFIG_NOT_FOUND', { resource: 'opc-connection/plc1', what: 'Backup version in core' }, { resource: 'opc-connection/plc1' });
    const missing = await request(router, 'GET', '/v0/config/resources/opc-connection/plc1?version=backup');
    expect(missing).toMatchObject({ status: 404, code: 'GW_ERR_CONFIG_NOT_FOUND' });
    expect(missing.body).toMatchObject({ details: { resource: 'opc-connection/plc1' } });
    expect(config.calls).toEqual([['get', 'opc-connection/plc1', 'backup', null]]);
  });

  it('set: the body (content, version, collection) and the actor header reach the service; its answer is the reply', async () => {
    const { router, config } = setup();
    const m = router.match('PUT', '/v0/config/resources/opc-connection/plc1');
    expect(m.kind === 'found' && m.route.bodySchema).toBe('gwd:api/config-put');
    const content = { endpointUrl: 'opc.tcp://plc1:4840' };
    const r = await request(router, 'PUT', '/v0/config/resources/opc-connection/plc1', {
      body: { content, version: 'primary', collection: 'local' },
      actor: 'ops@host\u0007',
    });
    expect(r).toMatchObject({ status: 200, body: { resource: 'opc-connection/plc1', collection: 'local', version: 'primary', changed: true, revision: 8 } });
    // Control characters are dropped from the actor; without the header it is plain local-api.
    await request(router, 'PUT', '/v0/config/resources/opc-connection/plc1', { body: { content, version: 'backup', collection: 'core' } });
    expect(config.calls).toEqual([
      ['put', 'opc-connection/plc1', 'local', 'primary', content, 'local-api:ops@host'],
      ['put', 'opc-connection/plc1', 'core', 'backup', content, 'local-api'],
    ]);
  });

  it('set on a node that may not write: the service refusal is 409 GW_ERR_CONFIG_READ_ONLY', async () => {
    const { router, config } = setup();
    config.refuse = new GwError('GW_ERR_CONFIG_READ_ONLY', { resource: 'opc-connection/plc1', master: 'master.plant:8060' });
    const r = await request(router, 'PUT', '/v0/config/resources/opc-connection/plc1', {
      body: { content: {}, version: 'primary', collection: 'core' },
    });
    expect(r).toMatchObject({ status: 409, code: 'GW_ERR_CONFIG_READ_ONLY' });
    expect((r.body as { message: string }).message).toContain('master.plant:8060');
  });

  it('delete: core by default, local when asked; a bad collection is refused before the service is asked', async () => {
    const { router, config } = setup();
    expect((await request(router, 'DELETE', '/v0/config/resources/opc-connection/plc1', { actor: 'a@b' })).body).toMatchObject({ op: 'delete', version: 'primary' });
    await request(router, 'DELETE', '/v0/config/resources/opc-connection/plc1?collection=local');
    expect(await request(router, 'DELETE', '/v0/config/resources/opc-connection/plc1?collection=all')).toMatchObject({ status: 400, code: 'GW_ERR_API_INVALID_QUERY' });
    expect(config.calls).toEqual([
      ['delete', 'opc-connection/plc1', 'core', 'local-api:a@b'],
      ['delete', 'opc-connection/plc1', 'local', 'local-api'],
    ]);
  });

  it('backup add and remove: content optional (a copy of the Primary), version backup in the answer', async () => {
    const { router, config } = setup();
    const m = router.match('POST', '/v0/config/backup/opc-connection/plc1');
    expect(m.kind === 'found' && m.route.bodySchema).toBe('gwd:api/config-backup-add');
    const content = { endpointUrl: 'opc.tcp://plc1b:4840' };
    expect((await request(router, 'POST', '/v0/config/backup/opc-connection/plc1', { body: { content, collection: 'core' } })).body).toMatchObject({ version: 'backup' });
    await request(router, 'POST', '/v0/config/backup/opc-connection/plc1', { body: { collection: 'local' } });
    await request(router, 'DELETE', '/v0/config/backup/opc-connection/plc1?collection=local');
    expect(config.calls).toEqual([
      ['addBackup', 'opc-connection/plc1', 'core', 'backup', content, 'local-api'],
      ['addBackup', 'opc-connection/plc1', 'local', 'local-api'],
      ['removeBackup', 'opc-connection/plc1', 'local', 'local-api'],
    ]);
    config.refuse = new GwError('GW_ERR_CONFIG_EXISTS', { resource: 'opc-connection/plc1', what: 'Backup version' });
    expect(await request(router, 'POST', '/v0/config/backup/opc-connection/plc1', { body: { collection: 'core' } })).toMatchObject({ status: 409, code: 'GW_ERR_CONFIG_EXISTS' });
  });

  it('export: NDJSON by default, one entry a line; format=json is one document with the role and what was asked for', async () => {
    const { router, config } = setup();
    const a = { resource: 'opc-connection/plc1', type: 'opc-connection', name: 'plc1', collection: 'core' as const, version: 'backup' as const, content: { n: 1 } };
    const b = { ...a, resource: 'opc-connection/plc2', name: 'plc2', version: 'primary' as const };
    config.exported = { revision: 9, role: 'Backup', entries: [a, b] };
    const ndjson = await request(router, 'GET', '/v0/config/export');
    expect(ndjson.status).toBe(200);
    expect(ndjson.headers?.['Content-Type']).toBe('application/x-ndjson; charset=utf-8');
    expect(ndjson.text!.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([a, b]);
    const json = await request(router, 'GET', '/v0/config/export?format=json&version=backup&collection=core');
    expect(json.headers?.['Content-Type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(json.text!)).toEqual({ revision: 9, role: 'Backup', requested: 'backup', resources: [a, b] });
    config.exported = { revision: 9, role: 'Backup', entries: [] };
    expect(JSON.parse((await request(router, 'GET', '/v0/config/export?format=json')).text!)).toMatchObject({ resources: [] });
    expect(config.calls).toEqual([
      ['export', 'effective', null],
      ['export', 'backup', 'core'],
      ['export', 'effective', null],
    ]);
    expect(await request(router, 'GET', '/v0/config/export?format=xml')).toMatchObject({ status: 400, code: 'GW_ERR_API_INVALID_QUERY' });
  });

  it('check, archives and rescan answer the service; rescan names the actor', async () => {
    const { router, config } = setup();
    expect((await request(router, 'GET', '/v0/config/check')).body).toMatchObject({ ok: true });
    expect((await request(router, 'GET', '/v0/config/archives')).body).toMatchObject({ keep: 5 });
    expect((await request(router, 'POST', '/v0/config/rescan', { actor: 'ops@host' })).body).toMatchObject({ revision: 7 });
    expect(config.calls).toEqual([['check'], ['archives'], ['rescan', 'local-api:ops@host']]);
  });
});
