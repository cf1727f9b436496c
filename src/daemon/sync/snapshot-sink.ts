import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { GwError } from '../../core/errors.js';
import type { SyncSnapshotBinaryChunk, SyncSnapshotChunk } from '../../core/sync/messages.js';
import {
  checkManifest,
  ManifestChecker,
  type ManifestTotals,
  type SnapshotFile,
  type SnapshotManifest,
} from '../../core/sync/snapshot-manifest.js';
import { archiveFolder } from '../data-dir.js';
import { describeFsError, fsyncDir, writeJsonAtomic } from '../storage/atomic-write.js';
import { BulkWriter, type BulkPart } from '../storage/bulk-writer.js';
import { checkFault, faultsArmed } from '../storage/fault-injection.js';
import { startWriteback, syncTree, type TreeSyncMethod } from '../storage/sync-tree.js';

export interface SnapshotPaths {
  /** The live collection directory that the snapshot replaces (config/resources/core). */
  coreDir: string;
  /** var/ of the data directory: staging, the swap intent and archives live here. */
  varDir: string;
}

export interface SnapshotLimits {
  maxFiles: number;
  maxBytes: number;
}

/** Bytes received between two early writebacks of the staging directory. */
const EARLY_WRITEBACK_BYTES = 16 * 1024 * 1024;

export const DEFAULT_SNAPSHOT_LIMITS: SnapshotLimits = { maxFiles: 200_000, maxBytes: 2 * 1024 ** 3 };

export interface SnapshotCommit {
  /** var/archive/<time> holding the previous core, or null when there was none. */
  archive: string | null;
  /** How the staged tree was made durable before the swap. */
  durability: TreeSyncMethod;
  /** ms spent making the staged tree durable (the wait for an early writeback included). */
  syncMs: number;
}

export class SnapshotError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** A part for the writer, and whether it completes its file. */
interface WrittenPart extends BulkPart {
  complete: boolean;
}

/** Given a file's bytes, in parts, once all of them are received. */
export type FileListener = (rel: string, parts: readonly Uint8Array[]) => void;

/** A chunk as received: parts with base64 `data` (text frame), or where its payload begins (binary frame). */
export type ReceivedChunk = SyncSnapshotChunk['chunk'] | SyncSnapshotBinaryChunk['chunk'];

/** The parts of a text frame, decoded from base64 into one buffer. */
function decodedParts(chunk: SyncSnapshotChunk['chunk']): { parts: Array<{ path: string; offset: number; length: number }>; bytes: Uint8Array } {
  const datas: Buffer[] = [];
  const parts = chunk.parts.map((p) => {
    // Not a strict decode: a part that is not base64 decodes to other bytes and fails its hash.
    const data = Buffer.from(p.data, 'base64');
    datas.push(data);
    return { path: p.path, offset: p.offset, length: data.length };
  });
  return { parts, bytes: datas.length === 1 ? datas[0]! : Buffer.concat(datas) };
}

function manifestRefused(problem: { path: string | null; problem: string }): SnapshotError {
  return new SnapshotError(`manifest refused: ${problem.path ? `${problem.path}: ` : ''}${problem.problem}`);
}

