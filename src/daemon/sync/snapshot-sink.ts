import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { GwError } from '../../core/errors.js';
import type { SnapshotPart } from '../../core/sync/backup-machine.js';
import type { SnapshotFile } from '../../core/sync/snapshot-manifest.js';
import { archiveFolder } from '../data-dir.js';
import { takeOwnedBuffer } from '../gan/owned-frames.js';
import { describeFsError, fsyncDir, writeJsonAtomic } from '../storage/atomic-write.js';
import { BulkWriter } from '../storage/bulk-writer.js';
import { checkFault, faultsArmed } from '../storage/fault-injection.js';
import { startWriteback, syncWholeTree, type TreeSyncMethod } from '../storage/sync-tree.js';

export interface SnapshotPaths {
  /** The live collection directory that the snapshot replaces (config/resources/core). */
  coreDir: string;
  /** var/ of the data directory: staging, the swap intent and archives live here. */
  varDir: string;
}

/** Bytes received between two early writebacks of the staging directory. */
const EARLY_WRITEBACK_BYTES = 16 * 1024 * 1024;

export interface SnapshotCommit {
  /** var/archive/<time> holding the previous core, or null when there was none. */
  archive: string | null;
  /** How the staged tree was made durable before the swap. */
  durability: TreeSyncMethod;
  /** ms spent making the staged tree durable (the wait for an early writeback included). */
  syncMs: number;
}

/** What the staged snapshot does not match: the snapshot is refused, the live core untouched. */
function refused(detail: string): GwError {
  return new GwError('GW_ERR_SYNC_SNAPSHOT_REFUSED', { detail });
}

/** Given a file's bytes, in parts, once all of them are received. */
export type FileListener = (rel: string, parts: readonly Uint8Array[]) => void;

/** An empty staging directory for snapshot `id` under var/sync. */
async function prepareStaging(paths: SnapshotPaths, id: string): Promise<string> {
  // The schema checked it already; the id names a directory, so it is checked here too.
  if (!/^[0-9a-zA-Z-]{1,64}$/.test(id)) throw refused('manifest refused: bad id');
  await fsp.mkdir(syncDir(paths.varDir), { recursive: true });
  const staging = path.join(syncDir(paths.varDir), `staging-${id}`);
  await fsp.rm(staging, { recursive: true, force: true });
  await fsp.mkdir(staging, { recursive: true });
  return staging;
}

function syncDir(varDir: string): string {
  return path.join(varDir, 'sync');
}
function intentFile(varDir: string): string {
  return path.join(syncDir(varDir), 'swap-intent.json');
}

interface SwapIntent {
  id: string;
  staging: string;
  archive: string;
  coreDir: string;
  varDir: string;
}

/**
 * The disk side of a full snapshot on the backup: what to write, and whether it is acceptable, is
 * the sync machine's (src/core/sync/backup-machine.ts); this writes it. Bytes go to a staging
 * directory, never into the live collection; only a complete, verified snapshot is swapped in. The
 * swap is two renames (live core to the archive, staging to core) guarded by an intent file written
 * first, so a crash at any point leaves, after recoverSnapshotSwap() at the next start, either the
 * whole old core or the whole new one.
 */
export class SnapshotSink {
  private readonly writer: BulkWriter;
  /** Files announced (the writer has their paths, sizes and hashes, and checks them). */
  private announced = 0;
  /** The parts of files not yet complete, for onFile (views of the chunks). */
  private readonly partial = new Map<string, Uint8Array[]>();
  /** Bytes written since the last early writeback was started, and the one in flight. */
  private unflushed = 0;
  private writeback: Promise<void> | null = null;
  /** aborted, or committing (the staging directory then belongs to the swap, and abort() leaves it). */
  private state: 'open' | 'aborted' | 'committing' = 'open';
  /** verify() passed. */
  private verified = false;
  /** The swap commit() made, until the adoption is committed (finish) or fails (rollback). */
  private swapped: SwapIntent | null = null;

  private constructor(
    private readonly paths: SnapshotPaths,
    readonly id: string,
    readonly staging: string,
    private onFile: FileListener | undefined,
    writer: BulkWriter | undefined,
  ) {
    this.writer = writer ?? new BulkWriter();
    this.writer.start(staging);
  }

  /**
   * `onFile` is given each file's bytes (in parts) as soon as its last byte is received, before
   * its hash is checked: the backup parses them while the rest arrives, and adopts them only after
   * verify() passed. `writer`: a writer thread started ahead (the sink owns it from here on).
   */
  static async open(paths: SnapshotPaths, id: string, { onFile, writer }: { onFile?: FileListener; writer?: BulkWriter } = {}): Promise<SnapshotSink> {
    try {
      return new SnapshotSink(paths, id, await prepareStaging(paths, id), onFile, writer);
    } catch (err) {
      await writer?.close();
      throw err;
    }
  }

