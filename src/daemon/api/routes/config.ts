import type { Collection, VersionName, VersionQuery } from '../../../core/config-model.js';
import type { ConfigExportDocument, ConfigExportEntry, ConfigExportFormat } from '../../../core/config-wire.js';
import type { ConfigService } from '../../services/config-service.js';
import { STREAMED, type ApiRequest, type Router } from '../router.js';
import { enumParam } from '../query-params.js';
import { writeStreamed } from '../streaming.js';

/**
 * The configuration store over the local API. Addresses are the path after the route
 * (`opc-connection/plc1`, `gateway-settings`). Here: the query, the body, the actor and the stream;
 * which version applies, and whether this node may write, is the service's.
 */
export function registerConfigRoutes(router: Router, config: ConfigService): void {
  router.get('/v0/config/resources', () => config.list());

  router.get('/v0/config/resources/*address', (req) => {
    const addr = config.address(req.params.address ?? '');
    const requested = enumParam<VersionQuery>(req.query, 'version', ['primary', 'backup', 'effective'], 'effective');
    const wanted = req.query.get('collection');
    const collection: Collection | null = wanted === null ? null : enumParam<Collection>(req.query, 'collection', ['core', 'local'], 'core');
    return config.get(addr, requested, collection);
  });

  // Every resource in one answer, streamed (ConfigExportEntry a line, or one ConfigExportDocument
  // with format=json): each entry is what GET /v0/config/resources/<address> answers for that
  // version; an address it answers 404 for (no Backup version) is left out. One revision throughout.
  router.get('/v0/config/export', async (req) => {
    const requested = enumParam<VersionQuery>(req.query, 'version', ['primary', 'backup', 'effective'], 'effective');
    const collection = enumParam<Collection>(req.query, 'collection', ['core', 'local']) ?? null;
    const format = enumParam<ConfigExportFormat>(req.query, 'format', ['ndjson', 'json'], 'ndjson');
    const { revision, role, entries } = await config.export(requested, collection);
    req.res.writeHead(200, {
      'Content-Type': format === 'json' ? 'application/json; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'Cache-Control': 'no-store',
    });
    await writeStreamed(req.res, format === 'json' ? exportDocument(revision, role, requested, entries) : exportLines(entries));
    return STREAMED;
  });

  router.put(
    '/v0/config/resources/*address',
    (req) => {
      const body = req.body as { content: Record<string, unknown>; version: VersionName; collection: Collection };
      return config.put(config.address(req.params.address ?? ''), body.collection, body.version, body.content, actor(req));
    },
    { bodySchema: 'gwd:api/config-put' },
  );

  router.delete('/v0/config/resources/*address', (req) => {
    const collection = enumParam<Collection>(req.query, 'collection', ['core', 'local'], 'core');
    return config.delete(config.address(req.params.address ?? ''), collection, actor(req));
  });

  router.post(
    '/v0/config/backup/*address',
    (req) => {
      const body = req.body as { content?: Record<string, unknown>; collection: Collection };
      return config.addBackup(config.address(req.params.address ?? ''), body.collection, body.content, actor(req));
    },
    { bodySchema: 'gwd:api/config-backup-add' },
  );

  router.delete('/v0/config/backup/*address', (req) => {
    const collection = enumParam<Collection>(req.query, 'collection', ['core', 'local'], 'core');
    return config.removeBackup(config.address(req.params.address ?? ''), collection, actor(req));
  });

  router.get('/v0/config/check', () => config.check());
  router.get('/v0/config/archives', () => config.archives());
  router.post('/v0/config/rescan', (req) => config.rescan(actor(req)));
}

function* exportLines(entries: readonly ConfigExportEntry[]): Generator<string> {
  for (const e of entries) yield `${JSON.stringify(e)}\n`;
}

/** A ConfigExportDocument, one resource a line: valid JSON, and a diff of two exports reads per resource. */
function* exportDocument(
  revision: number,
  role: ConfigExportDocument['role'],
  requested: VersionQuery,
  entries: readonly ConfigExportEntry[],
): Generator<string> {
  const head: Omit<ConfigExportDocument, 'resources'> = { revision, role, requested };
  yield `${JSON.stringify(head).slice(0, -1)},"resources":[`;
  let first = true;
  for (const e of entries) {
    yield `${first ? '\n' : ',\n'}${JSON.stringify(e)}`;
    first = false;
  }
  yield '\n]}\n';
}

/** Who made the change, for resource.json and the journal: gwctl sends `user@host`. */
function actor(req: ApiRequest): string {
  const raw = req.raw.headers['x-gwd-actor'];
  const value = typeof raw === 'string' ? raw.replace(/[^\x20-\x7e]/g, '').trim().slice(0, 128) : '';
  return value ? `local-api:${value}` : 'local-api';
}
