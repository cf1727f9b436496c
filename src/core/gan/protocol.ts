import type { Edition, Role } from '../wire.js';
import type { HelloWitness } from './hello-compat.js';

/**
 * Gateway Network protocol: JSON text frames over a WebSocket on GAN_PATH. Every frame is an object
 * with a `type`; `hello`, `refused`, `ping`, `pong` and `bye` belong to the link itself, every other
 * type is registered by the module that uses it (redundancy, sync) with a schema in schemas/protocol.
 * The link's own schemas are in link-schemas.ts, where tsc checks each against its type below.
 *
 * Bulk bytes (the files of a full snapshot) travel in binary frames: a 4-byte big-endian header
 * length, the header (a message as JSON text, validated like any other, of a type registered as
 * binary), then the raw payload. Both ends speak the same protocol version (the hello refuses any
 * other), so there is nothing to negotiate.
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
  /** The sender's label (node.json, never synced): how its operator names that machine. */
  label?: string;
  /** Section 9: the sender's witness, added by the redundancy engine (setHelloExtra); null: none. */
  witness?: HelloWitness | null;
}

/** Largest header of a binary frame: a header describes the payload, it never carries it. */
export const MAX_BINARY_HEADER_BYTES = 1024 * 1024;

/** One binary frame: the header length, the header as JSON text, the payload parts back to back. */
export function encodeBinaryFrame(header: { type: string }, payload: readonly Uint8Array[]): Buffer {
  const text = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(text.length, 0);
  return Buffer.concat([length, text, ...payload]);
}

/**
 * The same frame built in place: the header length and header are written into the `room` bytes
 * just before `payload` in its buffer (which the caller owns), so the payload is not copied. Null
 * when the header does not fit there.
 */
export function binaryFrameInPlace(header: { type: string }, payload: Buffer, room: number): Buffer | null {
  const text = JSON.stringify(header);
  const length = Buffer.byteLength(text);
  if (length + 4 > room) return null;
  const frame = Buffer.from(payload.buffer, payload.byteOffset - length - 4, length + 4 + payload.length);
  frame.writeUInt32BE(length, 0);
  frame.write(text, 4, 'utf8');
  return frame;
}

/** Split a binary frame into its header bytes and payload (both views of `frame`), or say why not. */
export function splitBinaryFrame(frame: Buffer): { header: Buffer; payload: Buffer } | { problem: string } {
  if (frame.length < 4) return { problem: 'a binary frame shorter than its header length' };
  const length = frame.readUInt32BE(0);
  if (length > MAX_BINARY_HEADER_BYTES) return { problem: `a binary frame header of ${length} bytes (at most ${MAX_BINARY_HEADER_BYTES})` };
  if (length > frame.length - 4) return { problem: `a binary frame header of ${length} bytes in a frame of ${frame.length}` };
  return { header: frame.subarray(4, 4 + length), payload: frame.subarray(4 + length) };
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
  /**
   * Why the sender closes: `shutdown`, `role-changed`, `master-address-changed`,
   * `link-settings-changed`, `certificate-revoked`, `connection-denied`, `replaced`.
   */
  reason: string;
  /** Whether the sender is still Active as it leaves (rule 10); absent from earlier builds. */
  active?: boolean;
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
