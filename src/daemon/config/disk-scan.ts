import type { Dirent } from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { formatAddress, isValidName } from '../../core/config-address.js';
import { COLLECTIONS, type Collection, type ResourceMeta, type ResourceTypeInfo } from '../../core/config-model.js';
import type { ConfigFileProblem } from '../../core/config-wire.js';
import { describeFsError, readIfExists } from '../storage/atomic-write.js';
import { mapLimit } from '../storage/map-limit.js';
import type { SchemaRegistry, ValidationResult } from '../schema-registry.js';
import { BACKUP_FILE, META_FILE, PRIMARY_FILE } from './resource-paths.js';
import { indexKey } from './store-state.js';

/** A resource whose files all parsed and validated, with its content exactly as on disk. */
export interface ScannedResource {
  collection: Collection;
  type: ResourceTypeInfo;
  name: string | null;
  address: string;
  primary: Record<string, unknown>;
  backup: Record<string, unknown> | null;
  /** null when resource.json does not exist yet (a resource added by hand). */
  meta: ResourceMeta | null;
  /**
   * `meta` is exactly what resource.json holds (the schema filled in no default): writing `meta`
   * back would not change the file.
   */
  metaAsOnDisk: boolean;
}

const SCAN_CONCURRENCY = 32;

/** The schema of resource.json. */
export const META_SCHEMA_ID = 'gwd:config/resource-meta';

export interface ScanResult {
  resources: ScannedResource[];
  problems: ConfigFileProblem[];
  /** indexKey of every resource that has an invalid file: it is not loaded. */
  invalidKeys: Set<string>;
}

export interface ScanOptions {
  /** Only these collections (default: all). */
  collections?: readonly Collection[];
  /**
   * The files of the first listed collection as the caller already holds them (a snapshot just
   * received): that collection is scanned from them, without touching the disk, and a file not in
   * them does not exist.
   */
  preloaded?: PreloadedFiles;
}

/** Files held in memory, by path relative to their collection with `/` (SnapshotContents is one). */
export interface PreloadedFiles {
  /** Each file's text ('' for one whose parsed value takeParsed() has). */
  readonly files: ReadonlyMap<string, string>;
  /** The value a file's text parsed to, once; undefined when it was not parsed. */
  takeParsed?(rel: string): { value: unknown } | undefined;
  /** The check of such a value against a schema, when already made. */
  checkedAs?(value: unknown, schemaId: string): ValidationResult<unknown> | undefined;
  /**
   * The validation of such a value with defaults filled in (resource.json), when already made, and
   * how many keys it had before.
   */
  validatedAs?(value: unknown, schemaId: string): { rawKeys: number; result: ValidationResult<unknown> } | undefined;
}

/**
 * Read the whole store from disk without changing anything: config/resources/<collection>/<module>/
 * <type>/[<name>/]. A file that does not parse or validate is reported by path and field and its
 * resource is left out; nothing on disk is ever written or removed here.
 */
export async function scanStore(
  resourcesDir: string,
  types: ReadonlyMap<string, ResourceTypeInfo>,
  schemas: SchemaRegistry,
  options: ScanOptions = {},
): Promise<ScanResult> {
  const out: ScanResult = { resources: [], problems: [], invalidKeys: new Set() };
  const collections = options.collections ?? COLLECTIONS;
  for (const collection of collections) {
    const collDir = path.join(resourcesDir, collection);
    const preloaded = collection === collections[0] ? options.preloaded : undefined;
    const source = preloaded ? memorySource(collDir, preloaded) : DISK;
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
          await scanResource(out, typeDir, collection, type, null, schemas, source);
          continue;
        }
        if (await exists(path.join(typeDir, PRIMARY_FILE))) {
          out.problems.push(problem(path.join(typeDir, PRIMARY_FILE), collection, null, '', `${typeName} resources are named: the file belongs in ${typeName}/<name>/`));
        }
        // Resources are read 32 at a time (a full snapshot brings thousands; one at a time the
        // file system round trips dominate), each into its own result, merged in name order so the
        // outcome does not depend on timing.
        const parts = await mapLimit(await listDirs(typeDir), SCAN_CONCURRENCY, async (name) => {
          const part: ScanResult = { resources: [], problems: [], invalidKeys: new Set() };
          if (!isValidName(name)) {
            part.problems.push(problem(path.join(typeDir, name), collection, null, '', `"${name}" is not a resource name`));
          } else {
            await scanResource(part, child(typeDir, name), collection, type, name, schemas, source);
          }
          return part;
        });
        for (const part of parts) {
          out.resources.push(...part.resources);
          out.problems.push(...part.problems);
          for (const k of part.invalidKeys) out.invalidKeys.add(k);
        }
      }
    }
  }
  return out;
}

