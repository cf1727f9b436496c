import type { Metrics } from '../../metrics.js';
import { STREAMED, type Router } from '../router.js';

/** GET /metrics: Prometheus text exposition (outside /v0/: scrapers expect this path). */
export function registerMetricsRoutes(router: Router, metrics: Metrics): void {
  router.get('/metrics', async (req) => {
    const text = await metrics.text();
    req.res.writeHead(200, { 'Content-Type': metrics.contentType(), 'Content-Length': Buffer.byteLength(text) });
    req.res.end(text);
    return STREAMED;
  });
}
