import { WORKER_PRELUDE, WorkerCalls } from './worker-calls.js';

/**
 * The file work of a replicated batch (hundreds of small files) on a worker thread, as plain
 * synchronous calls, one message a step: make the resource directories and read what they hold,
 * write the temp files, then rename them into place.
 *
 * Through the libuv pool from the main thread each file was six round trips (open, write, chmod,
 * close, rename, and a mkdir a new resource), each a wake-up of a pool thread and of the main
 * thread again: a burst of 5,000 new resources spent most of its time there (issue 18, 0.15x the
 * synchronous baseline). They cannot run synchronously on the main thread: it answers the peer's
 * heartbeats, and a disk that stalls would stall them too.
 */
const WORKER_SOURCE = `${WORKER_PRELUDE}
function readOrNull(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
// rmdir from dir up to top (the first directory mkdir created), stopping at one not empty.
function removeEmptyDirs(dir, top) {
  for (let d = dir; ; d = d.slice(0, d.lastIndexOf('/'))) {
    try {
      fs.rmdirSync(d);
    } catch {
      return;
    }
    if (d === top || d.lastIndexOf('/') <= 0) return;
  }
}
// mkdir -p: the first directory created, or null when it was there. Most parents exist (one type
// directory, thousands of resources): a plain mkdir is one system call, a recursive one several.
function makeDir(dir) {
  try {
    fs.mkdirSync(dir);
    return dir;
  } catch (err) {
    if (err.code === 'EEXIST') return null;
    if (err.code !== 'ENOENT') throw err;
  }
  return fs.mkdirSync(dir, { recursive: true }) ?? null;
}
function prepare(m) {
  const made = [];
  const texts = [];
  try {
    m.dirs.forEach((dir, i) => {
      const top = makeDir(dir);
      made.push(top);
      // A directory just made holds none of the files: nothing to read.
      texts.push(m.reads[i].map((f) => (top === null ? readOrNull(f) : null)));
    });
  } catch (err) {
    made.forEach((top, i) => top !== null && removeEmptyDirs(m.dirs[i], top));
    throw err;
  }
  return { made, texts };
}
function stage(m) {
  let i = 0;
  try {
    for (; i < m.tmps.length; i++) {
      const fd = fs.openSync(m.tmps[i], 'wx', m.mode);
      try {
        // As bytes: for a string, writeSync's third argument is a file position, not an index into it.
        writeFully(fd, Buffer.from(m.datas[i], 'utf8'));
        // open() applies the umask, which the API server narrows for a moment while it binds.
        fs.fchmodSync(fd, m.mode);
        if (m.sync) fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
  } catch (err) {
    for (let j = 0; j <= i && j < m.tmps.length; j++) fs.rmSync(m.tmps[j], { force: true });
    // The target, as a failed atomic write names it.
    err.path = m.files[i];
    throw err;
  }
}
// Steps in order: rename (from, to), rm (path, force), rmdir (dir; not empty or gone is fine),
// up (dir, top: removeEmptyDirs). A failed rename removes the temp files of the renames not done.
function run(m) {
  for (let i = 0; i < m.ops.length; i++) {
    const a = m.a[i];
    const b = m.b[i];
    switch (m.ops[i]) {
      case 'rename':
        try {
          fs.renameSync(a, b);
        } catch (err) {
          for (let j = i; j < m.ops.length; j++) if (m.ops[j] === 'rename') fs.rmSync(m.a[j], { force: true });
          err.path = b;
          throw err;
        }
        break;
      case 'rm':
        fs.rmSync(a, { force: true });
        break;
      case 'rmdir':
        try {
          fs.rmdirSync(a);
        } catch {}
        break;
      case 'up':
        removeEmptyDirs(a, b);
        break;
      default:
        throw new Error('unknown step ' + m.ops[i]);
    }
  }
}
parentPort.on('message', (m) =>
  reply(m.id, () => {
    if (m.op === 'prepare') return prepare(m);
    if (m.op === 'stage') return stage(m);
    if (m.op === 'run') return run(m);
    throw new Error('unknown request ' + m.op);
  }),
);
`;

/** One step of `run`, in order (see the worker's source). */
export type FileStep = ['rename', string, string] | ['rm', string] | ['rmdir', string] | ['up', string, string];

/** Its owner closes it (a worker thread with a message listener keeps the process alive). */
export class FileBatchThread {
  private readonly thread = new WorkerCalls(WORKER_SOURCE, 'file batch');

  get failure(): Error | null {
    return this.thread.failure;
  }

  /**
   * mkdir -p each of `dirs` and, for each one that was there already, the text of its files
   * `reads[i]` (null: missing or unreadable). `made[i]`: the first directory created, or null.
   * On failure the directories it made are removed again.
   */
  async prepare(dirs: string[], reads: string[][]): Promise<{ made: Array<string | null>; texts: Array<Array<string | null>> }> {
    const r = await this.thread.call({ op: 'prepare', dirs, reads });
    return r as unknown as { made: Array<string | null>; texts: Array<Array<string | null>> };
  }

  /**
   * Write each `datas[i]` to the new file `tmps[i]` (the temp name of `files[i]`) with `mode`,
   * fsync'd only with `sync`. On failure none of them is left, and the error's path is the target.
   */
  async stage(files: string[], tmps: string[], datas: string[], mode: number, sync: boolean): Promise<void> {
    await this.thread.call({ op: 'stage', files, tmps, datas, mode, sync });
  }

  close(): Promise<void> {
    return this.thread.close('the file batch thread is closed');
  }

  /** The steps in order; a failed rename rejects with its target as the error's path. */
  async run(steps: readonly FileStep[]): Promise<void> {
    await this.thread.call({ op: 'run', ops: steps.map((s) => s[0]), a: steps.map((s) => s[1]), b: steps.map((s) => s[2] ?? '') });
  }
}
