/**
 * The configuration resource model (DESIGN.md section 5), shared by the store, the sync engine and
 * the API. Pure types and constants: nothing here touches the disk.
 */

/** `core` is shared with the peer; `local` is this node's own and overrides core at the same address. */
export type Collection = 'core' | 'local';
export const COLLECTIONS: readonly Collection[] = ['core', 'local'];

/** Primary is config.json; Backup is backupConfig.json, applied only on a node whose role is Backup. */
export type VersionName = 'primary' | 'backup';
export type VersionQuery = VersionName | 'effective';

/** One entry of the type registry, read from the annotations of schemas/resources/<type>.schema.json. */
export interface ResourceTypeInfo {
  type: string;
  module: string;
  singleton: boolean;
  /** A Backup version of a protected type is stored but never applied. */
  protected: boolean;
  /** The resource must always exist in core (gateway-settings): it cannot be deleted there. */
  required: boolean;
  schemaId: string;
}

export interface LastModification {
  actor: string;
  timestamp: string;
  /** The master's revision of a replicated change (replay, snapshot); absent for changes made here. */
  sourceRevision?: number;
}

/** resource.json */
export interface ResourceMeta {
  uuid: string;
  enabled: boolean;
  lastModification: LastModification;
  /** sha256 (hex) of the canonical JSON of config.json. */
  signature: string;
  /** sha256 of the canonical JSON of backupConfig.json; null when there is no Backup version. */
  backupSignature: string | null;
}

export type JournalOp = 'create' | 'update' | 'delete';

/**
 * One committed change, as appended to var/config-journal.ndjson. It carries everything needed to
 * reproduce the change on another store without reading this one: the full content and the
 * resulting resource.json. Applying an entry twice leaves the same files as applying it once, and an
 * entry at or below a store's revision is skipped, so a replay is exact and idempotent.
 *
 * - op create/update, version primary: write config.json = content, resource.json = meta.
 * - op create/update, version backup: write backupConfig.json = content, resource.json = meta.
 * - op delete, version primary: remove the whole resource (all three files); content, meta null.
 * - op delete, version backup: remove backupConfig.json, write resource.json = meta; content null.
 *
 * `revision` numbers this store's own history (local changes included). A change replicated from
 * the master keeps the master's revision in `sourceRevision`, so a backup that also has local
 * changes never confuses the two sequences.
 */
export interface JournalEntry {
  revision: number;
  op: JournalOp;
  collection: Collection;
  /** `<type>/<name>` or `<type>` for a singleton. */
  address: string;
  module: string;
  type: string;
  name: string | null;
  version: VersionName;
  content: Record<string, unknown> | null;
  /** sha256 of canonicalJson(content); null for a delete. */
  signature: string | null;
  deleted: boolean;
  meta: ResourceMeta | null;
  actor: string;
  timestamp: string;
  /** The master's revision of a replicated change (replay, snapshot); absent for changes made here. */
  sourceRevision?: number;
}
