import type { Role } from '../roles.js';

/**
 * Settings files local to a node (DESIGN.md sections 3 and 4), as validated with defaults filled.
 * Declared in core so the daemon, gwctl and tests share them.
 */

/** redundancy.json */
export interface RedundancySettings {
  version: 1;
  role: Role;
  standbyActivityLevel: 'Cold' | 'Warm';
  joinWaitTime: number;
  failoverTimeout: number;
  masterRecoveryMode: 'Automatic' | 'Manual';
  syncTimeoutSecs: number;
  /** Bound of var/config-journal.ndjson: compacted (newest half kept) when over; a backup older than its tail gets a full snapshot. */
  syncJournalMaxBytes: number;
  /** var/archive/<time>/ folders a backup keeps after each full sync, newest first (0: all). */
  syncArchiveKeep: number;
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
  /** Section 9: the witness (local, never synced); null or absent: none. */
  witness?: WitnessSettings | null;
}

/**
 * Section 9: an etcd cluster as the pair's third vote. Endpoints may differ per node; both nodes
 * must use the same prefix on the same cluster. tls: paths of PEM files (all three, or none).
 */
export interface WitnessSettings {
  kind: 'etcd';
  endpoints: string[];
  prefix: string;
  leaseTtlMs: number;
  tls?: { ca: string; cert: string; key: string };
}

/** gateway-network.json */
export interface GatewayNetworkSettings {
  version: 1;
  enabled: boolean;
  bindAddress: string;
  port: number;
  sslPort: number;
  requireSsl: boolean;
  requireTwoWayAuth: boolean;
  allowIncoming: boolean;
  securityPolicy: SecurityPolicy;
  whitelist: string[];
}

export type SecurityPolicy = 'ApprovedOnly' | 'Unrestricted' | 'SpecifiedList';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

/** Body of PUT /v0/redundancy: any subset of the settings. */
export type RedundancyUpdate = DeepPartial<Omit<RedundancySettings, 'version' | 'witness'>> & {
  /** Replaces the witness settings as a whole (null removes the witness). */
  witness?: WitnessSettings | null;
};
/** Body of PUT /v0/network: any subset of the settings. */
export type NetworkUpdate = Partial<Omit<GatewayNetworkSettings, 'version'>>;
