import { WORKER_PRELUDE, WorkerCalls } from './worker-calls.js';

/**
 * Writes many small files on a worker thread, checking each against its expected size and sha256
 * as it completes.
 *
 * A full snapshot is tens of thousands of small files. Written from the main thread through the
 * libuv pool, each file is three round trips (open, write, close) and the 30,000 files of a
 * 10,000-resource snapshot took 1.2 s; the same writes as plain synchronous calls on one thread take
 * 0.3 s. They cannot run synchronously on the main thread: it answers the peer's heartbeats, and a
 * disk that stalls would stall them too. So they run here; the main thread only checks where each
 * chunk's bytes go, hands them over and goes on receiving: up to MAX_IN_FLIGHT batches are
 * queued at the worker, so receiving the next chunk and writing this one overlap.
 *
 * Each file is hashed as it is written and checked the moment its last byte is, against the size
 * and sha256 its parts carry: the end of a transfer then costs no pass over every file.
 */
const WORKER_SOURCE = `${WORKER_PRELUDE}
const mismatched = [];
const incomplete = [];
let failure = null;
// A received frame moved here is garbage once written; this thread makes little else, so V8 would
// collect it only after tens of MB more of them (its trigger for memory outside the heap). A
// young-generation collection of this small heap (~0.1 ms) frees it now: the frame's buffer was
// made in the young generation when the message arrived.
// (Named so as not to clash with the global gc a thread started after --expose-gc was set has.)
let youngCollector;
function collectYoung() {
  if (youngCollector === undefined) {
    try {
      require('node:v8').setFlagsFromString('--expose-gc');
      youngCollector = require('node:vm').runInNewContext('typeof gc === "function" ? gc : null');
    } catch {
      youngCollector = null;
    }
  }
  if (youngCollector) youngCollector({ type: 'minor' });
}
function writeAll(file, data, flags) {
  const fd = fs.openSync(file, flags, 0o666);
  try {
    writeFully(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}
// The files runs refer to by index, from index base on: runs come in manifest order, so a file
// before the one a run starts at gets no more bytes, and is checked and let go then. The thread
// keeps only the files of the runs under way (a snapshot of 100,000 resources is 300,000 files:
// a table of all of them was ~90 MB of this thread's heap).
const table = { base: 0, head: 0, rels: [], sizes: [], hashes: [], got: [] };
let added = 0;
// The hash of a file written in more than one part, while it is: by table index.
const hashing = new Map();
// Directories made or found (a bounded cache: a run's files are in path order, and a directory
// met again after it was dropped costs one mkdir that finds it).
let dirs = new Set();
// Check and let go every file before index until: its size is what was announced, or it is short.
function retire(until) {
  const t = table;
  while (t.base + t.head < until && t.head < t.rels.length) {
    const i = t.head;
    if (t.got[i] !== t.sizes[i] && incomplete.length < 100) incomplete.push({ rel: t.rels[i], got: t.got[i], size: t.sizes[i] });
    hashing.delete(t.base + i);
    t.rels[i] = t.hashes[i] = undefined;
    t.head++;
  }
  // Dropped from the front in steps, not one shift per file.
  if (t.head >= 4096 && t.head * 2 >= t.rels.length) {
    for (const k of ['rels', 'sizes', 'hashes', 'got']) t[k] = t[k].slice(t.head);
    t.base += t.head;
    t.head = 0;
  }
}
// count consecutive files of the table from file (its bytes from offset, the others' from their
// first), cut from bytes by their sizes.
function writeRun(m) {
  if (m.file < table.base + table.head) throw new Error('a run before the files still open');
  retire(m.file);
  let at = 0;
  let offset = m.offset;
  for (let file = m.file; file < m.file + m.count; file++) {
    const i = file - table.base;
    const size = table.sizes[i];
    if (size === undefined) throw new Error('a run past the files given');
    const length = Math.min(size - offset, m.bytes.length - at);
    writePart(m.root, file, i, offset === 0, m.bytes.subarray(at, at + length));
    at += length;
    offset = 0;
  }
}
function writePart(root, file, i, truncate, data) {
  const t = table;
  const rel = t.rels[i];
  // rel is a checked relative path with '/' (no '..', no empty segments): joined by hand, as
  // path.join and path.dirname on each of 30,000 files were about 7% of this thread's time.
  const path = root + '/' + rel;
  const dir = path.slice(0, path.lastIndexOf('/'));
  if (!dirs.has(dir)) {
    // Most parents exist already (one type directory, thousands of resources): a plain mkdir
    // is one system call, a recursive one several.
    try {
      fs.mkdirSync(dir);
    } catch (err) {
      if (err.code === 'ENOENT') fs.mkdirSync(dir, { recursive: true });
      else if (err.code !== 'EEXIST') throw err;
    }
    if (dirs.size >= 1024) dirs = new Set();
    dirs.add(dir);
  }
  writeAll(path, data, truncate ? 'w' : 'a');
  const size = t.sizes[i];
  if (truncate) t.got[i] = 0;
  const before = t.got[i];
  t.got[i] += data.length;
  if (truncate && data.length === size) {
    // The whole file in one part: one hash call.
    hashing.delete(file);
    if (sha256Hex(data) !== t.hashes[i]) mismatched.push(rel);
    return;
  }
  let hash = hashing.get(file);
  if (truncate || (hash === undefined && before === 0)) {
    hash = crypto.createHash('sha256');
    hashing.set(file, hash);
  }
  // A file already complete takes no more into its hash (its size will not match).
  if (hash === undefined) return;
  hash.update(data);
  if (t.got[i] === size) {
    if (hash.digest('hex') !== t.hashes[i]) mismatched.push(rel);
    hashing.delete(file);
  }
}
parentPort.on('message', (m) =>
  reply(m.id, () => {
    // After a failure every later call reports it: the files behind it are not worth writing.
    if (failure) throw failure;
    try {
      // The run's buffer goes back to the caller, who fills it again (see BulkWriter.copy); a
      // frame moved here is dropped, and collected at once (see collectYoung).
      if (m.op === 'run') {
        writeRun(m);
        if (!m.moved) return { buffer: m.bytes.buffer, transfer: [m.bytes.buffer] };
        m.bytes = null;
        collectYoung();
        return;
      }
      if (m.op === 'files') {
        m.rels.forEach((rel, i) => {
          table.rels.push(rel);
          table.sizes.push(m.sizes[i]);
          table.hashes.push(m.hashes[i]);
          table.got.push(0);
        });
        added += m.rels.length;
        return;
      }
      if (m.op !== 'finish') throw new Error('unknown request ' + m.op);
      // Checked here: only files short of their size go back (sending every file's size back cost
      // ~30-80 ms at the end of a 30,000-file snapshot).
      retire(Infinity);
      return { mismatched, incomplete, tableFiles: added };
    } catch (err) {
      failure = err;
      throw err;
    }
  }),
);
`;