  /** The next entries of the manifest, checked already: chunks name files by their index. */
  addFiles(files: readonly SnapshotFile[]): void {
    this.announced += files.length;
    this.writer.addFiles(files.map((f) => ({ rel: f.path, size: f.size, sha256: f.sha256 })));
  }

  /**
   * `payload` as the machine cut it: `parts` from file index `file` at `offset`, in manifest order.
   * Written by the worker in the background; a write that failed is reported by a later call or by
   * verify().
   */
  async write(file: number, offset: number, parts: readonly SnapshotPart[], payload: Uint8Array): Promise<void> {
    if (this.state !== 'open') throw refused('the snapshot was aborted');
    const length = payload.length;
    // Files this chunk completes go to onFile before the writer has the bytes: a received frame
    // that is its buffer's alone moves to the writer thread (no copy) and is unreadable here
    // after. Not when the chunk's last file goes on in the next chunk: its view is kept until then.
    if (this.onFile) this.passCompleteFiles(parts, payload, this.onFile);
    const movable = parts.length === 0 || parts.at(-1)!.complete ? takeOwnedBuffer(payload) : null;
    try {
      if (faultsArmed()) for (const part of parts) checkFault('write', path.join(this.staging, part.rel));
      await this.writer.writeRun(file, offset, parts.length, payload, movable);
    } catch (err) {
      throw new GwError('GW_ERR_STORAGE_WRITE_FAILED', { file: this.staging, detail: describeFsError(err) });
    }
    // The disk writes back while the rest arrives, instead of all of it at the end.
    this.unflushed += length;
    if (this.unflushed >= EARLY_WRITEBACK_BYTES && this.writeback === null) {
      this.unflushed = 0;
      this.writeback = startWriteback(this.staging).finally(() => {
        this.writeback = null;
      });
    }
  }

  /** Each file whose last byte this chunk brought goes to onFile; a file it does not complete is kept (views). */
  private passCompleteFiles(parts: readonly SnapshotPart[], bytes: Uint8Array, onFile: FileListener): void {
    let at = 0;
    for (const part of parts) {
      const data = bytes.subarray(at, at + part.length);
      at += part.length;
      const earlier = this.partial.get(part.rel);
      if (part.complete) {
        if (earlier) this.partial.delete(part.rel);
        onFile(part.rel, earlier ? [...earlier, data] : [data]);
      } else if (earlier) {
        earlier.push(data);
      } else {
        this.partial.set(part.rel, [data]);
      }
    }
  }

  /**
   * Wait for the last write and check that every file has the size and sha256 the manifest says
   * (the worker checked each hash as the file completed).
   */
  async verify(): Promise<void> {
    if (this.state !== 'open') throw refused('the snapshot was aborted');
    let result;
    try {
      result = await this.writer.finish();
    } catch (err) {
      throw new GwError('GW_ERR_STORAGE_WRITE_FAILED', { file: this.staging, detail: describeFsError(err) });
    } finally {
      await this.writer.close();
    }
    const { mismatched, incomplete, tableFiles } = result;
    const short = incomplete[0];
    if (short) throw refused(`${short.rel}: incomplete (${short.got} of ${short.size} bytes)`);
    // The writer checked the files it was given; it was given every file announced, or failed.
    if (tableFiles < this.announced) throw refused(`the writer has ${tableFiles} of the ${this.announced} files announced`);
    if (mismatched.length > 0) throw refused(`${mismatched[0]}: sha256 does not match the manifest`);
    this.verified = true;
  }

