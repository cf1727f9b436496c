/**
 * What the compiler must refuse in a protocol schema (issue 18): a schema that describes another
 * type than the one declared with schemaOf. Compiled by test/unit/protocol-schema-types.test.ts:
 * each `@ts-expect-error` must meet an error, and without the directives exactly the marked lines
 * must fail. The lines without one must compile.
 */
import { messageSchema, schemaOf } from '../../src/core/schema-type.js';
import type { SyncBegin, SyncRequest, SyncSnapshotChunk } from '../../src/core/sync/messages.js';

interface Sample {
  type: 'sample';
  id: number;
  level: 'Warm' | 'Cold';
  ids: string[];
  note?: boolean;
  witness?: { prefix: string; clusterId: string | null } | null;
}

const id = { type: 'integer', minimum: 0 } as const;
const level = { enum: ['Warm', 'Cold'] } as const;
const ids = { type: 'array', items: { type: 'string' } } as const;
const witness = { oneOf: [{ type: 'null' }, { type: 'object', required: ['prefix', 'clusterId'], properties: { prefix: { type: 'string' }, clusterId: { type: ['string', 'null'] } } }] } as const;

// Right: required and optional as in the type, constraints beyond the type are free.
export const right = schemaOf<Sample>()({ $id: 'x', type: 'object', additionalProperties: false, required: ['type', 'id', 'level', 'ids'], properties: { type: { const: 'sample' }, id, level, ids, note: { type: 'boolean', description: 'free text' }, witness } });
// The same fields in another order, the required ones listed in another order.
export const reordered = schemaOf<Sample>()({ type: 'object', required: ['ids', 'level', 'id', 'type'], properties: { witness, note: { type: 'boolean' }, ids, level, id, type: { const: 'sample' } } });

// @ts-expect-error an optional field made required
export const optionalRequired = schemaOf<Sample>()({ type: 'object', required: ['type', 'id', 'level', 'ids', 'note'], properties: { type: { const: 'sample' }, id, level, ids, note: { type: 'boolean' }, witness } });

// @ts-expect-error a required field left out of `required`
export const requiredOptional = schemaOf<Sample>()({ type: 'object', required: ['type', 'id', 'level'], properties: { type: { const: 'sample' }, id, level, ids, note: { type: 'boolean' }, witness } });

// @ts-expect-error a field of the type missing from the schema
export const fieldMissing = schemaOf<Sample>()({ type: 'object', required: ['type', 'id', 'level', 'ids'], properties: { type: { const: 'sample' }, id, level, ids, witness } });

// @ts-expect-error a field of the schema missing from the type
export const fieldExtra = schemaOf<Sample>()({ type: 'object', required: ['type', 'id', 'level', 'ids'], properties: { type: { const: 'sample' }, id, level, ids, note: { type: 'boolean' }, witness, extra: { type: 'string' } } });

// @ts-expect-error a string where the type has a number
export const wrongType = schemaOf<Sample>()({ type: 'object', required: ['type', 'id', 'level', 'ids'], properties: { type: { const: 'sample' }, id: { type: 'string' }, level, ids, note: { type: 'boolean' }, witness } });

// @ts-expect-error an enum missing a member of the type's union
export const enumShort = schemaOf<Sample>()({ type: 'object', required: ['type', 'id', 'level', 'ids'], properties: { type: { const: 'sample' }, id, level: { enum: ['Warm'] }, ids, note: { type: 'boolean' }, witness } });

// @ts-expect-error an enum with a value the type does not have
export const enumLong = schemaOf<Sample>()({ type: 'object', required: ['type', 'id', 'level', 'ids'], properties: { type: { const: 'sample' }, id, level: { enum: ['Warm', 'Cold', 'Active'] }, ids, note: { type: 'boolean' }, witness } });

// @ts-expect-error a plain string where the type has a literal
export const constLost = schemaOf<Sample>()({ type: 'object', required: ['type', 'id', 'level', 'ids'], properties: { type: { type: 'string' }, id, level, ids, note: { type: 'boolean' }, witness } });

