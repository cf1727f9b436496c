/**
 * Wire types of the configuration routes (`/v0/config/...`), shared by the daemon, the client,
 * gwctl and tests. Add fields, never rename them.
 */
import type { Collection, JournalOp, LastModification, ResourceMeta, VersionName, VersionQuery } from './config-model.js';
import type { FieldProblem } from './schema-errors.js';
import type { Role } from './roles.js';

/** A file of the store that failed to parse or validate: it is not loaded and left untouched. */
export interface ConfigFileProblem {
  /** Absolute path of the file (or directory, for an unknown type). */
  path: string;
  collection: Collection | null;
  /** Address of the resource the file belongs to, when it can be told. */
  resource: string | null;
  problems: FieldProblem[];
}

export interface ConfigResourceSummary {
  resource: string;
  type: string;
  name: string | null;
  module: string;
  protected: boolean;
  /** The collection whose resource is in effect (local when it overrides core). */
  collection: Collection;
  /** Collections holding a resource at this address. */
  collections: Collection[];
  hasBackup: boolean;
  /** The version this node applies, given its role. */
  effective: VersionName;
  /** False when a Backup version exists but can never be applied (protected type). */
  backupApplies: boolean;
  enabled: boolean;
  lastModification: LastModification;
  /** A file of this resource on disk is invalid; the version shown is the last good one loaded. */
  invalid: boolean;
}

export interface ConfigListResponse {
  revision: number;
  role: Role;
  resources: ConfigResourceSummary[];
  invalid: ConfigFileProblem[];
}

export interface ConfigResourceResponse {
  resource: string;
  type: string;
  name: string | null;
  collection: Collection;
  /** What was asked for. */
  requested: VersionQuery;
  /** What is answered: for `effective`, the version this node applies. */
  version: VersionName;
  content: Record<string, unknown>;
  meta: ResourceMeta;
  revision: number;
}

/**
 * One resource of GET /v0/config/export: a line of the NDJSON form, an element of `resources` in the
 * JSON form. The fields are those of ConfigResourceResponse (`gwctl --json config get`) that differ
 * from one resource to the next: an entry is what config get answers for that resource and version.
 */
export interface ConfigExportEntry {
  resource: string;
  type: string;
  name: string | null;
  collection: Collection;
  /** The version this content is: for `effective`, the one this node applies. */
  version: VersionName;
  content: Record<string, unknown>;
}

/** `ndjson`: one ConfigExportEntry a line; `json`: one ConfigExportDocument. */
export type ConfigExportFormat = 'ndjson' | 'json';

/**
 * GET /v0/config/export?format=json: the store at one revision, written one resource a line. The
 * NDJSON form (the default) is `resources` alone, one entry a line, without this envelope.
 */
export interface ConfigExportDocument {
  revision: number;
  /** The role the `effective` versions were resolved for. */
  role: Role;
  /** What was asked for (`version=`), as in ConfigResourceResponse. */
  requested: VersionQuery;
  /** In config list order (by address); for `backup`, only the resources that have a Backup version. */
  resources: ConfigExportEntry[];
}

export interface ConfigWriteResponse {
  resource: string;
  collection: Collection;
  version: VersionName;
  op: JournalOp;
  /** False when the content was already exactly this: nothing was written, the revision is unchanged. */
  changed: boolean;
  revision: number;
  /** False when this version can never be applied (a Backup version of a protected type). */
  applies: boolean;
  /** Why it does not apply, for people. */
  note: string | null;
}

export interface ConfigChange {
  revision: number;
  op: JournalOp;
  collection: Collection;
  resource: string;
  version: VersionName;
  actor: string;
}

/**
 * GET /v0/config/check: the store and the settings files as they are on disk now (what a rescan or
 * the next start would find), read without changing anything.
 */
export interface ConfigCheckResponse {
  revision: number;
  /** No file is bad: every resource file and settings file parses and validates. */
  ok: boolean;
  /** Every bad file: resource files (with collection and resource) and settings files (both null). */
  invalid: ConfigFileProblem[];
  /** What a rescan would journal now, in order (resources with a bad file produce nothing). */
  changes: ConfigPendingChange[];
  /** Resources on disk whose files are all valid. */
  resources: number;
  /** The settings files read, each with its state. */
  settings: SettingsFileCheck[];
}

/** A change a rescan would journal: a ConfigChange without the revision and actor it would get. */
export type ConfigPendingChange = Omit<ConfigChange, 'revision' | 'actor'>;

export interface SettingsFileCheck {
  /** Relative to the data directory: `node.json`, `redundancy.json`, `pki/gwd.crt`, `pki/trust`, ... */
  file: string;
  path: string;
  /** `missing`: the next start creates it with defaults. */
  state: 'ok' | 'missing' | 'invalid';
}

export interface ConfigRescanResponse {
  revision: number;
  /** Changes found on disk and journaled, in revision order. */
  changes: ConfigChange[];
  invalid: ConfigFileProblem[];
}

/** `config` in GET /v0/status. */
export interface ConfigStatusSummary {
  revision: number;
  invalid: ConfigFileProblem[];
}

/**
 * Why a full sync archived the backup's previous core (var/archive/<time>/archive.json):
 * `first-sync` the backup held none of this master's configuration (pairing, a new master, a crash
 * during an earlier snapshot); `resync-requested` `gwctl redundancy resync` on the backup;
 * `resync-by-master` a snapshot the master pushed unasked (resync on the master); `journal-behind`
 * the master's journal no longer reached the backup's revision; `sync-broken` an incremental sync
 * failed (a gap, a refused entry); `unknown` no readable record (an archive made before records
 * were kept, or by hand).
 */
export type ConfigArchiveReason = 'first-sync' | 'resync-requested' | 'resync-by-master' | 'journal-behind' | 'sync-broken' | 'unknown';

/** One folder of var/archive/. */
export interface ConfigArchive {
  /** The folder's name (the time it was made, with `:` and `.` as `-`). */
  name: string;
  path: string;
  /** When it was made (ISO 8601), from its name; null for a name that is not a time. */
  time: string | null;
  reason: ConfigArchiveReason;
  /** The master's revision the snapshot that replaced this configuration was taken at, when recorded. */
  sourceRevision: number | null;
  /** UUID of the master the snapshot came from, when recorded. */
  peer: string | null;
  /** Regular files in it (the previous core and the journal that led to it), and their bytes. */
  files: number;
  bytes: number;
}

/** GET /v0/config/archives: oldest first. */
export interface ConfigArchivesResponse {
  /** var/archive of this node. */
  dir: string;
  /** syncArchiveKeep: the newest this many are kept after each new archive (0: all). */
  keep: number;
  archives: ConfigArchive[];
}
