import type { Role } from '../../core/wire.js';

/** redundancy.json as validated (defaults filled). */
export interface RedundancySettings {
  version: 1;
  role: Role;
  standbyActivityLevel: 'Cold' | 'Warm';
  joinWaitTime: number;
  failoverTimeout: number;
  masterRecoveryMode: 'Automatic' | 'Manual';
  syncTimeoutSecs: number;
  fastFailover: boolean;
  master: {
    host: string;
    port: number;
    enableSsl: boolean;
    pingRate: number;
    pingTimeout: number;
    pingMaxMissed: number;
    reconnectPeriod: number;
  };
  hooks: {
    onActivityChange: string | null;
    preActivate: string | null;
    timeoutMs: number;
  };
}

/** gateway-network.json as validated (defaults filled). */
export interface GatewayNetworkSettings {
  version: 1;
  enabled: boolean;
  bindAddress: string;
  port: number;
  sslPort: number;
  requireSsl: boolean;
  requireTwoWayAuth: boolean;
  allowIncoming: boolean;
  securityPolicy: 'ApprovedOnly' | 'Unrestricted' | 'SpecifiedList';
  whitelist: string[];
}
