import type { Dirent } from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { formatAddress, isValidName } from '../../core/config-address.js';
import { COLLECTIONS, type Collection, type ResourceMeta, type ResourceTypeInfo } from '../../core/config-model.js';
import type { ConfigFileProblem } from '../../core/config-wire.js';
import { describeFsError, readIfExists } from '../storage/atomic-write.js';
import { mapLimit } from '../storage/map-limit.js';
import type { SchemaRegistry } from '../schema-registry.js';
import {
  metaFactOf,
  parseFact,
  versionFactOf,
  type FileFact,
  type MetaFact,
  type VersionFact,
} from './resource-file-facts.js';
import { BACKUP_FILE, META_FILE, PRIMARY_FILE } from './resource-paths.js';
import { indexKey } from './store-state.js';

/**
 * A resource whose files all parsed and validated: what the store keeps of it (no content; the
 * content stays on disk and is handed to the scan's visitor, which keeps what it needs).
 */
export interface ScannedResource {
  collection: Collection;
  type: ResourceTypeInfo;
  name: string | null;
  address: string;
  primarySignature: string;
  backupSignature: string | null;
  /** null when resource.json does not exist yet (a resource added by hand). */
  meta: ResourceMeta | null;
  /**
   * `meta` is exactly what resource.json holds (the schema filled in no default): writing `meta`
   * back would not change the file.
   */
  metaAsOnDisk: boolean;
}

/** The content of a scanned resource's versions, when the source holds it (null for a received snapshot). */
export interface ScannedContent {
  primary: Record<string, unknown> | null;
  backup: Record<string, unknown> | null;
}

const SCAN_CONCURRENCY = 32;

export interface ScanResult<T = never> {
  resources: ScannedResource[];
  problems: ConfigFileProblem[];
  /** indexKey of every resource that has an invalid file: it is not loaded. */
  invalidKeys: Set<string>;
  /** What the visitor returned, in the scan's order (by collection, module, type, name). */
  visited: T[];
}

export interface ScanOptions<T> {
  /** Only these collections (default: all). */
  collections?: readonly Collection[];
  /**
   * The files of the first listed collection as the caller already knows them (a snapshot just
   * received): that collection is scanned from them, without touching the disk, and a file not in
   * them does not exist.
   */
  preloaded?: PreloadedFiles;
  /**
   * Called once for each valid resource with its content, which is dropped afterwards: a scan of
   * 100,000 resources holds the content of only the few being read at a time (32), plus whatever
   * the visitor keeps (the changes of a rescan).
   */
  visit?: (resource: ScannedResource, content: ScannedContent) => readonly T[];
  /**
   * false: `resources` stays empty, the visitor keeps what it needs of each resource (a snapshot's
   * adoption of 100,000 resources builds the store's own entries as it goes, not a list beside them).
   */
  keepResources?: boolean;
}

/** Facts about files known without the disk, by path relative to their collection with `/` (SnapshotContents is one). */
export interface PreloadedFiles {
  /** The path of every file not read yet (version() and meta() hand each file's facts out once). */
  paths(): Iterable<string>;
  /** Whether there is a file at `rel` not read yet. */
  has(rel: string): boolean;
  /** A resource version's facts (content null: not held); undefined when there is no such file. */
  version(rel: string, schemaId: string): FileFact<VersionFact> | undefined;
  /** A resource.json's facts; undefined when there is no such file. */
  meta(rel: string): FileFact<MetaFact> | undefined;
}

/**
 * Read the whole store from disk without changing anything: config/resources/<collection>/<module>/
 * <type>/[<name>/]. A file that does not parse or validate is reported by path and field and its
 * resource is left out; nothing on disk is ever written or removed here.
 */
