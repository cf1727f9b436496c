import type { SchemaRegistry } from '../schema-registry.js';
import type { ResourceTypeInfo } from '../../core/config-model.js';
import type { PreloadedFiles } from './disk-scan.js';
import { metaFactOf, parseFact, versionFactOf, type FileFact, type MetaFact, type VersionFact } from './resource-file-facts.js';
import { BACKUP_FILE, META_FILE, PRIMARY_FILE } from './resource-paths.js';
import { SharedStrings } from './shared-strings.js';

/**
 * What is kept of one received file: its facts, as a scan of it on disk would find them. A
 * resource version that parsed and validated is kept as its signature alone (a string: 200,000 of
 * them for 100,000 resources, where an object around each cost ~15 MB more); the schema it was
 * checked against follows from its path (schemaIdAt); one that did not is kept as its problems.
 */
type Kept =
  | string
  | { kind: 'version'; fact: Extract<FileFact<VersionFact>, { ok: false }> }
  | { kind: 'meta'; fact: FileFact<MetaFact> }
  /** Any other file, or a version file under a path no known type reads (the scan never asks for it). */
  | { kind: 'other' };

const OTHER: Kept = { kind: 'other' };

/**
 * What the files of a full snapshot tell, by path relative to the core, learnt as they arrive from
 * the master.
 *
 * Each file is decoded and parsed the moment its last byte is in, and a resource version signed
 * and checked against its type's schema, while the rest of the snapshot is still on its way and
 * the main thread would otherwise wait for the writer thread: the adoption after the transfer then
 * only compares. Only the facts are kept (signature, problems, a resource.json's metadata), never
 * the content: the content is on disk, and a snapshot of 100,000 resources is 800 MB of it.
 *
 * Nothing here is trusted or decided: a file that does not parse is reported by the scan as it
 * would be from the disk, and the adoption may compare these facts while the last hashes are
 * checked but commits them only once every file passed its size and sha256 check.
 */
export class SnapshotContents implements PreloadedFiles {
  private readonly kept = new FilesByDir();
  /** Authors and times of resource.json files, one string for each value seen (see add()). */
  private readonly shared = new SharedStrings();

  constructor(
    private readonly types: ReadonlyMap<string, ResourceTypeInfo>,
    private readonly schemas: SchemaRegistry,
  ) {}

  /** A file whose last byte arrived (its parts in order). */
  add(rel: string, parts: readonly Uint8Array[]): void {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (!rel.endsWith('.json')) {
      this.kept.set(rel, OTHER);
      return;
    }
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const parsed = parseFact(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
    if (name === META_FILE) {
      const fact = parsed.ok ? metaFactOf(parsed.fact, this.schemas) : parsed;
      // resource.json comes after its versions (each directory's files by name): its signatures
      // become theirs, one string each instead of two (100,000 resources: 200,000 hashes fewer).
      if (fact.ok) {
        const dir = rel.slice(0, rel.length - META_FILE.length);
        const { meta } = fact.fact;
        // Most resource.json files of a core name the same few authors and, per batch of changes,
        // the same time: 100,000 copies of each were ~7 MB.
        meta.lastModification.actor = this.shared.share(meta.lastModification.actor);
        meta.lastModification.timestamp = this.shared.share(meta.lastModification.timestamp);
        meta.signature = this.signatureOf(dir + PRIMARY_FILE, meta.signature);
        if (meta.backupSignature !== null) meta.backupSignature = this.signatureOf(dir + BACKUP_FILE, meta.backupSignature);
      }
      this.kept.set(rel, { kind: 'meta', fact });
      return;
    }
    const schemaId = name === PRIMARY_FILE || name === BACKUP_FILE ? this.schemaIdAt(rel) : undefined;
    if (schemaId === undefined) {
      this.kept.set(rel, OTHER);
      return;
    }
    const fact = parsed.ok ? versionFactOf(parsed.fact, schemaId, this.schemas) : parsed;
    this.kept.set(rel, fact.ok ? fact.fact.signature : { kind: 'version', fact });
  }

  paths(): Iterable<string> {
    return this.kept.keys();
  }

  has(rel: string): boolean {
    return this.kept.has(rel);
  }

  /** A version file's facts; each file's are handed out once (the scan reads each once) and let go. */
  version(rel: string, schemaId: string): FileFact<VersionFact> | undefined {
    const k = this.kept.take(rel);
    if (!k) return undefined;
    if ((typeof k !== 'string' && k.kind !== 'version') || this.schemaIdAt(rel) !== schemaId) {
      // The scan reads a version file only where its type is known, as add() decides it: a path
      // read otherwise means the two disagree, which must show rather than pass unchecked.
      throw new Error(`snapshot file ${rel} was not checked as ${schemaId}`);
    }
    return typeof k === 'string' ? { ok: true, fact: { signature: k, content: null } } : k.fact;
  }

  /** A resource.json's facts, handed out once as version()'s are. */
  meta(rel: string): FileFact<MetaFact> | undefined {
    const k = this.kept.take(rel);
    if (!k) return undefined;
    if (typeof k === 'string' || k.kind !== 'meta') throw new Error(`snapshot file ${rel} was not checked as resource metadata`);
    return k.fact;
  }

  /** The kept signature of the version file at `rel` when it equals `signature`; else `signature`. */
  private signatureOf(rel: string, signature: string): string {
    const k = this.kept.get(rel);
    return typeof k === 'string' && k === signature ? k : signature;
  }

  /** The schema a version file at `rel` is read against, as the scan places it: `<module>/<type>/[<name>/]<file>`. */
  private schemaIdAt(rel: string): string | undefined {
    const parts = rel.split('/');
    const type = this.types.get(parts[1] ?? '');
    if (!type || type.module !== parts[0] || parts.length !== (type.singleton ? 3 : 4)) return undefined;
    return type.schemaId;
  }
}

/** Entries of a directory kept as [name, kept, name, kept, ...] up to this many files; a Map past it. */
const DIR_LIST_MAX = 16;

/**
 * What is kept by path, stored by directory: 100,000 resources are 300,000 files in 100,000
 * directories, and a key for each file (~64 bytes, and its slot in one table) was ~25 MB of a
 * backup's memory through the transfer and the adoption. Directory keys and file names are flat
 * strings of their own, never slices of the path they came from (which would keep it alive).
 */
class FilesByDir {
  private readonly dirs = new Map<string, Array<string | Kept> | Map<string, Kept>>();