  /** Make the verified files durable, then swap them in. Returns the archive folder of the old core. */
  async commit(now: Date = new Date()): Promise<SnapshotCommit> {
    if (this.state !== 'open') throw refused('the snapshot was aborted');
    if (!this.verified) throw refused('commit before verify');
    // Verified: from here on the staging directory is the swap's, whatever abort() is asked.
    this.state = 'committing';
    const syncStarted = performance.now();
    await this.writeback;
    const durability = await syncWholeTree(this.staging);
    const syncMs = Math.round(performance.now() - syncStarted);
    if (!(await exists(this.staging))) throw refused('the staging directory disappeared before the swap');
    const archiveRoot = archiveFolder(this.paths.varDir, now);
    const intent: SwapIntent = {
      id: this.id,
      staging: this.staging,
      archive: path.join(archiveRoot, 'core'),
      coreDir: this.paths.coreDir,
      varDir: this.paths.varDir,
    };
    try {
      await writeJsonAtomic(intentFile(this.paths.varDir), intent);
      // The intent stays until finish(): a crash before the adoption is committed completes the
      // swap at the next start (and the store adopts it then), a failed adoption can be rolled back.
      const archived = await applySwap(intent, false);
      this.swapped = intent;
      return { archive: archived ? archiveRoot : null, durability, syncMs };
    } catch (err) {
      // A full disk or an I/O error in the swap: the previous core goes back in place, and neither
      // the intent nor a copy of the whole core is left behind (the next start would otherwise
      // swap in a snapshot the running daemon reported as failed).
      await undoSwap(intent).catch(() => undefined);
      throw err;
    }
  }

  /** The swapped-in core is adopted (committed by the store): the swap is final. */
  async finish(): Promise<void> {
    const intent = this.swapped;
    this.swapped = null;
    // Left behind, it is harmless: the next start finds no staging to swap and only removes it.
    if (intent) await fsp.rm(intentFile(intent.varDir), { force: true }).catch(() => undefined);
  }

  /** The adoption failed before its commit point: put the previous core back in place. */
  async rollback(): Promise<void> {
    const intent = this.swapped;
    this.swapped = null;
    if (intent) await undoSwap(intent);
  }

  async abort(): Promise<void> {
    if (this.state === 'committing') return;
    this.state = 'aborted';
    await this.writer.close();
    await fsp.rm(this.staging, { recursive: true, force: true });
  }
}

/** Finish (or find nothing to do for) a swap that a crash interrupted; remove abandoned staging. */
export async function recoverSnapshotSwap(paths: SnapshotPaths): Promise<'none' | 'completed'> {
  let intent: SwapIntent | null = null;
  try {
    intent = JSON.parse(await fsp.readFile(intentFile(paths.varDir), 'utf8')) as SwapIntent;
  } catch {
    intent = null;
  }
  let result: 'none' | 'completed' = 'none';
  if (intent && typeof intent.staging === 'string' && typeof intent.archive === 'string') {
    await applySwap({ ...intent, coreDir: paths.coreDir, varDir: paths.varDir });
    result = 'completed';
  }
  // Staging left by a transfer that never reached its commit: the live core was never touched.
  const dir = syncDir(paths.varDir);
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith('staging-')) await fsp.rm(path.join(dir, name), { recursive: true, force: true });
  }
  return result;
}

/** Idempotent: each step checks what is already done, so it can be re-run after a crash in it. */
async function applySwap(intent: SwapIntent, removeIntent = true): Promise<boolean> {
  const stagingThere = await exists(intent.staging);
  let archived = false;
  if (stagingThere) {
    if ((await exists(intent.coreDir)) && !(await exists(intent.archive))) {
      await fsp.mkdir(path.dirname(intent.archive), { recursive: true });
      checkFault('rename', intent.archive);
      await fsp.rename(intent.coreDir, intent.archive);
      archived = true;
    } else if (await exists(intent.archive)) {
      archived = true;
    }
    await fsp.mkdir(path.dirname(intent.coreDir), { recursive: true });
    checkFault('rename', intent.coreDir);
    await fsp.rename(intent.staging, intent.coreDir);
    // Both renames made durable together (independent directories: one journal commit can serve both).
    await Promise.all([fsyncDir(path.dirname(intent.coreDir)), fsyncDir(path.dirname(intent.archive)).catch(() => undefined)]);
  }
  if (removeIntent) await fsp.rm(intentFile(intent.varDir), { force: true });
  return archived;
}

/**
 * Undo a swap that failed part way or whose adoption failed: the new core (in place once the
 * staging is gone) goes back to the staging, the archive back to core, then the intent and the
 * staging are removed. Each step is one rename under the intent, so a crash in between leaves a
 * state the next start completes as a swap (the whole new core), never a missing core.
 */
async function undoSwap(intent: SwapIntent): Promise<void> {
  if (!(await exists(intent.staging)) && (await exists(intent.coreDir))) await fsp.rename(intent.coreDir, intent.staging);
  if (await exists(intent.archive)) {
    await fsp.rename(intent.archive, intent.coreDir);
    await fsp.rmdir(path.dirname(intent.archive)).catch(() => undefined);
  }
  await fsyncDir(path.dirname(intent.coreDir)).catch(() => undefined);
  await fsp.rm(intentFile(intent.varDir), { force: true });
  await fsp.rm(intent.staging, { recursive: true, force: true });
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}
