import { COLLECTIONS, type Collection, type VersionName, type VersionQuery } from '../../core/config-model.js';
import { backupNotAppliedReason, resolveEffective } from '../../core/config-resolution.js';
import type { ConfigExportEntry, ConfigResourceSummary } from '../../core/config-wire.js';
import type { Role } from '../../core/wire.js';
import type { ConfigStore, StoredResource } from './config-store.js';

/** A version of a loaded resource; its content is read with ConfigStore.read(). */
export interface EffectiveVersion {
  resource: StoredResource;
  collection: Collection;
  version: VersionName;
}

/** The version of `address` this node applies, given its role (see core/config-resolution.ts). */
export function effectiveVersion(store: ConfigStore, role: Role, address: string): EffectiveVersion | null {
  const core = store.get('core', address);
  const local = store.get('local', address);
  const type = (local ?? core)?.type;
  if (!type) return null;
  const r = resolveEffective({
    role,
    protectedType: type.protected,
    core: core ? { hasBackup: core.hasBackup } : null,
    local: local ? { hasBackup: local.hasBackup } : null,
  });
  if (!r) return null;
  const resource = (r.collection === 'local' ? local : core)!;
  return { resource, collection: r.collection, version: r.version };
}

/** What `config get` answers for one address: the version found, or what is missing (for the error). */
export type VersionLookup = { found: EffectiveVersion } | { found: null; missing: string };

/**
 * The version of `address` asked for, as GET /v0/config/resources/<address> and GET /v0/config/export
 * answer it. Without a collection, local over core; `effective` is the version this node applies
 * (within the collection given, if one is).
 */
export function lookupVersion(
  store: ConfigStore,
  role: Role,
  address: string,
  requested: VersionQuery,
  collection: Collection | null,
): VersionLookup {
  if (requested === 'effective' && collection === null) {
    const eff = effectiveVersion(store, role, address);
    return eff ? { found: eff } : { found: null, missing: 'Primary version' };
  }
  const resource = collection ? store.get(collection, address) : (store.get('local', address) ?? store.get('core', address));
  if (!resource) return { found: null, missing: `Primary version${collection ? ` in ${collection}` : ''}` };
  const version: VersionName =
    requested === 'effective'
      ? (resolveEffective({
          role,
          protectedType: resource.type.protected,
          core: { hasBackup: resource.hasBackup },
          local: null,
        })?.version ?? 'primary')
      : requested;
  if (version === 'backup' && !resource.hasBackup) return { found: null, missing: `Backup version in ${resource.collection}` };
  return { found: { resource, collection: resource.collection, version } };
}

/** Every address of the store, in config list order. */
export function addresses(store: ConfigStore): string[] {
  return [...new Set(store.list().map((r) => r.address))].sort();
}

/**
 * GET /v0/config/export: for every address, what lookupVersion finds (an address where it finds
 * nothing, such as one without a Backup version for `backup`, is left out). Read under the store's
 * lock, so the export is the store at one revision however slowly it is then written. A file
 * changed by hand since it was loaded fails the export (GW_ERR_CONFIG_FILE_CHANGED) instead of
 * leaving the resource out unseen.
 */
export function exportEntries(store: ConfigStore, role: Role, requested: VersionQuery, collection: Collection | null): Promise<{ revision: number; entries: ConfigExportEntry[] }> {
  return store.locked(async (read) => {
    const entries: ConfigExportEntry[] = [];
    for (const address of addresses(store)) {
      const { found } = lookupVersion(store, role, address, requested, collection);
      if (!found) continue;
      const r = found.resource;
      entries.push({ resource: address, type: r.type.type, name: r.name, collection: found.collection, version: found.version, content: await read(r, found.version) });
    }
    return { revision: store.revision, entries };
  });
}

/** One row per address: what exists, whether there is a Backup version, and what applies here. */
export function summarise(store: ConfigStore, role: Role): ConfigResourceSummary[] {
  const out: ConfigResourceSummary[] = [];
  for (const address of addresses(store)) {
    const eff = effectiveVersion(store, role, address)!;
    const r = eff.resource;
    const hasBackup = r.hasBackup;
    out.push({
      resource: address,
      type: r.type.type,
      name: r.name,
      module: r.type.module,
      protected: r.type.protected,
      collection: eff.collection,
      collections: COLLECTIONS.filter((c) => store.get(c, address) !== undefined),
      hasBackup,
      effective: eff.version,
      backupApplies: hasBackup && backupNotAppliedReason(r.type.type, r.type.protected) === null,
      enabled: r.meta.enabled,
      lastModification: r.meta.lastModification,
      invalid: COLLECTIONS.some((c) => store.problemsOf(c, address).length > 0),
    });
  }
  return out;
}