export async function scanStore<T = never>(
  resourcesDir: string,
  types: ReadonlyMap<string, ResourceTypeInfo>,
  schemas: SchemaRegistry,
  options: ScanOptions<T> = {},
): Promise<ScanResult<T>> {
  const out: ScanResult<T> = { resources: [], problems: [], invalidKeys: new Set(), visited: [] };
  const collections = options.collections ?? COLLECTIONS;
  const visit = options.visit ?? (() => []);
  const keep = options.keepResources ?? true;
  for (const collection of collections) {
    const collDir = path.join(resourcesDir, collection);
    const preloaded = collection === collections[0] ? options.preloaded : undefined;
    const source = preloaded ? memorySource(collDir, preloaded) : diskSource(schemas);
    const { listDirs, exists } = source;
    for (const moduleEntry of await listDirs(collDir)) {
      const moduleDir = path.join(collDir, moduleEntry);
      for (const typeName of await listDirs(moduleDir)) {
        const typeDir = path.join(moduleDir, typeName);
        const type = types.get(typeName);
        if (!type || type.module !== moduleEntry) {
          out.problems.push({
            path: typeDir,
            collection,
            resource: null,
            problems: [{ pointer: '', message: type
              ? `type ${typeName} belongs in module ${type.module}, not ${moduleEntry}`
              : `unknown resource type "${typeName}"; known types: ${[...types.keys()].sort().join(', ')}` }],
          });
          continue;
        }
        if (type.singleton) {
          merge(out, await scanResource(typeDir, collection, type, null, source, visit, keep));
          continue;
        }
        if (await exists(path.join(typeDir, PRIMARY_FILE))) {
          out.problems.push(problem(path.join(typeDir, PRIMARY_FILE), collection, null, '', `${typeName} resources are named: the file belongs in ${typeName}/<name>/`));
        }
        // Resources are read 32 at a time (a full snapshot brings thousands; one at a time the
        // file system round trips dominate), each into its own small result (a type directory may
        // hold 100,000), merged in name order so the outcome does not depend on timing.
        const found = await mapLimit(await listDirs(typeDir), SCAN_CONCURRENCY, async (name): Promise<Found<T>> => {
          if (!isValidName(name)) return { problems: [problem(path.join(typeDir, name), collection, null, '', `"${name}" is not a resource name`)] };
          return scanResource(child(typeDir, name), collection, type, name, source, visit, keep);
        });
        for (const f of found) merge(out, f);
      }
    }
  }
  return out;
}

/** What the scan of one resource directory found: each part only when there is one. */
interface Found<T> {
  resource?: ScannedResource;
  visited?: readonly T[];
  problems?: ConfigFileProblem[];
  invalidKey?: string;
}

function merge<T>(out: ScanResult<T>, found: Found<T>): void {
  if (found.resource) out.resources.push(found.resource);
  if (found.visited) for (const v of found.visited) out.visited.push(v);
  if (found.problems) for (const p of found.problems) out.problems.push(p);
  if (found.invalidKey) out.invalidKeys.add(found.invalidKey);
}

async function scanResource<T>(
  dir: string,
  collection: Collection,
  type: ResourceTypeInfo,
  name: string | null,
  source: ScanSource,
  visit: NonNullable<ScanOptions<T>['visit']>,
  keepResource: boolean,
): Promise<Found<T>> {
  const address = formatAddress(type.type, name);
  const problems: ConfigFileProblem[] = [];
  const noted = <F>(file: string, read: FileFact<F> | undefined): F | null | undefined => {
    if (read === undefined) return undefined;
    if (read.ok) return read.fact;
    problems.push({ path: file, collection, resource: address, problems: read.problems });
    return null;
  };
  const primaryFile = child(dir, PRIMARY_FILE);
  const backupFile = child(dir, BACKUP_FILE);
  const metaFile = child(dir, META_FILE);
  const primary = noted(primaryFile, await source.version(primaryFile, type.schemaId));
  const backup = noted(backupFile, await source.version(backupFile, type.schemaId));
  const meta = noted(metaFile, await source.meta(metaFile));
  if (primary === undefined) {
    // An empty directory is what a delete leaves when the operator keeps other files there.
    if (backup !== undefined || meta !== undefined) {
      problems.push(problem(primaryFile, collection, address, '', 'is missing: a resource needs its Primary version'));
    } else {
      return {};
    }
  }
  if (problems.length > 0 || !primary || backup === null || meta === null) return { problems, invalidKey: indexKey(collection, address) };
  const resource: ScannedResource = {
    collection,
    type,
    name,
    address,
    primarySignature: primary.signature,
    backupSignature: backup?.signature ?? null,
    meta: meta?.meta ?? null,
    metaAsOnDisk: meta?.asOnDisk ?? false,
  };
  const visited = visit(resource, { primary: primary.content, backup: backup?.content ?? null });
  // Results wait in name order until their type directory is done (100,000 of them for one type):
  // only what is kept of each.
  if (!keepResource) return visited.length > 0 ? { visited } : {};
  return visited.length > 0 ? { resource, visited } : { resource };
}

