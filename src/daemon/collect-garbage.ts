import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * One full garbage collection. The start runs one (`compact`) after its work on the configuration
 * and before the node serves anything; a snapshot's adoption runs plain ones as it goes.
 *
 * The startup scan reads every resource file (100,000 resources: 300,000 files, 800 MB) and V8
 * grows its heap to about twice what the scan keeps alive. Node runs no idle-time tasks, so V8's
 * memory reducer rarely gives that heap back: a master with 100,000 resources rested at ~300 MB
 * resident (heap 230 MB, 120 MB of it live) for minutes after its start, and a full snapshot then
 * came on top of that. A collection at this one point, before the link and the API are up (so no
 * peer or client waits behind its pause), lets V8 release the pages.
 *
 * `gc` is not exposed without `--expose-gc` on node's command line, which the bin scripts do not
 * control (a user runs `node bin/gwd`, npm's shim, a unit); V8 installs it into contexts created
 * after the flag is set, which is what Node's own documentation of v8.setFlagsFromString shows.
 * A plain full collection frees the scan's garbage but releases only pages left wholly empty: the
 * survivors (the store's map, built while the scan ran) stay spread over most of the pages the scan
 * grew (100,000 resources: heap 202 MB total, 84 MB live after it). So the start's collection also
 * compacts every page (`--compact-on-every-full-gc`, set for it and reset after), which moves the
 * survivors together and gives the rest back; other collections keep V8's own heuristics (a
 * compaction copies the live set into new pages before the old ones go: in the middle of an
 * adoption that would raise the very peak it is there to cut).
 * Returns the pause in ms, or null where no collection could be run.
 */
let gc: (() => void) | null | undefined;

export function collectGarbage({ compact = false }: { compact?: boolean } = {}): number | null {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const found: unknown = vm.runInNewContext('typeof gc === "function" ? gc : null');
      gc = typeof found === 'function' ? (found as () => void) : null;
    } catch {
      gc = null;
    }
  }
  if (gc === null) return null;
  const started = performance.now();
  if (compact) v8.setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    if (compact) v8.setFlagsFromString('--no-compact-on-every-full-gc');
  }
  return Math.round(performance.now() - started);
}
