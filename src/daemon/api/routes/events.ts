import type { EventRecord } from '../../../core/wire.js';
import type { EventFeed } from '../../services/event-service.js';
import { STREAMED, type Router } from '../router.js';
import { boolParam, intParam } from '../query-params.js';

/**
 * GET /v0/events?since=SEQ&limit=N&follow=1 as NDJSON, one event per line. Without follow the
 * response ends after the backlog; with follow it stays open and each new event is written as it
 * happens (a line with only `{}` is never sent: readers can parse every line).
 */
export function registerEventRoutes(router: Router, events: EventFeed): void {
  router.get('/v0/events', (req) => {
    const since = intParam(req.query, 'since', 0);
    const limit = intParam(req.query, 'limit', 10_000);
    const follow = boolParam(req.query, 'follow');
    const type = req.query.get('type');
    const wanted = (e: EventRecord): boolean => !type || e.type === type || e.type.startsWith(`${type}.`);

    const res = req.res;
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store' });
    // The type filter comes before the limit: `limit=5&type=activity` is five activity events.
    const backlog = events.since(since).filter(wanted).slice(0, limit);
    if (backlog.length > 0) res.write(backlog.map((e) => JSON.stringify(e)).join('\n') + '\n');
    if (!follow) {
      res.end();
      return STREAMED;
    }
    let last = backlog.at(-1)?.seq ?? Math.max(since, 0);
    // Events between the backlog read and the subscription are caught up by seq.
    const unsubscribe = events.subscribe((e) => {
      if (e.seq <= last) return;
      last = e.seq;
      if (wanted(e)) res.write(`${JSON.stringify(e)}\n`);
    });
    events.trackStream(res);
    res.on('close', unsubscribe);
    return STREAMED;
  });
}
