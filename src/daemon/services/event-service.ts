import type { ServerResponse } from 'node:http';

import type { EventLog } from '../events/event-log.js';

/** The event log as GET /v0/events reads it, and the server that ends a follow stream at shutdown. */
export interface EventFeed extends Pick<EventLog, 'since' | 'subscribe'> {
  /** A follow stream stays open: the API server ends it when it closes. */
  trackStream(res: ServerResponse): void;
}
