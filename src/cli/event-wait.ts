import type { EventRecord } from '../core/wire.js';
import type { GwClient } from './client.js';

/**
 * Follow the event stream from `since` until an event matches or `timeoutSecs` pass: how `--wait`
 * learns the outcome of an operation without polling. Every event is shown to `seen` first (for a
 * timeout message that says what happened meanwhile). Resolves with the match, or null on timeout.
 */
export async function waitForEvent(
  client: GwClient,
  query: { since: number; type: string },
  match: (e: EventRecord) => boolean,
  timeoutSecs: number,
  seen: (e: EventRecord) => void = () => undefined,
): Promise<EventRecord | null> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutSecs * 1000);
  let found: EventRecord | null = null;
  try {
    await client.streamEvents(
      { since: query.since, follow: true, type: query.type },
      (e) => {
        if (found) return;
        seen(e);
        if (!match(e)) return;
        found = e;
        abort.abort();
      },
      abort.signal,
    );
  } finally {
    clearTimeout(timer);
  }
  return found;
}
