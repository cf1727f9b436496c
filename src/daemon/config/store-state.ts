import type { Collection, JournalEntry, ResourceMeta } from '../../core/config-model.js';
import { readOptional, stageFileStreamed } from '../storage/atomic-write.js';

/** What the store last committed for one resource: enough to tell a hand edit from a known state. */
export interface IndexEntry {
  primary: string;
  backup: string | null;
  enabled: boolean;
}

/**
 * var/config-state.json: the revision whose changes are all on disk, and the signatures committed
 * at that revision. Written after the files of each change, so at startup every journal entry above
 * `revision` is one whose files may be incomplete and is applied again (roll-forward), and any
 * other difference between the disk and `index` was made by hand while gwd was stopped.
 */
export interface StoreState {
  version: 1;
  revision: number;
  /** The master's revision this store has applied up to (0 when nothing was ever replicated). */
  syncedRevision?: number;
  index: Record<string, IndexEntry>;
}

export function indexKey(collection: Collection, address: string): string {
  return `${collection}/${address}`;
}

/** Changes grouped by resource (indexKey), each group in the given order. */
export function byResource<T extends { collection: Collection; address: string }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const key = indexKey(item.collection, item.address);
    const list = out.get(key);
    if (list) list.push(item);
    else out.set(key, [item]);
  }
  return out;
}

export async function readStoreState(file: string): Promise<StoreState | null> {
  const text = await readOptional(file);
  if (text === undefined) return null;
  try {
    const v = JSON.parse(text) as StoreState;
    if (v.version === 1 && Number.isInteger(v.revision) && v.revision >= 0 && typeof v.index === 'object' && v.index) return v;
  } catch {
    // Not JSON: handled as below.
  }
  // Damaged: the journal holds the same history, and the store rebuilds from it rather than
  // refusing to start. The file is replaced at the next commit.
  return null;
}

export async function writeStoreState(file: string, state: StoreState): Promise<void> {
  // On one line: indented, the index of 100,000 resources is a 24 MB string to build and write
  // (no one reads this file by eye; `gwctl config` shows what it holds). Written in pieces
  // (storeStateChunks): as one string (~19 MB at 100,000 resources, with what JSON.stringify
  // builds on the way and its UTF-8 copy) it was the largest allocation of a backup's adoption of
  // a snapshot, at the moment its heap was fullest. The caller holds the store's lock: the index
  // does not change while it is written.
  const staged = await stageFileStreamed(
    file,
    async (out) => {
      for (const chunk of storeStateChunks(state)) await out.write(chunk);
    },
    { mode: 0o640 },
  );
  await staged.commit();
}

/**
 * Index entries a piece of the state file holds (~190 bytes each): a piece stays under V8's large
 * object size (128 KB), so it is made and let go in the young generation rather than in pages of
 * its own that stay committed until the next full collection.
 */
const STATE_CHUNK_ENTRIES = 500;

/** `JSON.stringify(state)` and a newline, in pieces of STATE_CHUNK_ENTRIES index entries. */
export function* storeStateChunks(state: StoreState): Generator<string> {
  const { index, ...rest } = state;
  const head = JSON.stringify(rest);
  let piece = `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"index":{`;
  let n = 0;
  for (const key of Object.keys(index)) {
    piece += `${n === 0 ? '' : ','}${JSON.stringify(key)}:${JSON.stringify(index[key])}`;
    if (++n % STATE_CHUNK_ENTRIES === 0) {
      yield piece;
      piece = '';
    }
  }
  yield `${piece}}}\n`;
}

/** The index after `entry` is applied. */
export function foldIndex(index: Record<string, IndexEntry>, entry: JournalEntry): void {
  const key = indexKey(entry.collection, entry.address);
  if (entry.version === 'primary' && entry.deleted) {
    delete index[key];
    return;
  }
  if (entry.meta) index[key] = indexEntryOf(entry.meta);
}

/** What the index keeps of a resource.json. */
export function indexEntryOf(meta: ResourceMeta): IndexEntry {
  return { primary: meta.signature, backup: meta.backupSignature, enabled: meta.enabled };
}
