import { WORKER_PRELUDE, WorkerCalls } from './worker-calls.js';

/**
 * Reads a whole tree of small files on worker threads: every regular file under a root, sorted by
 * relative path, with its sha256.
 *
 * A master reads its whole core for every full snapshot. Through the libuv pool each file is four
 * round trips (open, stat, read, close) and 30,000 files took ~1.3 s, most of it on the main
 * thread, before the first byte was sent; plain synchronous calls on one thread take a fraction of
 * that, and the main thread keeps answering the peer meanwhile. The bytes come back in one buffer,
 * moved rather than copied (the buffer may be up to twice the bytes it holds).
 *
 * Temp files of atomic writes (`.name.tmp-*`) are skipped, as is anything not a regular file or a
 * directory.
 */
const WORKER_SOURCE = `${WORKER_PRELUDE}
// Every regular file under root, each directory's entries in name order, as a generator: the
// listing of a streamed read goes a part at a time, as the caller asks for it.
function* files(root) {
  const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  function* visit(dir, prefix) {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      // A missing root is an empty tree; a directory removed by hand while this ran is skipped.
      if (err.code === 'ENOENT') return;
      throw err;
    }
    entries.sort(byName);
    for (const e of entries) {
      if (e.name.startsWith('.') && e.name.includes('.tmp-')) continue;
      const rel = prefix ? prefix + '/' + e.name : e.name;
      if (e.isDirectory()) yield* visit(dir + '/' + e.name, rel);
      else if (e.isFile()) yield rel;
    }
  }
  yield* visit(root, '');
}
// The whole tree's paths, sorted (readTree).
function walk(root) {
  return { rels: [...files(root)].sort() };
}
// The next count paths of this thread's listing of root (one listing a thread: a streamed read has
// its own threads), and whether it is over.
let listing = null;
function list(root, count) {
  listing ??= files(root);
  const rels = [];
  while (rels.length < count) {
    const next = listing.next();
    if (next.done) return { rels, done: true };
    rels.push(next.value);
  }
  return { rels, done: false };
}
// Every file read straight into one buffer (grown as needed): no stat, no buffer per file, no
// copy to gather them, and one buffer to move to the caller.
// room: bytes left free before the first file's (the caller puts a frame header there).
// The buffer is sized from the bytes a file this thread read last time (the files of one tree are
// alike), so that it is neither grown by copying nor twice the bytes it holds: it stays allocated
// as long as the part is in flight to the peer. 2 KiB a file at first.
let bytesPerFile = 2048;
function read(root, rels, room) {
  const expected = Math.ceil(rels.length * bytesPerFile * 1.125);
  let bytes = new Uint8Array(room + expected + 65536);
  let used = room;
  const sizes = [];
  for (const rel of rels) {
    const fd = fs.openSync(root + '/' + rel, 'r');
    const start = used;
    try {
      for (;;) {
        if (bytes.length - used < 65536) {
          const bigger = new Uint8Array(bytes.length * 2);
          bigger.set(bytes.subarray(0, used));
          bytes = bigger;
        }
        const n = fs.readSync(fd, bytes, used, bytes.length - used, null);
        if (n === 0) break;
        used += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    sizes.push(used - start);
  }
  if (rels.length > 0) bytesPerFile = (used - room) / rels.length;
  const hashes = [];
  let at = room;
  for (const size of sizes) {
    hashes.push(sha256Hex(bytes.subarray(at, at + size)));
    at += size;
  }
  return { sizes, hashes, bytes, start: room, used, transfer: [bytes.buffer] };
}
parentPort.on('message', (m) => reply(m.id, () => (m.op === 'walk' ? walk(m.root) : m.op === 'list' ? list(m.root, m.count) : read(m.root, m.rels, m.room ?? 0))));
`;

export interface TreeFile {
  /** Path relative to the root, with '/'. */
  rel: string;
  data: Buffer;
  sha256: string;
}

/** Files read together: their bytes one after the other in `bytes`, each file's `data` a view of it. */
export interface TreePart {
  files: TreeFile[];
  bytes: Buffer;
  /** Bytes free just before `bytes` in its buffer (see streamTree's `room`). */
  room: number;
}

/** Threads reading at once: the open/read/close of thousands of files spread over the cores. */
const READERS = 2;

/**
 * A reader's heap holds one part's paths and hashes; the bytes it reads are outside it (an
 * ArrayBuffer moved to the caller). V8's default young generation (up to 48 MB a thread here)
 * filled with the listing's garbage and stayed resident beside the main thread's heap: a master
 * sending 100,000 resources peaked ~120 MB above its rest, as much again as the parts in flight.
 */
const READER_LIMITS = { maxYoungGenerationSizeMb: 8 };

/** Parts read ahead of the caller: enough to keep both readers busy, few enough to bound memory. */
const READ_AHEAD = 2;

/** Parts listed beyond those read ahead, so that a reader never waits for the listing. */
const LIST_AHEAD = 4;

/** The first part of a streamed read: small, so that its caller (and its peer) starts sooner. */
const FIRST_PART = 128;

/**
 * Every regular file under `root` (none when it does not exist), sorted by relative path. One
 * thread lists the tree, then each thread reads and hashes its share of the list.
 */
