/**
 * The explorer's fake clock: one queue of events ordered by time, then by the order they were
 * scheduled, so a run is a pure function of its configuration and steps (replayable, shrinkable).
 */
export interface Scheduled {
  t: number;
  seq: number;
  run: () => void;
}

export class Clock {
  now = 0;
  private queue: Scheduled[] = [];
  private seq = 0;
  /** Events run so far: the runner bounds it so that no run can loop for ever. */
  events = 0;

  at(t: number, run: () => void): void {
    const e: Scheduled = { t: Math.max(t, this.now), seq: this.seq++, run };
    // Binary insertion: the queue stays sorted by (t, seq).
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.queue[mid]!;
      if (m.t < e.t || (m.t === e.t && m.seq < e.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, e);
  }

  /**
   * Run every event due up to `until` (inclusive), calling `after` once each has run. Stops early
   * (returning false) once `maxEvents` events have run in total.
   */
  runUntil(until: number, after: () => void, maxEvents: number): boolean {
    for (;;) {
      const next = this.queue[0];
      if (next === undefined || next.t > until) break;
      if (this.events >= maxEvents) return false;
      this.queue.shift();
      this.now = next.t;
      this.events += 1;
      next.run();
      after();
    }
    this.now = Math.max(this.now, until);
    return true;
  }
}
