import { parseAddress, type ResourceAddress } from '../../../core/config-address.js';
import type { Collection, JournalEntry, VersionName, VersionQuery } from '../../../core/config-model.js';
import { assertWritable, backupNotAppliedReason } from '../../../core/config-resolution.js';
import type {
  ConfigArchivesResponse,
  ConfigCheckResponse,
  ConfigExportDocument,
  ConfigExportEntry,
  ConfigExportFormat,
  ConfigListResponse,
  ConfigRescanResponse,
  ConfigResourceResponse,
  ConfigWriteResponse,
} from '../../../core/config-wire.js';
import { GwError } from '../../../core/errors.js';
import type { WriteOutcome } from '../../config/config-store.js';
import { exportEntries, lookupVersion, summarise } from '../../config/config-views.js';
import { checkSettingsFiles } from '../../config/settings-check.js';
import { archivesDir, listArchives } from '../../sync/archives.js';
import type { Daemon } from '../../daemon.js';
import { STREAMED, type ApiRequest, type Router } from '../router.js';
import { enumParam } from '../query-params.js';
import { writeStreamed } from '../streaming.js';

/**
 * The configuration store over the local API. Addresses are the path after the route
 * (`opc-connection/plc1`, `gateway-settings`). The role is read from d.redundancy at each request,
 * so a role changed live applies to the next request.
 */