async function scanResource(
  out: ScanResult,
  dir: string,
  collection: Collection,
  type: ResourceTypeInfo,
  name: string | null,
  schemas: SchemaRegistry,
  read: FileReader,
): Promise<void> {
  const address = formatAddress(type.type, name);
  const before = out.problems.length;
  const primary = await readContent(out, read, child(dir, PRIMARY_FILE), collection, address, type.schemaId, schemas);
  const backup = await readContent(out, read, child(dir, BACKUP_FILE), collection, address, type.schemaId, schemas);
  // The schema's defaults are all top-level: a key count tells whether any was filled in.
  let rawKeys = -1;
  const metaRaw = await readContent(out, read, child(dir, META_FILE), collection, address, META_SCHEMA_ID, schemas, (keys) => {
    rawKeys = keys;
  });
  if (primary === undefined) {
    // An empty directory is what a delete leaves when the operator keeps other files there.
    if (backup !== undefined || metaRaw !== undefined) {
      out.problems.push(problem(path.join(dir, PRIMARY_FILE), collection, address, '', 'is missing: a resource needs its Primary version'));
    } else {
      return;
    }
  }
  if (out.problems.length > before || primary === undefined || primary === null) {
    out.invalidKeys.add(indexKey(collection, address));
    return;
  }
  out.resources.push({
    collection,
    type,
    name,
    address,
    primary,
    backup: backup ?? null,
    // Validated with defaults applied (an older resource.json may lack a field added since).
    meta: (metaRaw as ResourceMeta | undefined) ?? null,
    metaAsOnDisk: metaRaw !== undefined && metaRaw !== null && Object.keys(metaRaw).length === rawKeys,
  });
}

/**
 * undefined: no such file; null: present but invalid (a problem was recorded). Content is returned
 * exactly as parsed; with `withDefaults` (metadata), the parsed value is validated in place, so it
 * comes back with schema defaults filled in, after `withDefaults` was told how many keys it had.
 */
async function readContent(
  out: ScanResult,
  { read, parse, checked, validated }: FileReader,
  file: string,
  collection: Collection,
  address: string,
  schemaId: string,
  schemas: SchemaRegistry,
  withDefaults?: (rawKeys: number) => void,
): Promise<Record<string, unknown> | null | undefined> {
  let text: string | undefined;
  try {
    text = await read(file);
  } catch (err) {
    out.problems.push(problem(file, collection, address, '', `could not be read (${describeFsError(err)})`));
    return null;
  }
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = parse(file, text);
  } catch (err) {
    out.problems.push(problem(file, collection, address, '', `is not valid JSON (${(err as Error).message})`));
    return null;
  }
  // Validated as it arrived (a snapshot's resource.json): its defaults are in already.
  const early = withDefaults ? validated?.(parsed, schemaId) : undefined;
  if (withDefaults && parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) withDefaults(early?.rawKeys ?? Object.keys(parsed).length);
  // Content is only checked: defaults must not creep into it, its signature is of the file.
  const result = withDefaults ? (early?.result ?? schemas.validate(schemaId, parsed)) : (checked?.(parsed, schemaId) ?? schemas.check(schemaId, parsed));
  if (!result.ok) {
    out.problems.push({ path: file, collection, resource: address, problems: result.problems });
    return null;
  }
  return parsed as Record<string, unknown>;
}

/** A file's text, or undefined when there is no such file. */
type ReadText = (file: string) => Promise<string | undefined>;
/** The value of a file's text (JSON.parse, or what parsing it earlier gave). */
type ParseText = (file: string, text: string) => unknown;

interface FileReader {
  read: ReadText;
  parse: ParseText;
  checked?: PreloadedFiles['checkedAs'];
  validated?: PreloadedFiles['validatedAs'];
}

/** Where a scan reads from: the disk, or files already in memory. */
interface ScanSource extends FileReader {
  /** Subdirectories, sorted, without dot entries. */
  listDirs(dir: string): Promise<string[]>;
  exists(file: string): Promise<boolean>;
}

const parseJson: ParseText = (_file, text) => JSON.parse(text);

const DISK: ScanSource = { read: readIfExists, listDirs, exists, parse: parseJson };

/** Reads from memory between two turns given to the event loop. */
const YIELD_EVERY = 512;

/** A collection's files held in memory, by path relative to `root` with `/`. */
function memorySource(root: string, preloaded: PreloadedFiles): ScanSource {
  const { files } = preloaded;
  const children = new Map<string, Set<string>>();
  for (const rel of files.keys()) {
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
  return {
    read: async (file) => {
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
      return files.get(relOf(file));
    },
    parse: (file, text) => {
      const hit = preloaded.takeParsed?.(relOf(file));
      return hit ? hit.value : JSON.parse(text);
    },
    checked: preloaded.checkedAs?.bind(preloaded),
    validated: preloaded.validatedAs?.bind(preloaded),
    listDirs: async (dir) => [...(children.get(relOf(dir)) ?? [])].filter((n) => !n.startsWith('.')).sort(),
    exists: async (file) => files.has(relOf(file)) || children.has(relOf(file)),
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
