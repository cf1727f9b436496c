import { STREAMED, type Router } from '../router.js';

/** The Prometheus text of this node's metrics (src/daemon/metrics.ts). */
export interface MetricsText {
  text(): Promise<string>;
  contentType(): string;
}

/** GET /metrics: Prometheus text exposition (outside /v0/: scrapers expect this path). */
export function registerMetricsRoutes(router: Router, metrics: MetricsText): void {
  router.get('/metrics', async (req) => {
    const text = await metrics.text();
    req.res.writeHead(200, { 'Content-Type': metrics.contentType(), 'Content-Length': Buffer.byteLength(text) });
    req.res.end(text);
    return STREAMED;
  });
}
