// The settings types live in core (shared with gwctl); re-exported here for daemon code.
export type { GatewayNetworkSettings, RedundancySettings } from '../../core/settings/types.js';
