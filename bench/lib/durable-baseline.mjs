import { closeSync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

import { tempDir } from './procs.mjs';

/**
 * The least durable work for a run of configuration changes, as a floor for the store's apply rate:
 * each change's files (the same names, sizes and directories the store writes) written under a
 * temporary name and renamed into place, and one fsync per batch (a line appended to a log and
 * fdatasync'd: the commit point of a batch, which the store has too). No fsync of the files or of
 * their directories, no journal of the contents, no parsing or checking: what a store that only
 * promises "a batch is either all there after a crash or replayed" could not do with less.
 *   batches: [[{ rel, data }]] (rel: path under the store's resources directory)
 *   returns the wall time in ms. Its tree is removed when the whole run ends (tempDir): removed
 *   right after, on ext4 without a journal, it charged the next measured step (on a fresh ext4 loop
 *   device, the burst's baseline ran at 2,293-3,689/s before the backup and 218-304/s after it,
 *   once the first run's tree of 15,000 inodes had been removed; 2026-12-05).
 */
export function durableBaseline(batches) {
  const t = tempDir('gwd-bench-durable-');
  try {
    const made = new Set();
    const log = openSync(path.join(t.dir, 'batches.log'), 'a');
    const t0 = process.hrtime.bigint();
    let n = 0;
    for (const batch of batches) {
      for (const { rel, data } of batch) {
        const file = path.join(t.dir, rel);
        const dir = path.dirname(file);
        if (!made.has(dir)) {
          mkdirSync(dir, { recursive: true });
          made.add(dir);
        }
        const tmp = `${file}.tmp-${n++}`;
        writeFileSync(tmp, data);
        renameSync(tmp, file);
      }
      writeSync(log, `batch of ${batch.length}\n`);
      fdatasyncSync(log);
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    closeSync(log);
    return ms;
  } finally {
    t.cleanup();
  }
}

/** The store's file text for a value (apply-entry.ts writes JSON with two spaces and a newline). */
export function storeJson(value) {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The files a journal entry makes the store write (its version file, and resource.json with meta). */
export function entryFiles(entry) {
  const dir = path.join(entry.collection, entry.module, entry.type, entry.name ?? '');
  const out = [];
  if (!entry.deleted && entry.content) out.push({ rel: path.join(dir, entry.version === 'primary' ? 'config.json' : 'backupConfig.json'), data: storeJson(entry.content) });
  if (entry.meta) out.push({ rel: path.join(dir, 'resource.json'), data: storeJson(entry.meta) });
  return out;
}

/**
 * The files of resources as a store holds them, one change per resource directory: each
 * `<typeDir>/<name>/` whose name passes `match`, read back (same bytes as written).
 */
export function resourceChanges(typeDir, rel, match) {
  const out = [];
  for (const name of readdirSync(typeDir).filter(match).sort()) {
    const files = readdirSync(path.join(typeDir, name)).filter((f) => f.endsWith('.json'));
    out.push(files.map((f) => ({ rel: path.join(rel, name, f), data: readFileSync(path.join(typeDir, name, f)) })));
  }
  return out;
}

/** Changes in batches of `size`, each change's files kept together. */
export function inBatches(changes, size) {
  const out = [];
  for (let i = 0; i < changes.length; i += size) out.push(changes.slice(i, i + size).flat());
  return out;
}
