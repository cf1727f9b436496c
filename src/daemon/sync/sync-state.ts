import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { writeJsonAtomic } from '../storage/atomic-write.js';

export const SYNC_STATE_FILE = 'sync-state.json';

/**
 * var/sync-state.json. `holder` is the master whose configuration this node's core is, written only
 * after a full snapshot of it was adopted (and cleared just before one is swapped in, so a crash in
 * between makes the next connection ask for a full snapshot again). `lastPeer` tells a node that
 * was once paired (OutOfDate while apart) from one that never was (NotApplicable).
 */
export interface SyncStateFile {
  version: 1;
  holder: string | null;
  lastPeer: string | null;
}

export class SyncStateStore {
  private queue: Promise<void> = Promise.resolve();
  /** What the file holds (as far as this process wrote or read it). */
  private written: SyncStateFile;

  private constructor(
    readonly file: string,
    private value: SyncStateFile,
  ) {
    this.written = value;
  }

  static async open(varDir: string): Promise<SyncStateStore> {
    const file = path.join(varDir, SYNC_STATE_FILE);
    let value: SyncStateFile = { version: 1, holder: null, lastPeer: null };
    try {
      const raw = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<SyncStateFile>;
      // Anything odd counts as "holds nothing": the worst outcome is one full snapshot more.
      value = {
        version: 1,
        holder: typeof raw.holder === 'string' ? raw.holder : null,
        lastPeer: typeof raw.lastPeer === 'string' ? raw.lastPeer : null,
      };
    } catch {
      // Missing or damaged: as above.
    }
    return new SyncStateStore(file, value);
  }

  get holder(): string | null {
    return this.value.holder;
  }

  get lastPeer(): string | null {
    return this.value.lastPeer;
  }

  /**
   * The change takes effect here at once and is written behind the writes before it, one at a
   * time, in order (no update is lost to a race). What this node tells its master is then always
   * the latest; should a write fail, the file is behind memory, and the next start, reading it,
   * asks for a full snapshot at worst.
   */
  update(change: Partial<Omit<SyncStateFile, 'version'>>): Promise<void> {
    const next = { ...this.value, ...change };
    this.value = next;
    // Each call waits for its own write, and compares with what the file holds (not with memory):
    // after a failed write the same change is written again, and its caller hears of a failure.
    const run = this.queue.then(async () => {
      if (next.holder === this.written.holder && next.lastPeer === this.written.lastPeer) return;
      await writeJsonAtomic(this.file, next);
      this.written = next;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Every write asked for so far has ended (written or failed). */
  flush(): Promise<void> {
    return this.queue;
  }
}
