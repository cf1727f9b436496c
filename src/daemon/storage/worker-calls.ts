import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * Requests to a worker thread given as CommonJS source (no separate file to locate at run time,
 * from dist/ or from the TypeScript sources under test), each answered by one message carrying its
 * `id`: `{id, ok: true, ...}` or `{id, ok: false, error: {message, code, path}}`. The thread never
 * keeps the daemon alive. Once it has died or been closed, every call fails at once (a message to
 * it would go nowhere).
 */
export class WorkerCalls {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (m: Record<string, unknown>) => void; reject: (err: Error) => void }
  >();
  private nextId = 1;
  private dead: Error | null = null;

  /** `limits`: the thread's heap sizes (ResourceLimits of worker_threads), else V8's defaults. */
  constructor(source: string, name: string, limits?: ResourceLimits) {
    this.worker = new Worker(source, { eval: true, ...(limits ? { resourceLimits: limits } : {}) });
    this.worker.on('message', (m: { id: number; ok: boolean; error?: WorkerError }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.ok) p.resolve(m as unknown as Record<string, unknown>);
      else p.reject(errnoError(m.error!));
    });
    const fail = (err: Error): void => {
      this.dead ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the ${name} thread exited (${code})`)));
    // A thread holds the process only while a call waits for its answer, as a file system request
    // in libuv's pool does: idle, it never keeps gwd from exiting; busy, the process does not end
    // under an awaited call (a start awaiting the store's file batch before anything else holds the
    // event loop would otherwise exit with its work half done). After the listeners: adding a
    // 'message' listener refs the worker's port again.
    this.worker.unref();
  }

  /** Why calls fail at once, or null while the thread is there. */
  get failure(): Error | null {
    return this.dead;
  }

  call(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Record<string, unknown>> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  async close(reason: string): Promise<void> {
    this.dead ??= new Error(reason);
    await this.worker.terminate();
  }
}

interface WorkerError {
  message: string;
  code?: string;
  path?: string;
}

/** An error a worker thread reported, as the errno error fs would have thrown here. */
function errnoError(e: WorkerError): NodeJS.ErrnoException {
  const err = new Error(e.message) as NodeJS.ErrnoException;
  if (e.code !== undefined) err.code = e.code;
  if (e.path !== undefined) err.path = e.path;
  return err;
}

/**
 * Worker source: `sha256Hex(bytes)`, one call where Node has crypto.hash (20.12 and later),
 * `writeFully(fd, bytes)`, and `reply(id, run)`, which answers a request with run()'s fields or
 * with the error it threw.
 */
export const WORKER_PRELUDE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const sha256Hex = typeof crypto.hash === 'function'
  ? (data) => crypto.hash('sha256', data, 'hex')
  : (data) => crypto.createHash('sha256').update(data).digest('hex');
// Every byte of \`bytes\` (a Uint8Array) to \`fd\`: a write may take fewer than it is given.
function writeFully(fd, bytes) {
  for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at, bytes.length - at);
}
function reply(id, run) {
  try {
    const { transfer = [], ...fields } = run() ?? {};
    parentPort.postMessage({ id, ok: true, ...fields }, transfer);
  } catch (err) {
    parentPort.postMessage({ id, ok: false, error: { message: err.message, code: err.code, path: err.path } });
  }
}
`;
