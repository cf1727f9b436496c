/**
 * JSON Schemas of the link's own messages (protocol.ts has their types; schemaOf keeps the two
 * equal). schemas/protocol/<name>.schema.json are generated from these (scripts/gen-schemas.mjs),
 * and the schema registry loads those files.
 */
import { schemaOf } from '../schema-type.js';
import type { ByeMessage, GanMessage, HelloMessage, PingMessage, PongMessage, RefusedMessage } from './protocol.js';

export const ENVELOPE_SCHEMA = schemaOf<Pick<GanMessage, 'type'>>()({
  $id: 'gwd:protocol/envelope',
  title: 'Every Gateway Network frame: a JSON object with a registered type',
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', pattern: '^[a-z][a-zA-Z0-9.-]{0,63}$' },
  },
});

export const HELLO_SCHEMA = schemaOf<HelloMessage>()({
  $id: 'gwd:protocol/hello',
  title: 'hello: first frame of each side; newer versions may add fields',
  type: 'object',
  required: ['type', 'protocol', 'uuid', 'systemName', 'edition', 'role', 'version'],
  properties: {
    type: { const: 'hello' },
    protocol: { type: 'integer', minimum: 1 },
    uuid: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' },
    systemName: { type: 'string', minLength: 1, maxLength: 128 },
    edition: { enum: ['standard', 'edge'] },
    role: { enum: ['Independent', 'Master', 'Backup'] },
    version: { type: 'string', minLength: 1, maxLength: 64 },
    label: {
      description: "the sender's label: the local name of that machine, never synced (printable: no control characters, no |)",
      type: 'string',
      minLength: 1,
      maxLength: 64,
      pattern: '^[^\\p{C}|]+$',
    },
    witness: {
      description: "section 9: the sender's witness (prefix and etcd cluster id once known), null without one",
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['prefix', 'clusterId'],
          properties: {
            prefix: { type: 'string', minLength: 1, maxLength: 200 },
            clusterId: { type: ['string', 'null'], maxLength: 40 },
          },
        },
      ],
    },
  },
});

export const REFUSED_SCHEMA = schemaOf<RefusedMessage>()({
  $id: 'gwd:protocol/refused',
  title: 'refused: the sender will close; code says why',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'code', 'message'],
  properties: {
    type: { const: 'refused' },
    code: { type: 'string', pattern: '^GW_ERR_[A-Z0-9_]{1,80}$' },
    message: { type: 'string', maxLength: 2000 },
  },
});

export const PING_SCHEMA = schemaOf<PingMessage>()({
  $id: 'gwd:protocol/ping',
  title: 'ping: link liveness',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'id'],
  properties: {
    type: { const: 'ping' },
    id: { type: 'integer', minimum: 0 },
  },
});

export const PONG_SCHEMA = schemaOf<PongMessage>()({
  $id: 'gwd:protocol/pong',
  title: 'pong: link liveness',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'id'],
  properties: {
    type: { const: 'pong' },
    id: { type: 'integer', minimum: 0 },
  },
});

export const BYE_SCHEMA = schemaOf<ByeMessage>()({
  $id: 'gwd:protocol/bye',
  title: 'bye: the sender closes the link on purpose',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'reason'],
  properties: {
    type: { const: 'bye' },
    reason: { type: 'string', maxLength: 200 },
    active: { type: 'boolean', description: 'whether the sender is still Active as it leaves (rule 10); absent from earlier builds' },
  },
});

/** The link's own schemas, in the order of LINK_MESSAGE_TYPES after the envelope. */
export const LINK_SCHEMAS = [ENVELOPE_SCHEMA, HELLO_SCHEMA, REFUSED_SCHEMA, PING_SCHEMA, PONG_SCHEMA, BYE_SCHEMA] as const;
