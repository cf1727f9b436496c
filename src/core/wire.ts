/**
 * Wire types of the local API, declared once and shared by the daemon, the client, gwctl and tests.
 * Field names are part of the contract in DESIGN.md section 8: add fields, never rename them.
 */

import type { ConfigStatusSummary } from './config-wire.js';

export type Role = 'Independent' | 'Master' | 'Backup';
export type Activity = 'Active' | 'Warm' | 'Cold';
export type Edition = 'standard' | 'edge';
export type SyncState = 'InSync' | 'Syncing' | 'OutOfDate' | 'NotApplicable';

export interface NodeInfo {
  uuid: string;
  systemName: string;
  edition: Edition;
  version: string;
  certFingerprint: string;
  createdAt: string;
}

export interface NodeCert {
  fingerprint: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  pem: string;
  path: string;
}

export interface PeerSummary {
  connected: boolean;
  uuid: string | null;
  systemName: string | null;
  address: string | null;
  activity: Activity | null;
}

export interface SyncSummary {
  state: SyncState;
  revision: number;
  peerRevision: number | null;
}

export interface RedundancySummary {
  role: Role;
  activity: Activity;
  epoch: number;
  /** ISO time of the last activity change. */
  since: string;
  peer: PeerSummary | null;
  sync: SyncSummary;
}

export interface DaemonSummary {
  pid: number;
  startedAt: string;
  uptimeSecs: number;
  ready: boolean;
  dataDir: string;
  socket: string;
}

export interface StatusResponse {
  node: NodeInfo;
  redundancy: RedundancySummary;
  daemon: DaemonSummary;
  /** Configuration store: its revision and every file that failed to load. */
  config: ConfigStatusSummary;
}

export interface EventRecord<T = Record<string, unknown>> {
  seq: number;
  time: string;
  type: string;
  data: T;
}