// @ts-expect-error another message type
export const constWrong = schemaOf<Sample>()({ type: 'object', required: ['type', 'id', 'level', 'ids'], properties: { type: { const: 'other' }, id, level, ids, note: { type: 'boolean' }, witness } });

// @ts-expect-error an array of numbers where the type has strings
export const itemsWrong = schemaOf<Sample>()({ type: 'object', required: ['type', 'id', 'level', 'ids'], properties: { type: { const: 'sample' }, id, level, ids: { type: 'array', items: id }, note: { type: 'boolean' }, witness } });

// @ts-expect-error a nested field that may not be null in the schema but may in the type
export const notNullable = schemaOf<Sample>()({ type: 'object', required: ['type', 'id', 'level', 'ids'], properties: { type: { const: 'sample' }, id, level, ids, note: { type: 'boolean' }, witness: { oneOf: [{ type: 'null' }, { type: 'object', required: ['prefix', 'clusterId'], properties: { prefix: { type: 'string' }, clusterId: { type: 'string' } } }] } } });

// @ts-expect-error a field that may be null in the schema but not in the type
export const nullAllowed = schemaOf<Sample>()({ type: 'object', required: ['type', 'id', 'level', 'ids'], properties: { type: { const: 'sample' }, id: { type: ['integer', 'null'] }, level, ids, note: { type: 'boolean' }, witness } });

interface Holder {
  type: 'holder';
  sample: Sample;
}

// Right: a $ref, typed by the Refs given (its target is checked where it is declared).
export const refRight = schemaOf<Holder, { 'gwd:protocol/sample': Sample }>()({ type: 'object', required: ['type', 'sample'], properties: { type: { const: 'holder' }, sample: { $ref: 'gwd:protocol/sample' } } });

// @ts-expect-error a $ref whose target Refs does not name
export const refUnknown = schemaOf<Holder, { 'gwd:protocol/sample': Sample }>()({ type: 'object', required: ['type', 'sample'], properties: { type: { const: 'holder' }, sample: { $ref: 'gwd:protocol/other' } } });

// @ts-expect-error a $ref to a target of another type
export const refWrong = schemaOf<Holder, { 'gwd:protocol/sample': string }>()({ type: 'object', required: ['type', 'sample'], properties: { type: { const: 'holder' }, sample: { $ref: 'gwd:protocol/sample' } } });

// The sync messages (src/core/sync/messages.ts), built with messageSchema as there.
const revision = { type: 'integer', minimum: 0 } as const;
const holder = { anyOf: [{ type: 'string' }, { type: 'null' }] } as const;
const chunk = { type: 'object', additionalProperties: false, required: ['id', 'seq', 'file', 'offset'], properties: { id: { type: 'string' }, seq: id, file: id, offset: id } } as const;

// Right: a request, and a chunk's header checked against the message without its payload.
export const syncRequestRight = schemaOf<SyncRequest>()(messageSchema('sync.request', { holder, revision, full: { type: 'boolean' } }));
export const syncChunkRight = schemaOf<Omit<SyncSnapshotChunk, 'payload'>>()(messageSchema('sync.snapshotChunk', { chunk }));

// @ts-expect-error a request whose holder may not be null (a backup that holds no snapshot sends null)
export const syncHolderNotNull = schemaOf<SyncRequest>()(messageSchema('sync.request', { holder: { type: 'string' }, revision, full: { type: 'boolean' } }));

// @ts-expect-error a request's `full` made optional
export const syncFullOptional = schemaOf<SyncRequest>()(messageSchema('sync.request', { holder, revision }, { full: { type: 'boolean' } }));

// @ts-expect-error a begin whose kind is any string, not full | incremental
export const syncKindString = schemaOf<SyncBegin>()(messageSchema('sync.begin', { op: revision, kind: { type: 'string' }, revision }));

// @ts-expect-error a chunk's header checked against the message with its payload (the payload is not in the header)
export const syncChunkPayload = schemaOf<SyncSnapshotChunk>()(messageSchema('sync.snapshotChunk', { chunk }));
