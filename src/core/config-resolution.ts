import { GwError } from './errors.js';
import type { Collection, VersionName } from './config-model.js';
import type { Role } from './wire.js';

/** What exists at one address, per collection (null: no resource there). */
export interface ResolutionInput {
  role: Role;
  protectedType: boolean;
  core: { hasBackup: boolean } | null;
  local: { hasBackup: boolean } | null;
}

export interface Resolution {
  collection: Collection;
  version: VersionName;
}

/**
 * The effective configuration of one address on this node (DESIGN.md section 5). A local resource
 * replaces the core one as a whole: a node-only setting must not be half-merged with the shared one.
 * Within the chosen collection, a node whose role is Backup uses the Backup version when there is
 * one and the type is not protected; every other node, and every protected type, uses Primary.
 * The role is configuration, not activity: a Backup that has taken over still uses its Backup versions.
 */
export function resolveEffective(input: ResolutionInput): Resolution | null {
  const collection: Collection | null = input.local ? 'local' : input.core ? 'core' : null;
  if (collection === null) return null;
  const present = collection === 'local' ? input.local! : input.core!;
  const useBackup = input.role === 'Backup' && present.hasBackup && !input.protectedType;
  return { collection, version: useBackup ? 'backup' : 'primary' };
}

/** Why a Backup version will not be applied, or null when it would be on a Backup node. */
export function backupNotAppliedReason(type: string, protectedType: boolean): string | null {
  return protectedType
    ? `${type} is a protected type: its Backup version is stored but never applied, on any node`
    : null;
}

/**
 * Shared configuration is edited only on a Master or an Independent node: on a Backup it comes from
 * the master and an edit here would be overwritten by the next sync. Local resources are this node's
 * own and may be edited everywhere.
 */
export function assertWritable(collection: Collection, role: Role, masterAddress: string, resource: string): void {
  if (collection === 'core' && role === 'Backup') {
    throw new GwError('GW_ERR_CONFIG_READ_ONLY', { resource, master: masterAddress });
  }
}