export async function readTree(root: string): Promise<TreeFile[]> {
  const readers = Array.from({ length: READERS }, () => new WorkerCalls(WORKER_SOURCE, 'snapshot reader', READER_LIMITS));
  try {
    const { rels } = (await readers[0]!.call({ op: 'walk', root })) as { rels: string[] };
    const size = Math.ceil(rels.length / READERS);
    const shares = await Promise.all(readers.map((r, i) => r.call({ op: 'read', root, rels: rels.slice(i * size, (i + 1) * size), room: 0 })));
    const out: TreeFile[] = [];
    // One push per file: a spread of a part (half the tree) overflows the stack past ~150,000.
    shares.forEach((answer, i) => {
      for (const f of treePart(rels.slice(i * size, (i + 1) * size), answer as ReadAnswer).files) out.push(f);
    });
    return out;
  } finally {
    for (const r of readers) void r.close('the snapshot reader is closed');
  }
}

/**
 * The same files in parts of `filesPerPart` (the first of at most 128, so the reader of the parts
 * starts sooner), in the order they are listed (each directory's entries by name), each given as
 * soon as it is read: a master sends a snapshot's first files while the tree is still being listed
 * and read. Both threads read; one of them also lists, a part at a time, only as far as the reading
 * needs (LIST_AHEAD parts beyond READ_AHEAD): listed ahead of the reading, the paths of the whole
 * tree waited in the caller's heap (100,000 resources: 300,000 paths, ~25 MB). Breaking out of the
 * loop stops the threads. `room`: bytes left free in each part's buffer before its first file's, so
 * that the part can go out as one binary frame (its header written there) without copying the
 * files' bytes.
 */
export function streamTree(root: string, filesPerPart: number, room = 0): AsyncGenerator<TreePart> {
  return readParts(root, Math.max(1, Math.floor(filesPerPart)), room);
}

type ReadAnswer = { sizes: number[]; hashes: string[]; bytes: Uint8Array; start: number; used: number };

async function* readParts(root: string, partSize: number, room: number): AsyncGenerator<TreePart> {
  const readers = Array.from({ length: READERS }, () => new WorkerCalls(WORKER_SOURCE, 'snapshot reader', READER_LIMITS));
  const lister = readers[0]!;
  const queued: number[] = readers.map(() => 0);
  // Parts listed but not asked for yet, and parts asked for (being read, or read and not yet taken
  // by the caller), oldest first. Only READ_AHEAD parts are asked for ahead of the caller: a caller
  // slower than the disk (a snapshot going out over the network) would otherwise have the whole
  // tree read into memory, 800 MB for 100,000 resources.
  const listed: string[][] = [];
  const asked: Array<{ rels: string[]; read: Promise<Record<string, unknown>> }> = [];
  let wake: (() => void) | null = null;
  // Set once the listing ended: with its error, or null.
  let done: { error: unknown } | undefined;
  let listingCall = false;
  let firstListed = false;
  const ask = (rels: string[]): void => {
    // The reader with the least queued; on a tie the one that does not list, whose queue a
    // listing call does not wait behind.
    let i = READERS - 1;
    for (let j = READERS - 2; j >= 0; j--) if (queued[j]! < queued[i]!) i = j;
    queued[i]! += 1;
    const answer = readers[i]!.call({ op: 'read', root, rels, room });
    // Awaited in order below; one that fails after an earlier failure (or after the caller
    // stopped) must not count as unhandled.
    answer.then(
      () => (queued[i]! -= 1),
      () => undefined,
    );
    asked.push({ rels, read: answer });
  };
  const pump = (): void => {
    while (listed.length > 0 && asked.length < READ_AHEAD) ask(listed.shift()!);
    listMore();
  };
  function listMore(): void {
    if (done !== undefined || listingCall || listed.length >= LIST_AHEAD) return;
    listingCall = true;
    const count = firstListed ? partSize : Math.min(partSize, FIRST_PART);
    firstListed = true;
    lister.call({ op: 'list', root, count }).then(
      (m) => {
        listingCall = false;
        const rels = m.rels as string[];
        if (m.done) done = { error: null };
        if (rels.length > 0) listed.push(rels);
        pump();
        wake?.();
      },
      (err: unknown) => {
        listingCall = false;
        done = { error: err };
        wake?.();
      },
    );
  }
  listMore();
  try {
    for (;;) {
      if (asked.length > 0) {
        const { rels, read: answer } = asked[0]!;
        const part = treePart(rels, (await answer) as ReadAnswer);
        // Taken: no longer held here, and the next part is asked for while this one is used.
        asked.shift();
        pump();
        yield part;
      } else if (done !== undefined && listed.length === 0) {
        if (done.error) throw done.error;
        return;
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    }
  } finally {
    for (const r of readers) void r.close('the snapshot reader is closed');
  }
}

function treePart(rels: string[], { sizes, hashes, bytes, start, used }: ReadAnswer): TreePart {
  const all = Buffer.from(bytes.buffer, bytes.byteOffset + start, used - start);
  const files: TreeFile[] = [];
  let at = 0;
  sizes.forEach((size, j) => {
    files.push({ rel: rels[j]!, data: all.subarray(at, at + size), sha256: hashes[j]! });
    at += size;
  });
  return { files, bytes: all, room: start };
}
