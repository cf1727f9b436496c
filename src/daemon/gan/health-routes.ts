import type { IncomingMessage, ServerResponse } from 'node:http';

import type { StatusResponse } from '../../core/wire.js';

/**
 * Unauthenticated, read-only probes for load balancers on the Gateway Network ports
 * (DESIGN.md section 3): `/health/live|ready|active|standby` answer 200 or 503, and
 * `/system/gwinfo` is `key=value;` pairs. Nothing here reveals more than a status banner would.
 */
export function handleHealthRequest(req: IncomingMessage, res: ServerResponse, status: () => StatusResponse): void {
  const pathname = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
  let s: StatusResponse;
  try {
    s = status();
  } catch {
    return send(res, 503, 'starting\n');
  }
  const active = s.redundancy.activity === 'Active';
  switch (pathname) {
    case '/health/live':
      return send(res, 200, 'live\n');
    case '/health/ready':
      return s.daemon.ready ? send(res, 200, 'ready\n') : send(res, 503, 'not ready\n');
    case '/health/active':
      return active ? send(res, 200, 'active\n') : send(res, 503, `${s.redundancy.activity.toLowerCase()}\n`);
    case '/health/standby':
      return !active ? send(res, 200, `${s.redundancy.activity.toLowerCase()}\n`) : send(res, 503, 'active\n');
    case '/system/gwinfo':
      return send(res, 200, gwinfo(s));
    default:
      return send(res, 404, 'not found\n');
  }
}

export function gwinfo(s: StatusResponse): string {
  const pairs: Array<[string, string | number | boolean]> = [
    ['systemName', s.node.systemName],
    ['version', s.node.version],
    ['edition', s.node.edition],
    ['role', s.redundancy.role],
    ['activity', s.redundancy.activity],
    ['syncState', s.redundancy.sync.state],
    ['epoch', s.redundancy.epoch],
    ['ready', s.daemon.ready],
    ['peerConnected', s.redundancy.peer?.connected ?? false],
  ];
  // Values are escaped so a system name with ';' or '=' cannot break the format.
  return pairs.map(([k, v]) => `${k}=${encodeURIComponent(String(v))};`).join('') + '\n';
}

function send(res: ServerResponse, statusCode: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(statusCode, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(body);
}
