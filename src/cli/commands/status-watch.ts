/**
 * `gwctl status --watch`: the pair view kept up to date from the event stream, not by polling.
 * Status is read once, then again after each event that can change the pair (from the status's
 * own eventSeq on, so nothing between the two is missed). On a terminal the view is redrawn, at
 * most once per interval (and once per interval anyway, so "3 min ago" moves); into a pipe or a
 * file, one timestamped line per change of the pair (`--json`: one status object per line).
 */
import { GwError } from '../../core/errors.js';
import type { EventRecord, StatusResponse } from '../../core/wire.js';
import { unreachable, unreachableDetail } from '../client.js';
import type { CommandContext } from '../context.js';
import { clock, pairSummary, watchLine } from '../format-pair.js';
import { hint } from '../format.js';

/** Event types after which the pair may look different. */
const RELEVANT = ['activity.', 'role.', 'epoch.', 'peer.', 'sync.', 'redundancy.', 'witness.', 'failover.', 'connection.', 'node.', 'daemon.'];

export function relevantEvent(e: Pick<EventRecord, 'type'>): boolean {
  return RELEVANT.some((p) => e.type.startsWith(p));
}

/** Clear the screen and put the cursor home (ANSI), as `watch` does between two views. */
const CLEAR = '\u001b[H\u001b[2J';

export interface WatchOptions {
  intervalMs: number;
  /** The terminal's view of one status (status.ts formatStatus; passed in: status.ts imports this file). */
  render: (s: StatusResponse) => string;
}

export async function watchStatus(ctx: CommandContext, opts: WatchOptions): Promise<void> {
  const tty = ctx.io.stdout.isTTY === true && !ctx.json;
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let failure: unknown = null;
  let lastSummary: string | null = null;
  let lastDraw = 0;
  let reading: Promise<void> | null = null;
  let dirty = false;
  let later: NodeJS.Timeout | null = null;

  const show = (s: StatusResponse): void => {
    const summary = pairSummary(s);
    if (tty) {
      lastDraw = Date.now();
      const footer = hint(`${clock(new Date(), new Date())}: redrawn at each change, at most every ${opts.intervalMs / 1000} s; Ctrl-C ends`);
      ctx.out(`${CLEAR}${opts.render(s)}\n${footer}`);
    } else if (summary !== lastSummary) {
      ctx.out(ctx.json ? `${JSON.stringify(s)}\n` : watchLine(s, new Date()));
    }
    lastSummary = summary;
  };

  // One read at a time; events that arrive meanwhile make one more read after it, not one each.
  const refresh = (): void => {
    if (abort.signal.aborted) return;
    if (reading !== null) {
      dirty = true;
      return;
    }
    const wait = tty ? lastDraw + opts.intervalMs - Date.now() : 0;
    if (wait > 0) {
      later ??= setTimeout(() => {
        later = null;
        refresh();
      }, wait);
      return;
    }
    dirty = false;
    reading = ctx.client
      .status()
      .then(show)
      .catch((err: unknown) => {
        failure = err;
        abort.abort();
      })
      .finally(() => {
        reading = null;
        if (dirty) refresh();
      });
  };

  const ticker = tty ? setInterval(refresh, opts.intervalMs) : null;
  let watching = false;
  try {
    const first = await ctx.client.status();
    watching = true;
    show(first);
    // An older gwd has no eventSeq: its whole backlog is replayed, which only costs reads.
    await ctx.client.streamEvents({ since: first.daemon.eventSeq, follow: true }, (e) => {
      if (relevantEvent(e)) refresh();
    }, abort.signal);
    if (reading !== null) await reading;
    if (failure !== null) throw failure;
    if (!abort.signal.aborted) {
      // The daemon ended the stream: it is stopping (a kill breaks the stream instead, same code).
      throw unreachable(ctx.socketPath, 'its event stream ended');
    }
  } catch (err) {
    // Said as what it is: the daemon was there and went away (stopped, killed) while watched.
    if (watching && err instanceof GwError && err.code === 'GW_ERR_CLI_DAEMON_UNREACHABLE') {
      // The inner error's own detail, not its message: that would say "not reachable on ..." twice.
      throw unreachable(ctx.socketPath, `gwd went away while watched: ${unreachableDetail(err)}`);
    }
    throw err;
  } finally {
    if (ticker) clearInterval(ticker);
    if (later) clearTimeout(later);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
