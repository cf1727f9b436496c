import { formatHostPort } from '../core/gan/address.js';
import type { ListenerView, StatusResponse } from '../core/wire.js';
import type { Colors } from './io.js';

/**
 * The `Listeners` line of `gwctl status`: each Gateway Network listener as it is, so a node left
 * deaf (a bind that failed at start, a listener lost) shows, e.g.
 * `plain 127.0.0.1:8088 listening, ssl 0.0.0.0:8060 DOWN (EADDRINUSE)`.
 * Null for a gwd too old to report them.
 */
export function formatListeners(listeners: StatusResponse['listeners'] | undefined, c: Colors): string | null {
  if (!listeners) return null;
  if (!listeners.enabled) return c.yellow('off (gateway-network.json enabled false)');
  const one = (name: string, l: ListenerView): string => {
    const where = `${name} ${formatHostPort(l.address, l.port ?? '-')}`;
    if (l.listening) return `${where} listening`;
    return c.red(`${where} DOWN (${errnoOf(l.error)})`);
  };
  return `${one('plain', listeners.plain)}, ${one('ssl', listeners.ssl)}`;
}

/** Node's listen errors read `listen EADDRINUSE: address already in use 127.0.0.1:8088`: the errno says it. */
function errnoOf(error: string | null): string {
  if (error === null) return 'not listening';
  return /\b(E[A-Z]{3,})\b/.exec(error)?.[1] ?? error;
}