/** An empty staging directory for snapshot `id` under var/sync. */
async function prepareStaging(paths: SnapshotPaths, id: string): Promise<string> {
  if (!/^[0-9a-zA-Z-]{1,64}$/.test(id)) throw new SnapshotError('manifest refused: bad id');
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
 * Backup side of a full snapshot. Bytes go to a staging directory, never into the live collection;
 * only a complete, verified snapshot is swapped in. The swap is two renames (live core to the
 * archive, staging to core) guarded by an intent file written first, so a crash at any point leaves,
 * after recoverSnapshotSwap() at the next start, either the whole old core or the whole new one.
 */
export class SnapshotSink {
  /** Text chunks: bytes accepted so far per file (the worker reports what it wrote at the end). */
  private readonly written = new Map<string, number>();
  /** Text chunks name their files: the manifest by path, made at the first one. */
  private byPath: Map<string, SnapshotFile> | null = null;
  /** Binary chunks: where the next byte goes (index in the manifest, offset in that file). */
  private next = { file: 0, offset: 0 };
  /** A snapshot comes in one form or the other, never both. */
  private form: 'binary' | 'text' | null = null;
  private readonly writer: BulkWriter;
  /** The parts of files not yet complete, for onFile (views of the chunks). */
  private readonly partial = new Map<string, Uint8Array[]>();
  private nextSeq = 0;
  private done = false;
  /** Bytes written since the last early writeback was started, and the one in flight. */
  private unflushed = 0;
  private writeback: Promise<void> | null = null;
  /** Set once commit() starts: the staging directory then belongs to the swap, and abort() leaves it. */
  private committing = false;
  /** Directories created in staging, once verify() passed. */
  private verifiedDirs: string[] | null = null;
  /** The swap commit() made, until the adoption is committed (finish) or fails (rollback). */
  private swapped: SwapIntent | null = null;
  /** A streamed snapshot's end (and its totals) was received. */
  private ended = false;
  /** Files of the manifest the writer was given, which runs of binary chunks refer to by index. */
  private filesGiven = 0;

  private constructor(
    private readonly paths: SnapshotPaths,
    /** All of it, or (streamed) the entries announced so far: its files grow with addFiles(). */
    readonly manifest: SnapshotManifest,
    readonly staging: string,
    private onFile: FileListener | undefined,
    writer: BulkWriter | undefined,
    /** Checks a streamed snapshot's entries as they are announced; null for a whole manifest. */
    private readonly streamed: ManifestChecker | null,
  ) {
    this.writer = writer ?? new BulkWriter();
    this.writer.start(staging);
  }

  /**
   * `onFile` is given each file's bytes (in parts) as soon as its last byte is received, before
   * its hash is checked: the backup parses them while the rest arrives, and adopts them only after
   * verify() passed. `writer`: a writer thread started ahead (the sink owns it from here on).
   */
  static async begin(
    paths: SnapshotPaths,
    manifest: SnapshotManifest,
    { limits = DEFAULT_SNAPSHOT_LIMITS, onFile, writer }: { limits?: SnapshotLimits; onFile?: FileListener; writer?: BulkWriter } = {},
  ): Promise<SnapshotSink> {
    try {
      const problem = checkManifest(manifest, limits);
      if (problem) throw manifestRefused(problem);
      return new SnapshotSink(paths, manifest, await prepareStaging(paths, manifest.id), onFile, writer, null);
    } catch (err) {
      await writer?.close();
      throw err;
    }
  }

  /**
   * A streamed snapshot: its manifest comes in parts (addFiles), each before the bytes of its
   * files, and its totals at the end (end()). Its chunks are binary.
   */
  static async beginStream(
    paths: SnapshotPaths,
    { id, revision }: { id: string; revision: number },
    { limits = DEFAULT_SNAPSHOT_LIMITS, onFile, writer }: { limits?: SnapshotLimits; onFile?: FileListener; writer?: BulkWriter } = {},
  ): Promise<SnapshotSink> {
    try {
      const manifest: SnapshotManifest = { id, revision, files: [], totalBytes: 0, totalSha256: '' };
      return new SnapshotSink(paths, manifest, await prepareStaging(paths, id), onFile, writer, new ManifestChecker(limits, true));
    } catch (err) {
      await writer?.close();
      throw err;
    }
  }

  /** The next entries of a streamed snapshot's manifest, checked before any of their bytes arrive. */
  addFiles(files: readonly SnapshotFile[]): void {
    if (!this.streamed) throw new SnapshotError('manifest entries for a snapshot that was not streamed');
    if (this.done || this.ended) throw new SnapshotError('manifest entries after the end of the snapshot');
    const problem = this.streamed.add(files);
    if (problem) throw manifestRefused(problem);
    for (const f of files) this.manifest.files.push(f);
    this.manifest.totalBytes = this.streamed.bytes;
  }

  /**
   * The end of a streamed snapshot: its totals must be those of the entries announced; empty files
   * after the last byte are created now.
   */
  async end(totals: ManifestTotals | undefined): Promise<void> {
    if (!this.streamed) return;
    if (this.done || this.ended) throw new SnapshotError('the end of the snapshot twice');
    if (!totals) throw new SnapshotError('the end of a streamed snapshot without its totals');
    const problem = this.streamed.finish(totals);
    if (problem) throw manifestRefused(problem);
    this.manifest.totalSha256 = totals.totalSha256;
    this.ended = true;
    const { batch, run } = this.binaryBatch(null, new Uint8Array(0));
    if (batch.length > 0) await this.writeBatch(batch, new Uint8Array(0), run);
  }

  /** Stop handing files to the listener (a streamed snapshot grew past what is worth keeping in memory). */
  dropFileListener(): void {
    this.onFile = undefined;
    this.partial.clear();
  }

  /**
   * One chunk, in order: from a binary frame (`payload` holds the files' bytes in manifest order,
   * from where the chunk says) or from a text frame (each part names its file, in base64). Parts
   * are checked here and written by the worker in the background; a write that failed is reported
   * by a later call or by verify().
   */
  async write(chunk: ReceivedChunk, payload?: Uint8Array): Promise<void> {
    if (this.done || this.ended) throw new SnapshotError('chunk after the end of the snapshot');
    if (chunk.id !== this.manifest.id) throw new SnapshotError(`chunk of another snapshot (${chunk.id})`);
    if (chunk.seq !== this.nextSeq) throw new SnapshotError(`chunk ${chunk.seq} out of order (expected ${this.nextSeq})`);
    const form = payload ? 'binary' : 'text';
    if (this.streamed && !payload) throw new SnapshotError(`chunk ${chunk.seq}: a streamed snapshot's bytes come in binary frames`);
    if (this.form !== null && this.form !== form) throw new SnapshotError(`chunk ${chunk.seq}: a snapshot in both binary and text chunks`);
    this.form = form;
    this.nextSeq++;
    // Every part is checked before any is written: only files of the manifest (so never outside
    // the staging directory), each from its start, never more bytes than it announced.
    const { batch, bytes, run } = payload ? this.binaryBatch(chunk as SyncSnapshotBinaryChunk['chunk'], payload) : this.textBatch(chunk as SyncSnapshotChunk['chunk']);
    await this.writeBatch(batch, bytes, run);
  }

  /** `run`: the batch is consecutive files of the manifest from there (binary chunks). */
  private async writeBatch(batch: WrittenPart[], bytes: Uint8Array, run?: { file: number; offset: number }): Promise<void> {
    try {
      if (faultsArmed()) for (const part of batch) checkFault('write', path.join(this.staging, part.rel));
      if (run) {
        // The writer knows the files by index: a run names only where it starts.
        const { files } = this.manifest;
        if (this.filesGiven < files.length) {
          this.writer.addFiles(files.slice(this.filesGiven).map((f) => ({ rel: f.path, size: f.size, sha256: f.sha256 })));
          this.filesGiven = files.length;
        }
        await this.writer.writeRun(run.file, run.offset, batch.length, bytes);
      } else {
        await this.writer.write(batch, bytes);
      }
    } catch (err) {
      throw new GwError('GW_ERR_STORAGE_WRITE_FAILED', { file: this.staging, detail: describeFsError(err) });
    }
    if (this.onFile) this.passCompleteFiles(batch, bytes, this.onFile);
    // The disk writes back while the rest arrives, instead of all of it at the end.
    this.unflushed += bytes.length;
    if (this.unflushed >= EARLY_WRITEBACK_BYTES && this.writeback === null) {
      this.unflushed = 0;
      this.writeback = startWriteback(this.staging).finally(() => {
        this.writeback = null;
      });
    }
  }

  /**
   * The payload cut by the manifest's sizes, from where the previous chunk ended (`chunk` null: only
   * the empty files at that position, at the end of a streamed snapshot).
   */
  private binaryBatch(
    chunk: SyncSnapshotBinaryChunk['chunk'] | null,
    payload: Uint8Array,
  ): { batch: WrittenPart[]; bytes: Uint8Array; run: { file: number; offset: number } } {
    const { files } = this.manifest;
    const at = this.next;
    const run = { file: at.file, offset: at.offset };
    const batch: WrittenPart[] = [];
    if (chunk && (chunk.file !== at.file || chunk.offset !== at.offset)) {
      // A chunk names the file its first byte belongs to. Empty files just before it may not
      // have been passed yet (a streamed snapshot announces them after the previous chunk): a
      // chunk may name any of them, or the first file with bytes after them.
      let nonEmpty = at.file;
      while (at.offset === 0 && nonEmpty < files.length && files[nonEmpty]!.size === 0) nonEmpty++;
      if (at.offset !== 0 || chunk.offset !== 0 || chunk.file < at.file || chunk.file > nonEmpty) {
        throw new SnapshotError(`chunk ${chunk.seq} starts at file ${chunk.file} offset ${chunk.offset}, expected file ${at.file} offset ${at.offset}`);
      }
    }
    let used = 0;
    // Empty files take no bytes: each is created as the position reaches it.
    while (at.file < files.length && (used < payload.length || files[at.file]!.size === 0)) {
      const f = files[at.file]!;
      const length = Math.min(f.size - at.offset, payload.length - used);
      batch.push({ rel: f.path, length, truncate: at.offset === 0, size: f.size, sha256: f.sha256, complete: at.offset + length === f.size });
      used += length;
      at.offset += length;
      if (at.offset === f.size) {
        at.file += 1;
        at.offset = 0;
      }
    }
    if (used < payload.length) throw new SnapshotError(`chunk ${chunk!.seq}: ${payload.length - used} bytes past the last file of the manifest`);
    return { batch, bytes: payload, run };
  }

  /** Each part names its file and offset, which must be where that file's bytes so far end. */
  private textBatch(chunk: SyncSnapshotChunk['chunk']): { batch: WrittenPart[]; bytes: Uint8Array; run?: undefined } {
    this.byPath ??= new Map(this.manifest.files.map((f) => [f.path, f]));
    const { parts, bytes } = decodedParts(chunk);
    const batch: WrittenPart[] = [];
    for (const part of parts) {
      const want = this.byPath.get(part.path);
      if (!want) throw new SnapshotError(`chunk names ${JSON.stringify(part.path)}, which is not in the manifest`);
      const written = this.written.get(part.path) ?? 0;
      if (this.written.has(part.path) && written === want.size) throw new SnapshotError(`${part.path}: a part after the file was complete`);
      if (part.offset !== written) throw new SnapshotError(`${part.path}: offset ${part.offset}, expected ${written}`);
      if (written + part.length > want.size) throw new SnapshotError(`${part.path}: more bytes than the manifest says`);
      this.written.set(part.path, written + part.length);
      batch.push({ rel: part.path, length: part.length, truncate: written === 0, size: want.size, sha256: want.sha256, complete: written + part.length === want.size });
    }
    return { batch, bytes };
  }

  /** After the writer has the bytes: each file whose last byte this chunk brought goes to onFile. */
  private passCompleteFiles(batch: readonly WrittenPart[], bytes: Uint8Array, onFile: FileListener): void {
    let at = 0;
    for (const part of batch) {
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
    if (this.done) throw new SnapshotError('the snapshot was aborted');
    if (this.streamed && !this.ended) throw new SnapshotError('verify before the end of a streamed snapshot');
    let result;
    try {
      result = await this.writer.finish();
    } catch (err) {
      throw new GwError('GW_ERR_STORAGE_WRITE_FAILED', { file: this.staging, detail: describeFsError(err) });
    } finally {
      await this.writer.close();
    }
    const { mismatched, sizes, dirs, incomplete, tableFiles } = result;
    const { files } = this.manifest;
    if (sizes) {
      for (const f of files) {
        const got = sizes.get(f.path);
        if (got !== f.size) throw new SnapshotError(`${f.path}: incomplete (${got ?? 0} of ${f.size} bytes)`);
      }
    } else {
      // Binary chunks: the writer checked the files it was given; any after them got no byte.
      const short = incomplete[0] ?? (tableFiles < files.length ? { rel: files[tableFiles]!.path, got: 0, size: files[tableFiles]!.size } : null);
      if (short) throw new SnapshotError(`${short.rel}: incomplete (${short.got} of ${short.size} bytes)`);
    }
    if (mismatched.length > 0) throw new SnapshotError(`${mismatched[0]}: sha256 does not match the manifest`);
    this.verifiedDirs = dirs;
  }

  /** Make the verified files durable, then swap them in. Returns the archive folder of the old core. */
  async commit(now: Date = new Date()): Promise<SnapshotCommit> {
    if (this.done) throw new SnapshotError('the snapshot was aborted');
    if (!this.verifiedDirs) throw new SnapshotError('commit before verify');
    // Verified: from here on the staging directory is the swap's, whatever abort() is asked.
    this.done = true;
    this.committing = true;
    const syncStarted = performance.now();
    await this.writeback;
    const durability = await syncTree(this.staging, this.manifest.files.map((f) => f.path), this.verifiedDirs);
    const syncMs = Math.round(performance.now() - syncStarted);
    if (!(await exists(this.staging))) throw new SnapshotError('the staging directory disappeared before the swap');
    const archiveRoot = archiveFolder(this.paths.varDir, now);
    const intent: SwapIntent = {
      id: this.manifest.id,
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
    if (this.committing) return;
    this.done = true;
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
