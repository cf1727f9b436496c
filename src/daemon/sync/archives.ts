import { promises as fsp } from 'node:fs';
import path from 'node:path';

import type { ConfigArchive, ConfigArchiveReason } from '../../core/config-wire.js';
import type { EventLog } from '../events/event-log.js';
import type { Logger } from '../logger.js';
import { writeJsonAtomic } from '../storage/atomic-write.js';

/**
 * var/archive/<time>/ (DESIGN.md section 6): what a full sync replaced on a backup. Each folder is
 * named for the time it was made (data-dir.ts archiveFolder), so names sort oldest first, and holds
 * archive.json saying why it was made. Pruning keeps the newest `syncArchiveKeep`; only folders
 * whose name is such a time are counted or removed: anything else in var/archive (a folder put
 * there by hand, a stray file) is left alone.
 */

export const ARCHIVE_RECORD = 'archive.json';
/** syncArchiveKeep's default (schemas/settings/redundancy.schema.json). */
export const DEFAULT_ARCHIVE_KEEP = 5;

/** The record beside an archive's content. */
export interface ArchiveRecord {
  reason: ConfigArchiveReason;
  madeAt: string;
  sourceRevision: number | null;
  peer: string | null;
}

const REASONS: readonly ConfigArchiveReason[] = ['first-sync', 'resync-requested', 'resync-by-master', 'journal-behind', 'sync-broken', 'unknown'];
/** archiveFolder's names: an ISO 8601 UTC time with `:` and `.` as `-`. */
const TIME_NAME = /^(\d{4}-\d{2}-\d{2}T\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/;

export function archivesDir(varDir: string): string {
  return path.join(varDir, 'archive');
}

/** The time an archive's name stands for, or null when the name is not one. */
export function archiveTime(name: string): string | null {
  const m = TIME_NAME.exec(name);
  if (!m) return null;
  const iso = `${m[1]}:${m[2]}:${m[3]}.${m[4]}Z`;
  return Number.isNaN(Date.parse(iso)) ? null : iso;
}

/** Names of the archive folders (time-named directories), oldest first. */
export async function archiveNames(varDir: string): Promise<string[]> {
  const dir = archivesDir(varDir);
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries
    .filter((e) => e.isDirectory() && archiveTime(e.name) !== null)
    .map((e) => e.name)
    .sort();
}

export async function writeArchiveRecord(folder: string, record: ArchiveRecord): Promise<void> {
  await writeJsonAtomic(path.join(folder, ARCHIVE_RECORD), record);
}

async function readArchiveRecord(folder: string): Promise<Partial<ArchiveRecord>> {
  try {
    const value = JSON.parse(await fsp.readFile(path.join(folder, ARCHIVE_RECORD), 'utf8')) as unknown;
    return value !== null && typeof value === 'object' ? (value as Partial<ArchiveRecord>) : {};
  } catch {
    return {};
  }
}

/** Regular files under `dir` and their bytes (the record not counted); what cannot be read counts as nothing. */
async function tally(dir: string, top = true): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const sub = await tally(p, false);
      files += sub.files;
      bytes += sub.bytes;
    } else if (e.isFile() && !(top && e.name === ARCHIVE_RECORD)) {
      const st = await fsp.lstat(p).catch(() => null);
      if (!st) continue;
      files += 1;
      bytes += st.size;
    }
  }
  return { files, bytes };
}

/** Every archive folder, oldest first, with why it was made and its size. */
export async function listArchives(varDir: string): Promise<ConfigArchive[]> {
  const out: ConfigArchive[] = [];
  for (const name of await archiveNames(varDir)) {
    const folder = path.join(archivesDir(varDir), name);
    const [record, size] = await Promise.all([readArchiveRecord(folder), tally(folder)]);
    out.push({
      name,
      path: folder,
      time: archiveTime(name),
      reason: REASONS.includes(record.reason as ConfigArchiveReason) ? (record.reason as ConfigArchiveReason) : 'unknown',
      sourceRevision: Number.isSafeInteger(record.sourceRevision) ? record.sourceRevision! : null,
      peer: typeof record.peer === 'string' ? record.peer : null,
      files: size.files,
      bytes: size.bytes,
    });
  }
  return out;
}

export interface PruneResult {
  removed: string[];
  /** Folders that could not be removed (each left as it is; the others are still pruned). */
  failed: Array<{ folder: string; detail: string }>;
}

/**
 * Remove the oldest archive folders until at most `keep` are left (0: keep all), never one named
 * in `protect` (the archive just made). A folder that cannot be removed is reported and counted as
 * kept, so the next older one is not removed in its place.
 */
export async function pruneArchives(
  varDir: string,
  keep: number,
  protect: ReadonlySet<string> = new Set(),
  remove: (folder: string) => Promise<void> = (folder) => fsp.rm(folder, { recursive: true, force: true }),
): Promise<PruneResult> {
  const result: PruneResult = { removed: [], failed: [] };
  if (!Number.isSafeInteger(keep) || keep <= 0) return result;
  const names = await archiveNames(varDir);
  let excess = names.length - keep;
  for (const name of names) {
    if (excess <= 0) break;
    if (protect.has(name)) continue;
    excess -= 1;
    const folder = path.join(archivesDir(varDir), name);
    try {
      await remove(folder);
      result.removed.push(folder);
    } catch (err) {
      result.failed.push({ folder, detail: (err as Error).message });
    }
  }
  return result;
}

export interface NewArchiveOptions {
  varDir: string;
  /** Names of the archive folders before the adoption: any other one now is the new archive. */
  before: readonly string[];
  /** The folder the swap named (its previous core), when there was one. */
  folder: string | null;
  record: Omit<ArchiveRecord, 'madeAt'>;
  keep: number;
  logger: Logger;
  events: Pick<EventLog, 'emit'>;
  now?: () => Date;
  remove?: (folder: string) => Promise<void>;
}

/**
 * After a full sync made a new archive: record why, then prune to the newest `keep`, never the new
 * one. Nothing here fails the sync, which is complete already: a failure is logged, and a folder
 * that could not be removed is reported as `sync.archive.pruneFailed`.
 */
export async function recordAndPrune(o: NewArchiveOptions): Promise<PruneResult> {
  const made = new Set<string>();
  try {
    const seen = new Set(o.before);
    for (const name of await archiveNames(o.varDir)) if (!seen.has(name)) made.add(name);
    if (o.folder && path.dirname(o.folder) === archivesDir(o.varDir)) made.add(path.basename(o.folder));
    const madeAt = (o.now?.() ?? new Date()).toISOString();
    for (const name of made) await writeArchiveRecord(path.join(archivesDir(o.varDir), name), { ...o.record, madeAt });
  } catch (err) {
    o.logger.warn({ err, archives: [...made] }, 'could not record why the archive was made; it is listed with reason unknown');
  }
  let result: PruneResult;
  try {
    result = await pruneArchives(o.varDir, o.keep, made, o.remove);
  } catch (err) {
    result = { removed: [], failed: [{ folder: archivesDir(o.varDir), detail: (err as Error).message }] };
  }
  if (result.removed.length > 0) o.logger.info({ removed: result.removed, keep: o.keep }, 'old archives pruned (syncArchiveKeep)');
  for (const f of result.failed) {
    o.logger.warn({ folder: f.folder, detail: f.detail, keep: o.keep }, 'could not prune an old archive; the sync is not affected');
    o.events.emit('sync.archive.pruneFailed', { folder: f.folder, detail: f.detail, keep: o.keep });
  }
  return result;
}