/**
 * The thread's heap holds a few files' paths and hashes and the runs under way, whose bytes are
 * outside it (moved ArrayBuffers): a young generation of V8's default size (up to 48 MB on a
 * large machine) would only be garbage kept resident beside the main thread's.
 */
const WRITER_LIMITS = { maxYoungGenerationSizeMb: 8 };

/** Batches handed to the worker and not yet written: receiving and writing overlap by this much. */
const MAX_IN_FLIGHT = 4;

export interface BulkResult {
  /** Files that reached their expected size with another sha256. */
  mismatched: string[];
  /** Files given by addFiles(): how many, and those not written to their size (the first 100). */
  tableFiles: number;
  incomplete: Array<{ rel: string; got: number; size: number }>;
}

export class BulkWriter {
  /**
   * The thread starts with the writer, before start() says where to write: a backup that expects
   * a snapshot makes one while it waits for the master's answer, as booting a thread is ~60 ms of
   * CPU that would otherwise delay the first file written.
   */
  private readonly thread = new WorkerCalls(WORKER_SOURCE, 'snapshot writer', WRITER_LIMITS);
  private readonly inFlight: Promise<void>[] = [];
  /** Buffers the thread gave back after writing their run, to copy the next runs into. */
  private readonly spare: ArrayBuffer[] = [];
  /** The first write the worker failed: every later call reports it. */
  private failure: Error | null = null;
  private root: string | null = null;

  /** A writer for `root`. */
  static open(root: string): BulkWriter {
    const w = new BulkWriter();
    w.start(root);
    return w;
  }

