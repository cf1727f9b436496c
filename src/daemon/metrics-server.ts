import { createServer, type Server } from 'node:http';

import { GwError } from '../core/errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * Prometheus on TCP, for scrapers that cannot reach the unix socket: GET /metrics only, read-only,
 * no body accepted. Off unless a port is given (--metrics-port); bound to loopback by default.
 */
export class MetricsServer {
  private server: Server | null = null;
  port: number | null = null;

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  async listen(port: number, host: string): Promise<void> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        const body = JSON.stringify(new GwError('GW_ERR_API_NOT_FOUND', { method: req.method ?? '-', path: (req.url ?? '').slice(0, 200) }).toBody());
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(body);
        return;
      }
      this.metrics.text().then(
        (text) => res.writeHead(200, { 'Content-Type': this.metrics.contentType() }).end(text),
        (err: unknown) => {
          this.logger.error({ err }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
    });
    server.on('clientError', (_e, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new GwError('GW_ERR_DAEMON_BAD_OPTION', { option: '--metrics-port', detail: `cannot listen on ${host}:${port}: ${err.code ?? err.message}` })),
      );
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }
}
