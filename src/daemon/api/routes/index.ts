import type { ConfigService } from '../../services/config-service.js';
import type { EventFeed } from '../../services/event-service.js';
import type { NetworkService } from '../../services/network-service.js';
import type { RedundancyService } from '../../services/redundancy-service.js';
import type { StatusService } from '../../services/status-service.js';
import type { TrustService } from '../../services/trust-service.js';
import type { Router } from '../router.js';
import { registerCertRoutes } from './certs.js';
import { registerConfigRoutes } from './config.js';
import { registerConnectionRoutes } from './connections.js';
import { registerEventRoutes } from './events.js';
import { registerMetricsRoutes, type MetricsText } from './metrics.js';
import { registerNetworkRoutes } from './network.js';
import { registerRedundancySettingsRoutes } from './redundancy.js';
import { registerStatusRoutes } from './status.js';

/** What the local API serves, one service per feature; each route file gets only its own. */
export interface ApiServices {
  status: StatusService;
  events: EventFeed;
  metrics: MetricsText;
  network: NetworkService;
  redundancy: RedundancyService;
  trust: TrustService;
  config: ConfigService;
}

/**
 * The whole route table of the local API, on `router`. The daemon calls it with its services; a
 * script or a test may call it with stubs to read the table (method, pattern, body schema).
 */
export function registerAllRoutes(router: Router, services: ApiServices): void {
  registerStatusRoutes(router, services.status);
  registerEventRoutes(router, services.events);
  registerMetricsRoutes(router, services.metrics);
  registerNetworkRoutes(router, services.network);
  registerRedundancySettingsRoutes(router, services.redundancy);
  registerCertRoutes(router, services.trust);
  registerConnectionRoutes(router, services.trust);
  registerConfigRoutes(router, services.config);
}