export function registerConfigRoutes(router: Router, d: Daemon): void {
  router.get('/v0/config/resources', (): ConfigListResponse => ({
    revision: d.config.revision,
    role: d.redundancy.role,
    resources: summarise(d.config, d.redundancy.role),
    invalid: d.config.problems,
  }));

  router.get('/v0/config/resources/*address', (req): ConfigResourceResponse => {
    const addr = address(d, req);
    const requested = enumParam<VersionQuery>(req.query, 'version', ['primary', 'backup', 'effective'], 'effective');
    const wanted = req.query.get('collection');
    const collection: Collection | null = wanted === null ? null : enumParam<Collection>(req.query, 'collection', ['core', 'local'], 'core');
    const lookup = lookupVersion(d.config, d.redundancy.role, addr.address, requested, collection);
    if (lookup.found === null) throw notFound(addr.address, lookup.missing);
    const found = lookup.found;
    return {
      resource: addr.address,
      type: addr.type.type,
      name: addr.name,
      collection: found.resource.collection,
      requested,
      version: found.version,
      content: found.content,
      meta: found.resource.meta,
      revision: d.config.revision,
    };
  });

  // Every resource in one answer, streamed (ConfigExportEntry a line, or one ConfigExportDocument
  // with format=json): each entry is what GET /v0/config/resources/<address> answers for that
  // version; an address it answers 404 for (no Backup version) is left out. One revision throughout.
  router.get('/v0/config/export', async (req) => {
    const requested = enumParam<VersionQuery>(req.query, 'version', ['primary', 'backup', 'effective'], 'effective');
    const collection = enumParam<Collection>(req.query, 'collection', ['core', 'local']) ?? null;
    const format = enumParam<ConfigExportFormat>(req.query, 'format', ['ndjson', 'json'], 'ndjson');
    const role = d.redundancy.role;
    const revision = d.config.revision;
    const entries = exportEntries(d.config, role, requested, collection);
    req.res.writeHead(200, {
      'Content-Type': format === 'json' ? 'application/json; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'Cache-Control': 'no-store',
    });
    await writeStreamed(req.res, format === 'json' ? exportDocument(revision, role, requested, entries) : exportLines(entries));
    return STREAMED;
  });

  router.put(
    '/v0/config/resources/*address',
    async (req) => {
      const body = req.body as { content: Record<string, unknown>; version: VersionName; collection: Collection };
      const addr = writableAddress(d, req, body.collection);
      const outcome = await d.config.put(addr, body.collection, body.version, body.content, actor(req));
      return writeResponse(d, addr, body.collection, body.version, outcome);
    },
    { bodySchema: 'gwd:api/config-put' },
  );

  router.delete('/v0/config/resources/*address', async (req) => {
    const collection = enumParam<Collection>(req.query, 'collection', ['core', 'local'], 'core');
    const addr = writableAddress(d, req, collection);
    return writeResponse(d, addr, collection, 'primary', await d.config.delete(addr, collection, actor(req)));
  });

  router.post(
    '/v0/config/backup/*address',
    async (req) => {
      const body = req.body as { content?: Record<string, unknown>; collection: Collection };
      const addr = writableAddress(d, req, body.collection);
      const outcome = await d.config.addBackup(addr, body.collection, body.content, actor(req));
      return writeResponse(d, addr, body.collection, 'backup', outcome);
    },
    { bodySchema: 'gwd:api/config-backup-add' },
  );

  router.delete('/v0/config/backup/*address', async (req) => {
    const collection = enumParam<Collection>(req.query, 'collection', ['core', 'local'], 'core');
    const addr = writableAddress(d, req, collection);
    return writeResponse(d, addr, collection, 'backup', await d.config.removeBackup(addr, collection, actor(req)));
  });

  // From disk, not from memory: a file broken by hand since the last scan is what a check is for.
  router.get('/v0/config/check', async (): Promise<ConfigCheckResponse> => {
    const store = await d.config.previewRescan();
    const settings = await checkSettingsFiles(d.dataDir, d.schemas);
    const invalid = [...store.problems, ...settings.problems];
    return {
      revision: d.config.revision,
      ok: invalid.length === 0,
      invalid,
      changes: store.changes.map((c) => ({ op: c.op, collection: c.collection, resource: c.address, version: c.version })),
      resources: store.resources,
      settings: settings.settings,
    };
  });

  // What full syncs replaced on this node (var/archive), oldest first, read from disk at each request.
  router.get('/v0/config/archives', async (): Promise<ConfigArchivesResponse> => ({
    dir: archivesDir(d.dataDir.varDir),
    keep: d.redundancy.syncArchiveKeep,
    archives: await listArchives(d.dataDir.varDir),
  }));

  router.post('/v0/config/rescan', async (req): Promise<ConfigRescanResponse> => {
    const entries = await d.config.rescan(`rescan:${actor(req)}`);
    return {
      revision: d.config.revision,
      changes: entries.map((e: JournalEntry) => ({
        revision: e.revision,
        op: e.op,
        collection: e.collection,
        resource: e.address,
        version: e.version,
        actor: e.actor,
      })),
      invalid: d.config.problems,
    };
  });
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

function address(d: Daemon, req: ApiRequest): ResourceAddress {
  return parseAddress(req.params.address ?? '', d.config.types);
}

function writableAddress(d: Daemon, req: ApiRequest, collection: Collection): ResourceAddress {
  const addr = address(d, req);
  const { host, port } = d.redundancy.master;
  assertWritable(collection, d.redundancy.role, host ? `${host}:${port}` : '(no master address configured)', addr.address);
  return addr;
}

function writeResponse(
  d: Daemon,
  addr: ResourceAddress,
  collection: Collection,
  version: VersionName,
  outcome: WriteOutcome,
): ConfigWriteResponse {
  const note = version === 'backup' && outcome.op !== 'delete' ? backupNotAppliedReason(addr.type.type, addr.type.protected) : null;
  return {
    resource: addr.address,
    collection,
    version,
    op: outcome.op,
    changed: outcome.entry !== null,
    revision: d.config.revision,
    applies: note === null,
    note,
  };
}

/** Who made the change, for resource.json and the journal: gwctl sends `user@host`. */
function actor(req: ApiRequest): string {
  const raw = req.raw.headers['x-gwd-actor'];
  const value = typeof raw === 'string' ? raw.replace(/[^\x20-\x7e]/g, '').trim().slice(0, 128) : '';
  return value ? `local-api:${value}` : 'local-api';
}

function notFound(resource: string, what: string): GwError {
  return new GwError('GW_ERR_CONFIG_NOT_FOUND', { resource, what }, { resource });
}
