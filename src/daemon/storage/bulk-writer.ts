import { Worker } from 'node:worker_threads';

/**
 * Writes many small files on a worker thread, hashing them as it goes.
 *
 * A full snapshot is tens of thousands of small files. Written from the main thread through the
 * libuv pool, each file is three round trips (open, write, close) and the 30,000 files of a
 * 10,000-resource snapshot took 1.2 s; the same writes as plain synchronous calls on one thread take
 * 0.3 s. They cannot run synchronously on the main thread: it answers the peer's heartbeats, and a
 * disk that stalls would stall them too. So they run here; the main thread only checks the parts'
 * paths and offsets and waits.
 *
 * The worker is a small CommonJS program given as source (no separate file to locate at run time,
 * from dist/ or from the TypeScript sources under test). It decodes base64 parts, appends them to
 * their files under `root` (creating directories), and keeps a sha256 and a byte count per file.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const files = new Map();
const dirs = new Set();
parentPort.on('message', (m) => {
  try {
    if (m.op === 'write') {
      for (const part of m.parts) {
        const data = Buffer.from(part.data, 'base64');
        let state = files.get(part.rel);
        if (!state) {
          state = { hash: crypto.createHash('sha256'), size: 0 };
          files.set(part.rel, state);
        }
        const file = path.join(m.root, part.rel);
        const dir = path.dirname(file);
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
        fs.writeFileSync(file, data, { flag: part.truncate ? 'w' : 'a' });
        state.hash.update(data);
        state.size += data.length;
      }
      parentPort.postMessage({ id: m.id, ok: true });
    } else if (m.op === 'digests') {
      const out = {};
      for (const [rel, state] of files) out[rel] = { size: state.size, sha256: state.hash.digest('hex') };
      files.clear();
      parentPort.postMessage({ id: m.id, ok: true, digests: out, dirs: [...dirs] });
    }
  } catch (err) {
    parentPort.postMessage({ id: m.id, ok: false, error: { message: err.message, code: err.code, path: err.path } });
  }
});
`;

export interface BulkPart {
  /** Path relative to the writer's root, already checked to stay inside it. */
  rel: string;
  /** base64 */
  data: string;
  /** The first part of a file: create or truncate it. */
  truncate: boolean;
}

export interface FileDigest {
  size: number;
  sha256: string;
}

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

export class BulkWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;

  constructor(private readonly root: string) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    // Never what keeps the daemon alive: a shutdown aborts the transfer anyway.
    this.worker.unref();
    this.worker.on('message', (m: { id: number; ok: boolean; error?: { message: string; code?: string; path?: string } }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m as unknown as Record<string, unknown>);
      else p.reject(errnoError(m.error!));
    });
    const fail = (err: Error): void => {
      this.dead ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the snapshot writer thread exited (${code})`)));
  }

  /** Write the parts in order; resolves once they are all written (not yet durable). */
  async write(parts: BulkPart[]): Promise<void> {
    await this.call({ op: 'write', root: this.root, parts });
  }

  /** Size and sha256 of every file written, and every directory created; the writer forgets them. */
  async digests(): Promise<{ files: Map<string, FileDigest>; dirs: string[] }> {
    const r = (await this.call({ op: 'digests' })) as { digests: Record<string, FileDigest>; dirs: string[] };
    return { files: new Map(Object.entries(r.digests)), dirs: r.dirs };
  }

  async close(): Promise<void> {
    this.dead ??= new Error('the snapshot writer is closed');
    await this.worker.terminate();
  }

  private call(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }
}

function errnoError(e: { message: string; code?: string; path?: string }): NodeJS.ErrnoException {
  const err = new Error(e.message) as NodeJS.ErrnoException;
  if (e.code !== undefined) err.code = e.code;
  if (e.path !== undefined) err.path = e.path;
  return err;
}