  get(rel: string): Kept | undefined {
    const files = this.dirs.get(dirOf(rel));
    if (files === undefined) return undefined;
    const name = nameOf(rel);
    if (files instanceof Map) return files.get(name);
    for (let i = 0; i < files.length; i += 2) if (files[i] === name) return files[i + 1] as Kept;
    return undefined;
  }

  has(rel: string): boolean {
    return this.get(rel) !== undefined;
  }

  set(rel: string, kept: Kept): void {
    const dir = dirOf(rel);
    const name = nameOf(rel);
    let files = this.dirs.get(dir);
    if (files === undefined) this.dirs.set(flat(dir), (files = []));
    if (files instanceof Map) {
      files.set(flat(name), kept);
      return;
    }
    for (let i = 0; i < files.length; i += 2) {
      if (files[i] === name) {
        files[i + 1] = kept;
        return;
      }
    }
    files.push(flat(name), kept);
    if (files.length > DIR_LIST_MAX * 2) {
      const map = new Map<string, Kept>();
      for (let i = 0; i < files.length; i += 2) map.set(files[i] as string, files[i + 1] as Kept);
      this.dirs.set(dir, map);
    }
  }

  /**
   * What is kept of `rel`, removed (one lookup for both): the adoption's scan holds what it needs
   * of it, and the path goes with it (300,000 paths and their table were ~35 MB still alive at the
   * end of the scan of 100,000 resources, beside the store it built). The scan reads each file once,
   * by construction (scanResource); a second read would find the file missing.
   */
  take(rel: string): Kept | undefined {
    const dir = dirOf(rel);
    const files = this.dirs.get(dir);
    if (files === undefined) return undefined;
    const name = nameOf(rel);
    let kept: Kept | undefined;
    if (files instanceof Map) {
      kept = files.get(name);
      files.delete(name);
    } else {
      for (let i = 0; i < files.length; i += 2) {
        if (files[i] === name) {
          kept = files[i + 1] as Kept;
          files.splice(i, 2);
          break;
        }
      }
    }
    if ((files instanceof Map ? files.size : files.length) === 0) this.dirs.delete(dir);
    return kept;
  }

  *keys(): Generator<string> {
    for (const [dir, files] of this.dirs) {
      const prefix = dir === '' ? '' : `${dir}/`;
      if (files instanceof Map) for (const name of files.keys()) yield prefix + name;
      else for (let i = 0; i < files.length; i += 2) yield prefix + (files[i] as string);
    }
  }
}

function dirOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash === -1 ? '' : rel.slice(0, slash);
}

function nameOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

/** `text` as a flat string of its own (internalized), not a slice of a longer one. */
function flat(text: string): string {
  if (text === PRIMARY_FILE) return PRIMARY_FILE;
  if (text === BACKUP_FILE) return BACKUP_FILE;
  if (text === META_FILE) return META_FILE;
  return Object.keys({ [text]: 0 })[0]!;
}
