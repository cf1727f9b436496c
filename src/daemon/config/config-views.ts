import { COLLECTIONS, type Collection, type VersionName } from '../../core/config-model.js';
import { backupNotAppliedReason, resolveEffective } from '../../core/config-resolution.js';
import type { ConfigResourceSummary } from '../../core/config-wire.js';
import type { Role } from '../../core/wire.js';
import type { ConfigStore, StoredResource } from './config-store.js';

export interface EffectiveVersion {
  resource: StoredResource;
  collection: Collection;
  version: VersionName;
  content: Record<string, unknown>;
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
    core: core ? { hasBackup: core.backup !== null } : null,
    local: local ? { hasBackup: local.backup !== null } : null,
  });
  if (!r) return null;
  const resource = (r.collection === 'local' ? local : core)!;
  const content = r.version === 'backup' ? resource.backup! : resource.primary;
  return { resource, collection: r.collection, version: r.version, content };
}

/** One row per address: what exists, whether there is a Backup version, and what applies here. */
export function summarise(store: ConfigStore, role: Role): ConfigResourceSummary[] {
  const addresses = [...new Set(store.list().map((r) => r.address))].sort();
  const out: ConfigResourceSummary[] = [];
  for (const address of addresses) {
    const eff = effectiveVersion(store, role, address)!;
    const r = eff.resource;
    const hasBackup = r.backup !== null;
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
