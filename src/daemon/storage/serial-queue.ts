/**
 * Runs async jobs one at a time, in call order: a store's writes, a settings change. A job that
 * fails rejects its own caller only; the jobs queued behind it still run.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    // The tail settles to nothing: it must not keep the last job's result alive (a rescan's entries).
    this.tail = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** Resolves once every job has settled, those queued by jobs while it waited included. */
  async idle(): Promise<void> {
    let tail: Promise<unknown>;
    do {
      tail = this.tail;
      await tail;
    } while (tail !== this.tail);
  }
}