/** Where a scan reads from: the disk, or facts already known. */
interface ScanSource {
  /** Subdirectories, sorted, without dot entries. */
  listDirs(dir: string): Promise<string[]>;
  exists(file: string): Promise<boolean>;
  /** undefined: no such file. */
  version(file: string, schemaId: string): Promise<FileFact<VersionFact> | undefined>;
  meta(file: string): Promise<FileFact<MetaFact> | undefined>;
}

function diskSource(schemas: SchemaRegistry): ScanSource {
  /** The parsed file, or why it cannot be; undefined when it does not exist. */
  const parsed = async (file: string): Promise<FileFact<unknown> | undefined> => {
    let text: string | undefined;
    try {
      text = await readIfExists(file);
    } catch (err) {
      return { ok: false, problems: [{ pointer: '', message: `could not be read (${describeFsError(err)})` }] };
    }
    return text === undefined ? undefined : parseFact(text);
  };
  return {
    listDirs,
    exists,
    version: async (file, schemaId) => {
      const p = await parsed(file);
      return p?.ok ? versionFactOf(p.fact, schemaId, schemas) : p;
    },
    meta: async (file) => {
      const p = await parsed(file);
      return p?.ok ? metaFactOf(p.fact, schemas) : p;
    },
  };
}

/** Known files answer between two turns given to the event loop. */
const YIELD_EVERY = 512;

/** A collection's files as known facts, by path relative to `root` with `/`. */
function memorySource(root: string, preloaded: PreloadedFiles): ScanSource {
  // Only the directories are listed here: the files are asked of `preloaded`, which lets each go
  // once it is read (a set of 300,000 paths beside it lived until the scan's end).
  const children = new Map<string, Set<string>>();
  for (const rel of preloaded.paths()) {
    // Each directory on the way to the file, as a child of the one before it.
    let start = 0;
    for (let slash = rel.indexOf('/'); slash !== -1; slash = rel.indexOf('/', start)) {
      const parent = start === 0 ? '' : rel.slice(0, start - 1);
      let set = children.get(parent);
      if (!set) children.set(parent, (set = new Set()));
      set.add(rel.slice(start, slash));
      start = slash + 1;
    }
  }
  // The scan builds every path with path.join(root, ...): slicing off the root is enough (and
  // path.relative on each of 40,000 lookups cost ~100 ms of a 10,000-resource adoption).
  const prefix = root + path.sep;
  let reads = 0;
  let gate: Promise<void> | null = null;
  const relOf = (p: string): string => {
    const rel = p === root ? '' : p.startsWith(prefix) ? p.slice(prefix.length) : path.relative(root, p);
    return path.sep === '/' ? rel : rel.split(path.sep).join('/');
  };
  const turn = async (): Promise<void> => {
    // Memory answers at once, so a scan of thousands of files would never give the event loop
    // a turn: the swap running beside an adoption's scan (a syncfs, two renames) would wait for
    // its end instead of overlapping it. Every lane of the scan waits at the same gate, or the
    // others would carry on in microtasks.
    if (++reads % YIELD_EVERY === 0) {
      gate = new Promise((resolve) =>
        setImmediate(() => {
          gate = null;
          resolve();
        }),
      );
    }
    if (gate) await gate;
  };
  return {
    version: async (file, schemaId) => {
      await turn();
      return preloaded.version(relOf(file), schemaId);
    },
    meta: async (file) => {
      await turn();
      return preloaded.meta(relOf(file));
    },
    listDirs: async (dir) => [...(children.get(relOf(dir)) ?? [])].filter((n) => !n.startsWith('.')).sort(),
    exists: async (file) => preloaded.has(relOf(file)) || children.has(relOf(file)),
  };
}

/**
 * `dir`/`name` for a normalized `dir` and a single checked name (a listed directory that passed
 * isValidName, or a file name constant): path.join would only normalize again, 40,000 times a
 * 10,000-resource scan.
 */
function child(dir: string, name: string): string {
  return dir + path.sep + name;
}

function problem(file: string, collection: Collection, resource: string | null, pointer: string, message: string): ConfigFileProblem {
  return { path: file, collection, resource, problems: [{ pointer, message }] };
}

async function listDirs(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  // Dot entries are temp files of atomic writes and editor droppings, never resources.
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

async function exists(file: string): Promise<boolean> {
  return fsp.stat(file).then(() => true, () => false);
}
