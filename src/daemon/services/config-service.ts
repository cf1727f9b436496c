import { parseAddress, type ResourceAddress } from '../../core/config-address.js';
import type { Collection, JournalEntry, VersionName, VersionQuery } from '../../core/config-model.js';
import { assertWritable, backupNotAppliedReason } from '../../core/config-resolution.js';
import type {
  ConfigArchivesResponse,
  ConfigCheckResponse,
  ConfigExportEntry,
  ConfigListResponse,
  ConfigRescanResponse,
  ConfigResourceResponse,
  ConfigWriteResponse,
} from '../../core/config-wire.js';
import { GwError } from '../../core/errors.js';
import type { Role } from '../../core/wire.js';
import type { ConfigStore, WriteOutcome } from '../config/config-store.js';
import { exportEntries, lookupVersion, summarise } from '../config/config-views.js';
import { checkSettingsFiles } from '../config/settings-check.js';
import type { DataDir } from '../data-dir.js';
import type { SchemaRegistry } from '../schema-registry.js';
import type { SettingsReader } from '../settings/settings-store.js';
import { archivesDir, listArchives } from '../sync/archives.js';

/** Every resource, taken at one revision, as GET /v0/config/export streams it. */
export interface ConfigExport {
  revision: number;
  role: Role;
  entries: ConfigExportEntry[];
}

/**
 * The configuration store as the local API serves it. Which version applies (the role, Backup
 * versions, local over core) is worked out here, with the role in effect at each call, so a role
 * changed live applies to the next request. Writes are refused on a Backup (rule: change the master).
 */
export interface ConfigService {
  /** `<type>/<name>` or `<type>` against the type registry; coded refusals for what is not one. */
  address(text: string): ResourceAddress;
  list(): ConfigListResponse;
  /** The version asked for; `effective` is what this node applies; no collection: local over core. */
  get(addr: ResourceAddress, requested: VersionQuery, collection: Collection | null): Promise<ConfigResourceResponse>;
  export(requested: VersionQuery, collection: Collection | null): Promise<ConfigExport>;
  put(addr: ResourceAddress, collection: Collection, version: VersionName, content: Record<string, unknown>, actor: string): Promise<ConfigWriteResponse>;
  delete(addr: ResourceAddress, collection: Collection, actor: string): Promise<ConfigWriteResponse>;
  addBackup(addr: ResourceAddress, collection: Collection, content: Record<string, unknown> | undefined, actor: string): Promise<ConfigWriteResponse>;
  removeBackup(addr: ResourceAddress, collection: Collection, actor: string): Promise<ConfigWriteResponse>;
  /** From disk, not from memory: a file broken by hand since the last scan is what a check is for. */
  check(): Promise<ConfigCheckResponse>;
  /** What full syncs replaced on this node (var/archive), oldest first. */
  archives(): Promise<ConfigArchivesResponse>;
  rescan(actor: string): Promise<ConfigRescanResponse>;
}

export interface ConfigServiceDeps {
  store: ConfigStore;
  settings: SettingsReader;
  dataDir: DataDir;
  schemas: SchemaRegistry;
}

export class StoreConfigService implements ConfigService {
  constructor(private readonly deps: ConfigServiceDeps) {}

  private get role(): Role {
    return this.deps.settings.redundancy.role;
  }

  address(text: string): ResourceAddress {
    return parseAddress(text, this.deps.store.types);
  }

  list(): ConfigListResponse {
    const { store } = this.deps;
    return { revision: store.revision, role: this.role, resources: summarise(store, this.role), invalid: store.problems };
  }

  async get(addr: ResourceAddress, requested: VersionQuery, collection: Collection | null): Promise<ConfigResourceResponse> {
    const { store } = this.deps;
    const lookup = lookupVersion(store, this.role, addr.address, requested, collection);
    if (lookup.found === null) throw new GwError('GW_ERR_CONFIG_NOT_FOUND', { resource: addr.address, what: lookup.missing }, { resource: addr.address });
    const found = lookup.found;
    const content = await store.read(found.resource, found.version);
    return {
      resource: addr.address,
      type: addr.type.type,
      name: addr.name,
      collection: found.resource.collection,
      requested,
      version: found.version,
      content,
      meta: found.resource.meta,
      revision: store.revision,
    };
  }

  async export(requested: VersionQuery, collection: Collection | null): Promise<ConfigExport> {
    const role = this.role;
    const { revision, entries } = await exportEntries(this.deps.store, role, requested, collection);
    return { revision, role, entries };
  }

  async put(addr: ResourceAddress, collection: Collection, version: VersionName, content: Record<string, unknown>, actor: string): Promise<ConfigWriteResponse> {
    this.assertWritable(addr, collection);
    return this.written(addr, collection, version, await this.deps.store.put(addr, collection, version, content, actor));
  }

  async delete(addr: ResourceAddress, collection: Collection, actor: string): Promise<ConfigWriteResponse> {
    this.assertWritable(addr, collection);
    return this.written(addr, collection, 'primary', await this.deps.store.delete(addr, collection, actor));
  }

  async addBackup(addr: ResourceAddress, collection: Collection, content: Record<string, unknown> | undefined, actor: string): Promise<ConfigWriteResponse> {
    this.assertWritable(addr, collection);
    return this.written(addr, collection, 'backup', await this.deps.store.addBackup(addr, collection, content, actor));
  }

  async removeBackup(addr: ResourceAddress, collection: Collection, actor: string): Promise<ConfigWriteResponse> {
    this.assertWritable(addr, collection);
    return this.written(addr, collection, 'backup', await this.deps.store.removeBackup(addr, collection, actor));
  }

  async check(): Promise<ConfigCheckResponse> {
    const { store, dataDir, schemas } = this.deps;
    const preview = await store.previewRescan();
    const settings = await checkSettingsFiles(dataDir, schemas);
    const invalid = [...preview.problems, ...settings.problems];
    return {
      revision: store.revision,
      ok: invalid.length === 0,
      invalid,
      changes: preview.changes.map((c) => ({ op: c.op, collection: c.collection, resource: c.address, version: c.version })),
      resources: preview.resources,
      settings: settings.settings,
    };
  }

  async archives(): Promise<ConfigArchivesResponse> {
    const { varDir } = this.deps.dataDir;
    return { dir: archivesDir(varDir), keep: this.deps.settings.redundancy.syncArchiveKeep, archives: await listArchives(varDir) };
  }

  async rescan(actor: string): Promise<ConfigRescanResponse> {
    const { store } = this.deps;
    const entries = await store.rescan(`rescan:${actor}`);
    return {
      revision: store.revision,
      changes: entries.map((e: JournalEntry) => ({
        revision: e.revision,
        op: e.op,
        collection: e.collection,
        resource: e.address,
        version: e.version,
        actor: e.actor,
      })),
      invalid: store.problems,
    };
  }

  private assertWritable(addr: ResourceAddress, collection: Collection): void {
    const { role, master } = this.deps.settings.redundancy;
    assertWritable(collection, role, master.host ? `${master.host}:${master.port}` : '(no master address configured)', addr.address);
  }

  private written(addr: ResourceAddress, collection: Collection, version: VersionName, outcome: WriteOutcome): ConfigWriteResponse {
    const note = version === 'backup' && outcome.op !== 'delete' ? backupNotAppliedReason(addr.type.type, addr.type.protected) : null;
    return {
      resource: addr.address,
      collection,
      version,
      op: outcome.op,
      changed: outcome.entry !== null,
      revision: this.deps.store.revision,
      applies: note === null,
      note,
    };
  }
}
