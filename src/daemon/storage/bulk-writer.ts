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
const files = new Map();
const dirs = new Set();
const mismatched = [];
let failure = null;
function writeAll(file, data, flags) {
  const fd = fs.openSync(file, flags, 0o666);
  try {
    for (let at = 0; at < data.length; ) at += fs.writeSync(fd, data, at, data.length - at);
  } finally {
    fs.closeSync(fd);
  }
}
// Files by their index in the snapshot, for runs (given once: a run names only where it starts).
const table = { rels: [], sizes: [], hashes: [] };
// count consecutive files of the table from file (its bytes from offset, the others' from their
// first), cut from bytes by their sizes.
function writeRun(m) {
  let at = 0;
  let offset = m.offset;
  for (let file = m.file; file < m.file + m.count; file++) {
    const size = table.sizes[file];
    if (size === undefined) throw new Error('a run past the files given');
    const length = Math.min(size - offset, m.bytes.length - at);
    writePart(m.root, { rel: table.rels[file], length, truncate: offset === 0, size, sha256: table.hashes[file] }, m.bytes.subarray(at, at + length));
    at += length;
    offset = 0;
  }
}
function writePart(root, part, data) {
  // rel is a checked relative path with '/' (no '..', no empty segments): joined by hand, as
  // path.join and path.dirname on each of 30,000 files were about 7% of this thread's time.
  const file = root + '/' + part.rel;
  const dir = file.slice(0, file.lastIndexOf('/'));
  if (!dirs.has(dir)) {
    // Most parents exist already (one type directory, thousands of resources): a plain mkdir
    // is one system call, a recursive one several.
    try {
      fs.mkdirSync(dir);
    } catch (err) {
      if (err.code === 'ENOENT') fs.mkdirSync(dir, { recursive: true });
      else if (err.code !== 'EEXIST') throw err;
    }
    dirs.add(dir);
  }
  writeAll(file, data, part.truncate ? 'w' : 'a');
  if (part.truncate && data.length === part.size) {
    // The whole file in one part: one hash call.
    files.set(part.rel, { hash: null, size: data.length });
    if (sha256Hex(data) !== part.sha256) mismatched.push(part.rel);
    return;
  }
  let state = files.get(part.rel);
  if (!state || part.truncate) {
    state = { hash: crypto.createHash('sha256'), size: 0 };
    files.set(part.rel, state);
  }
  state.size += data.length;
  // A file already complete takes no more into its hash (its size will not match).
  if (state.hash === null) return;
  state.hash.update(data);
  if (state.size === part.size) {
    if (state.hash.digest('hex') !== part.sha256) mismatched.push(part.rel);
    state.hash = null;
  }
}
parentPort.on('message', (m) =>
  reply(m.id, () => {
    // After a failure every later call reports it: the files behind it are not worth writing.
    if (failure) throw failure;
    try {
      if (m.op === 'run') return writeRun(m);
      if (m.op === 'files') {
        m.rels.forEach((rel, i) => {
          table.rels.push(rel);
          table.sizes.push(m.sizes[i]);
          table.hashes.push(m.hashes[i]);
        });
        return;
      }
      if (m.op !== 'finish') throw new Error('unknown request ' + m.op);
      // Directories as one string (one copy back, not thousands of strings): NUL is in no path.
      const dirList = [...dirs].join('\\u0000');
      // Checked here: only files short of their size go back (sending every file's size back cost
      // ~30-80 ms at the end of a 30,000-file snapshot).
      const incomplete = [];
      table.rels.forEach((rel, i) => {
        const got = files.get(rel)?.size ?? 0;
        if (got !== table.sizes[i] && incomplete.length < 100) incomplete.push({ rel, got, size: table.sizes[i] });
      });
      return { mismatched, incomplete, tableFiles: table.rels.length, dirs: dirList };
    } catch (err) {
      failure = err;
      throw err;
    }
  }),
);
`;

/** Batches handed to the worker and not yet written: receiving and writing overlap by this much. */
const MAX_IN_FLIGHT = 4;

export interface BulkResult {
  /** Files that reached their expected size with another sha256. */
  mismatched: string[];
  /** Files given by addFiles(): how many, and those not written to their size (the first 100). */
  tableFiles: number;
  incomplete: Array<{ rel: string; got: number; size: number }>;
  /** Every directory created. */
  dirs: string[];
}

export class BulkWriter {
  /**
   * The thread starts with the writer, before start() says where to write: a backup that expects
   * a snapshot makes one while it waits for the master's answer, as booting a thread is ~60 ms of
   * CPU that would otherwise delay the first file written.
   */
  private readonly thread = new WorkerCalls(WORKER_SOURCE, 'snapshot writer');
  private readonly inFlight: Promise<void>[] = [];
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
   * rejects with the first failure of any earlier write.
   */
  async writeRun(file: number, offset: number, count: number, bytes: Uint8Array): Promise<void> {
    const failed = this.thread.failure ?? this.failure;
    if (failed) throw failed;
    if (this.root === null) throw new Error('the snapshot writer was not started');
    const own = ownCopy(bytes);
    this.track(this.thread.call({ op: 'run', root: this.root, file, offset, count, bytes: own }, [own.buffer]));
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
      dirs: string;
    };
    return {
      mismatched: r.mismatched,
      tableFiles: r.tableFiles ?? 0,
      incomplete: r.incomplete ?? [],
      dirs: r.dirs === '' ? [] : r.dirs.split('\u0000'),
    };
  }

  close(): Promise<void> {
    return this.thread.close('the snapshot writer is closed');
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

/**
 * The worker gets its own copy, moved rather than cloned: `bytes` may be a view of a larger buffer
 * (a received frame, Node's allocation pool) that must not be copied whole or detached.
 */
function ownCopy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const own = new Uint8Array(bytes.length);
  own.set(bytes);
  return own;
}
