import { createHash } from 'node:crypto';

/** One file of a full snapshot of the `core` collection, path relative to the collection root. */
export interface SnapshotFile {
  path: string;
  size: number;
  sha256: string;
}

/**
 * The `path NUL sha256 NUL size LF` lines of entries, in the order given: what a snapshot's total
 * hash is taken over (its entries in the order they came, ascending paths from a master).
 */
export function manifestLines(files: readonly SnapshotFile[]): string {
  let out = '';
  for (const f of files) out += `${f.path}\u0000${f.sha256}\u0000${f.size}\n`;
  return out;
}

/**
 * A path from a peer is only ever a relative path inside the collection: no absolute paths, no `..`,
 * no empty or dot segments, no NUL or backslash, bounded length. Anything else is refused, so a
 * forged snapshot cannot write outside the staging directory.
 */
export function isSafeRelativePath(p: string): boolean {
  if (typeof p !== 'string' || p.length === 0 || p.length > 1024) return false;
  if (p.startsWith('/') || p.includes('\\') || p.includes('\u0000')) return false;
  // Segment by segment without splitting (a manifest has tens of thousands of paths).
  for (let start = 0; start <= p.length; ) {
    let end = p.indexOf('/', start);
    if (end === -1) end = p.length;
    const length = end - start;
    if (length === 0 || length > 255) return false;
    if (p.charCodeAt(start) === 46 && (length === 1 || (length === 2 && p.charCodeAt(start + 1) === 46))) return false;
    start = end + 1;
  }
  return true;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** 64 lower-case hex digits. */
function isSha256Hex(s: unknown): boolean {
  return typeof s === 'string' && SHA256_HEX.test(s);
}

export type ManifestProblem = { path: string | null; problem: string };

export interface ManifestLimits {
  maxFiles: number;
  maxBytes: number;
}

/**
 * What a snapshot's end states, checked against the entries that came before it: `totalSha256` is
 * over their lines in the order they came (see manifestLines).
 */
export interface ManifestTotals {
  files: number;
  totalBytes: number;
  totalSha256: string;
}

/**
 * Tree order, as a master lists its core (each directory's entries by name, a directory's files
 * where its name falls among them): path segments compared one by one as strings, a path before
 * those under it. Negative when `a` comes first.
 */
export function treeOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // One is a prefix of the other: an ancestor, or a shorter name ("b" before "bc").
  if (i === n) return a.length - b.length;
  // The segment that ends here is a prefix of the other's ("b" before "b-c").
  if (a.charCodeAt(i) === 47) return -1;
  if (b.charCodeAt(i) === 47) return 1;
  return a.charCodeAt(i) - b.charCodeAt(i);
}

/**
 * Structural checks of manifest entries received from a peer, before any of their bytes is
 * written, in parts as a snapshot announces them. Each entry is checked as it is added: a safe
 * path, a size and a sha256 of the right form, the limits on the running totals, and strictly
 * after the one before it in tree order (treeOrder), which is how a master lists its core.
 *
 * The order is what lets this hold nothing per entry (a snapshot of 100,000 resources announces
 * 300,000, and a set of every path and directory was ~25 MB of a backup's heap): an entry listed
 * twice is not after itself, and a file that would also be a directory of another (a/b and a/b/c)
 * shows between two neighbours, as everything between a/b and a/b/c in tree order is under a/b.
 */
export class ManifestChecker {
  private previous: string | null = null;
  private count = 0;
  private total = 0;
  /** The total hash, taken over the entries as they arrive. */
  private readonly hash = createHash('sha256');

  constructor(private readonly limits: ManifestLimits) {}

  get bytes(): number {
    return this.total;
  }

  add(files: readonly SnapshotFile[]): ManifestProblem | null {
    if (this.count + files.length > this.limits.maxFiles) return { path: null, problem: `more than ${this.limits.maxFiles} files` };
    for (const f of files) {
      if (!isSafeRelativePath(f.path)) return { path: f.path, problem: 'unsafe path' };
      if (!Number.isSafeInteger(f.size) || f.size < 0) return { path: f.path, problem: 'bad size' };
      if (!isSha256Hex(f.sha256)) return { path: f.path, problem: 'bad sha256' };
      const previous = this.previous;
      if (previous !== null) {
        if (previous === f.path) return { path: f.path, problem: 'listed twice' };
        // A file over a file, whichever comes first (the second is out of order too).
        if (f.path.startsWith(previous) && f.path.charCodeAt(previous.length) === 47) return { path: previous, problem: 'nested under a listed file' };
        if (previous.startsWith(f.path) && previous.charCodeAt(f.path.length) === 47) return { path: f.path, problem: 'nested under a listed file' };
        if (treeOrder(previous, f.path) > 0) return { path: f.path, problem: `out of order (after ${previous})` };
      }
      this.previous = f.path;
      this.count++;
      this.total += f.size;
      if (this.total > this.limits.maxBytes) return { path: null, problem: `more than ${this.limits.maxBytes} bytes` };
    }
    // Checked, so hashed (one call into the hash per part, not per file).
    this.hash.update(manifestLines(files));
    return null;
  }

  /** The end of the snapshot: its totals must be those of the entries announced. */
  finish(totals: ManifestTotals): ManifestProblem | null {
    if (totals.files !== this.count) return { path: null, problem: `${totals.files} files announced at the end, ${this.count} listed` };
    if (totals.totalBytes !== this.total) return { path: null, problem: 'totalBytes does not match the files' };
    if (this.hash.digest('hex') !== totals.totalSha256) return { path: null, problem: 'totalSha256 does not match the files' };
    return null;
  }
}

/**
 * What a backup accepts of one snapshot: at most 1,000,000 files and 2 GiB. A resource is three
 * files (config.json, backupConfig.json, resource.json), so 100,000 resources are 300,000 files;
 * the benchmark's tree of 100,000 (about 800 MB) fits with room on both counts. The bound is there
 * so a broken or hostile peer cannot make the backup stage without end: 2 GiB of staging at most on
 * disk. An announced file is held only until its bytes are in (the sync machine and the writer
 * let it go then), and the facts of each received resource until the adoption.
 */
export const DEFAULT_SNAPSHOT_LIMITS: ManifestLimits = { maxFiles: 1_000_000, maxBytes: 2 * 1024 ** 3 };