  /** Where to write; once per writer, before the first write. */
  start(root: string): void {
    if (this.root !== null) throw new Error('the snapshot writer was started already');
    this.root = root;
  }

  /**
   * Files that runs (writeRun) refer to by index, in order: the first call gives files 0..n-1,
   * the next n.. on. Paths are checked already. Sent as arrays of strings and sizes: cheaper to
   * copy to the thread than an object per file.
   */
  addFiles(files: ReadonlyArray<{ rel: string; size: number; sha256: string }>): void {
    if (this.root === null) throw new Error('the snapshot writer was not started');
    if (files.length === 0) return;
    const sizes = new Float64Array(files.length);
    files.forEach((f, i) => (sizes[i] = f.size));
    this.track(this.thread.call({ op: 'files', rels: files.map((f) => f.rel), hashes: files.map((f) => f.sha256), sizes }, [sizes.buffer]));
  }

  /**
   * Queue `count` consecutive files of those given to addFiles, from file index `file` (its bytes
   * from `offset`, the others' from their first), cut from `bytes` by their sizes, without sending
   * each one's path, size and hash again. Resolves once queued within the bound (MAX_IN_FLIGHT),
   * rejects with the first failure of any earlier write. `movable`: `bytes`' whole buffer, when
   * the caller gives it up (a received frame's own, see owned-frames.ts): it moves to the thread
   * instead of being copied, and `bytes` reads as empty from then on.
   */
  async writeRun(file: number, offset: number, count: number, bytes: Uint8Array, movable: ArrayBuffer | null = null): Promise<void> {
    const failed = this.thread.failure ?? this.failure;
    if (failed) throw failed;
    if (this.root === null) throw new Error('the snapshot writer was not started');
    if (movable !== null && bytes.buffer !== movable) throw new Error('writeRun: the buffer to move is not the one of the bytes');
    const own = movable !== null ? bytes : this.copy(bytes);
    const written = this.thread.call({ op: 'run', root: this.root, file, offset, count, bytes: own, moved: movable !== null }, [movable ?? (own.buffer as ArrayBuffer)]);
    this.track(
      written.then((m) => {
        if (m.buffer instanceof ArrayBuffer && this.spare.length <= MAX_IN_FLIGHT) this.spare.push(m.buffer);
      }),
    );
    while (this.inFlight.length > MAX_IN_FLIGHT) await this.inFlight.shift();
    if (this.failure) throw this.failure;
  }

  /** Wait for every queued write; then which files are short or did not match. */
  async finish(): Promise<BulkResult> {
    await Promise.all(this.inFlight.splice(0));
    if (this.failure) throw this.failure;
    const r = (await this.thread.call({ op: 'finish' })) as unknown as {
      mismatched: string[];
      incomplete?: BulkResult['incomplete'];
      tableFiles?: number;
    };
    return { mismatched: r.mismatched, tableFiles: r.tableFiles ?? 0, incomplete: r.incomplete ?? [] };
  }

  close(): Promise<void> {
    return this.thread.close('the snapshot writer is closed');
  }

  /**
   * The thread gets its own copy of a run's bytes, moved rather than cloned: `bytes` may be a view
   * of a larger buffer (a received frame, Node's allocation pool) that must not be copied whole or
   * detached. The copy goes into a buffer the thread gave back when it can: a new one for every run
   * (4,000 runs, 800 MB, for 100,000 resources), allocated here and freed on the thread, left
   * ~80 MB of freed memory in malloc's arenas of a backup at its peak.
   */
  private copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
    let best = -1;
    this.spare.forEach((b, i) => {
      if (b.byteLength >= bytes.length && (best < 0 || b.byteLength < this.spare[best]!.byteLength)) best = i;
    });
    // Rounded up to a MiB, so that one buffer serves runs of a little different sizes.
    const buffer = best >= 0 ? this.spare.splice(best, 1)[0]! : new ArrayBuffer(Math.ceil(Math.max(bytes.length, 1) / MIB) * MIB);
    const own = new Uint8Array(buffer, 0, bytes.length);
    own.set(bytes);
    return own;
  }

  private track(call: Promise<unknown>): void {
    this.inFlight.push(
      call.then(
        () => undefined,
        (err: Error) => {
          this.failure ??= err;
        },
      ),
    );
  }
}

const MIB = 1024 * 1024;
