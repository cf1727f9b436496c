import { parseAddress, type ResourceAddress } from '../../../core/config-address.js';
import type { Collection, JournalEntry, VersionName, VersionQuery } from '../../../core/config-model.js';
import { assertWritable, backupNotAppliedReason, resolveEffective } from '../../../core/config-resolution.js';
import type {
  ConfigArchivesResponse,
  ConfigCheckResponse,
  ConfigListResponse,
  ConfigRescanResponse,
  ConfigResourceResponse,
  ConfigWriteResponse,
} from '../../../core/config-wire.js';
import { GwError } from '../../../core/errors.js';
import type { WriteOutcome } from '../../config/config-store.js';
import { effectiveVersion, summarise } from '../../config/config-views.js';
import { checkSettingsFiles } from '../../config/settings-check.js';
import { archivesDir, listArchives } from '../../sync/archives.js';
import type { Daemon } from '../../daemon.js';
import type { ApiRequest, Router } from '../router.js';
import { enumParam } from '../query-params.js';

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
    let found;
    if (requested === 'effective' && collection === null) {
      const eff = effectiveVersion(d.config, d.redundancy.role, addr.address);
      if (!eff) throw notFound(addr.address, 'Primary version');
      found = { resource: eff.resource, version: eff.version, content: eff.content };
    } else {
      const resource = collection
        ? d.config.get(collection, addr.address)
        : (d.config.get('local', addr.address) ?? d.config.get('core', addr.address));
      if (!resource) throw notFound(addr.address, `Primary version${collection ? ` in ${collection}` : ''}`);
      const version: VersionName =
        requested === 'effective'
          ? (resolveEffective({
              role: d.redundancy.role,
              protectedType: resource.type.protected,
              core: { hasBackup: resource.backup !== null },
              local: null,
            })?.version ?? 'primary')
          : requested;
      const content = version === 'backup' ? resource.backup : resource.primary;
      if (!content) throw notFound(addr.address, `Backup version in ${resource.collection}`);
      found = { resource, version, content };
    }
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
