import { createHash } from 'node:crypto';

/** One file of a full snapshot of the `core` collection, path relative to the collection root. */
export interface SnapshotFile {
  path: string;
  size: number;
  sha256: string;
}

/** What the master sends first: every file with its hash, and a hash over the whole. */
export interface SnapshotManifest {
  /** Identifies this transfer; chunks carry it so a late chunk of an older one is refused. */
  id: string;
  /** The master store's revision the snapshot was taken at. */
  revision: number;
  files: SnapshotFile[];
  totalBytes: number;
  /** sha256 over the sorted `path NUL sha256 NUL size LF` lines: any change to any file changes it. */
  totalSha256: string;
}

export function totalHash(files: readonly SnapshotFile[]): string {
  const h = createHash('sha256');
  // A master lists its files sorted already: sorting is skipped when there is nothing to sort.
  const sorted = files.every((f, i) => i === 0 || files[i - 1]!.path < f.path)
    ? files
    : [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of sorted) h.update(`${f.path}\u0000${f.sha256}\u0000${f.size}\n`);
  return h.digest('hex');
}

/**
 * A path from a peer is only ever a relative path inside the collection: no absolute paths, no `..`,
 * no empty or dot segments, no NUL or backslash, bounded length. Anything else is refused, so a
 * forged snapshot cannot write outside the staging directory.
 */
export function isSafeRelativePath(p: string): boolean {
  if (typeof p !== 'string' || p.length === 0 || p.length > 1024) return false;
  if (p.startsWith('/') || p.includes('\\') || p.includes('\u0000')) return false;
  return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..' && seg.length <= 255);
}

/** 64 lower-case hex digits. */
function isSha256Hex(s: unknown): boolean {
  if (typeof s !== 'string' || s.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

export type ManifestProblem = { path: string | null; problem: string };

/** Structural checks of a manifest received from a peer, before anything is written. */
export function checkManifest(m: SnapshotManifest, limits: { maxFiles: number; maxBytes: number }): ManifestProblem | null {
  if (m.files.length > limits.maxFiles) return { path: null, problem: `more than ${limits.maxFiles} files` };
  const seen = new Set<string>();
  // Every directory the files are in (with its ancestors): a file may not also be one of them.
  const dirs = new Set<string>();
  let total = 0;
  for (const f of m.files) {
    if (!isSafeRelativePath(f.path)) return { path: f.path, problem: 'unsafe path' };
    if (seen.has(f.path)) return { path: f.path, problem: 'listed twice' };
    seen.add(f.path);
    if (!Number.isSafeInteger(f.size) || f.size < 0) return { path: f.path, problem: 'bad size' };
    if (!isSha256Hex(f.sha256)) return { path: f.path, problem: 'bad sha256' };
    total += f.size;
    // Siblings share their parent: most files cost one lookup here.
    for (let i = f.path.lastIndexOf('/'); i > 0; i = f.path.lastIndexOf('/', i - 1)) {
      const dir = f.path.slice(0, i);
      if (dirs.has(dir)) break;
      dirs.add(dir);
    }
  }
  // A file may not also be a directory of another listed file (a/b and a/b/c).
  for (const p of seen) if (dirs.has(p)) return { path: p, problem: 'nested under a listed file' };
  if (total !== m.totalBytes) return { path: null, problem: 'totalBytes does not match the files' };
  if (total > limits.maxBytes) return { path: null, problem: `more than ${limits.maxBytes} bytes` };
  if (totalHash(m.files) !== m.totalSha256) return { path: null, problem: 'totalSha256 does not match the files' };
  return null;
}
