import type { Edition, Role } from '../wire.js';

/**
 * Gateway Network protocol: JSON text frames over a WebSocket on GAN_PATH. Every frame is an object
 * with a `type`; `hello`, `refused`, `ping`, `pong` and `bye` belong to the link itself, every other
 * type is registered by the module that uses it (redundancy, sync) with a schema in schemas/protocol.
 */
export const GAN_PATH = '/gan/v1';

/** The message types a `oneOf`-on-`type` schema describes (each branch has `type: {const}`). */
export function messageTypesOf(schema: { oneOf: readonly unknown[] }): string[] {
  return schema.oneOf.map((m) => (m as { properties: { type: { const: string } } }).properties.type.const);
}

/** Largest frame accepted (ws maxPayload). Bulk transfers (sync snapshots) must be chunked below it. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;

/** How long a new connection may take to say hello. */
export const HELLO_TIMEOUT_MS = 5000;

/** WebSocket close codes of the link (4000-4999 is the application range). */
export const CLOSE = {
  NORMAL: 1000,
  /** Refused by policy, trust or compatibility; the reason is the GW_ERR_GAN_* code. */
  REFUSED: 4003,
  /** The peer sent something that is not the protocol. */
  PROTOCOL_VIOLATION: 4000,
  /** Faulted: missed pings. */
  FAULTED: 4008,
  /**
   * A frame over MAX_FRAME_BYTES: the WebSocket protocol's own "message too big", kept because
   * peers already expect it; the reason is GW_ERR_GAN_FRAME_TOO_LARGE like every other close's code.
   */
  TOO_LARGE: 1009,
} as const;

export interface HelloMessage {
  type: 'hello';
  protocol: number;
  uuid: string;
  systemName: string;
  edition: Edition;
  role: Role;
  version: string;
}

export interface RefusedMessage {
  type: 'refused';
  code: string;
  message: string;
}

export interface PingMessage {
  type: 'ping';
  id: number;
}

export interface PongMessage {
  type: 'pong';
  id: number;
}

export interface ByeMessage {
  type: 'bye';
  /** Why the sender closes: `shutdown`, `role-changed`, `settings-changed`, ... */
  reason: string;
}

/** Any message; app messages carry their own fields next to `type`. */
export interface GanMessage {
  type: string;
  [field: string]: unknown;
}

export const LINK_MESSAGE_TYPES = ['hello', 'refused', 'ping', 'pong', 'bye'] as const;
export type LinkMessageType = (typeof LINK_MESSAGE_TYPES)[number];

export function isLinkMessageType(type: string): type is LinkMessageType {
  return (LINK_MESSAGE_TYPES as readonly string[]).includes(type);
}
