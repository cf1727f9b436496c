/**
 * A repeated line said once per window, with a count. A peer that is refused, or a listener that
 * cannot bind, fails the same way at every redial (about once a second): logged each time, that one
 * line buries everything else in the journal. The caller decides what "the same" is (a key) and
 * which lines are filtered at all (logger.ts: warnings and worse; acceptor.ts: refusals by peer).
 */
export const REPEAT_WINDOW_MS = 60_000;

export type RepeatVerdict =
  /** Log it; `repeated` is how many identical lines were held back since it was last logged. */
  | { kind: 'log'; repeated: number }
  | { kind: 'drop' };

interface Seen {
  loggedAt: number;
  held: number;
}

/** At most this many distinct lines remembered; the oldest is forgotten first. */
const MAX_KEYS = 256;

export class RepeatFilter {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly now: () => number,
    private readonly windowMs = REPEAT_WINDOW_MS,
  ) {}

  check(key: string): RepeatVerdict {
    const t = this.now();
    const s = this.seen.get(key);
    if (s !== undefined && t - s.loggedAt < this.windowMs) {
      s.held += 1;
      return { kind: 'drop' };
    }
    const repeated = s?.held ?? 0;
    this.seen.delete(key);
    this.seen.set(key, { loggedAt: t, held: 0 });
    if (this.seen.size > MAX_KEYS) this.seen.delete(this.seen.keys().next().value as string);
    return { kind: 'log', repeated };
  }
}
