/**
 * Every protocol message schema written in TypeScript (each checked against its type by schemaOf),
 * and the schemas/protocol/*.schema.json files made from them: `npm run schemas` writes the files,
 * test/unit/protocol-schemas.test.ts fails when one differs. A module adds its schemas here; the
 * schema registry loads the files, and a module that also registers its schema at run time gives
 * the same object (the registry accepts an identical schema twice).
 */
import { LINK_SCHEMAS } from './gan/link-schemas.js';
import { REDUNDANCY_MESSAGE_SCHEMA, STATE_REPORT_SCHEMA } from './redundancy/messages.js';
import { PAUSE_MESSAGE_SCHEMA, PAUSE_RECORD_SCHEMA } from './redundancy/pause-record.js';
import { SYNC_BINARY_MESSAGE_SCHEMA, SYNC_MESSAGE_SCHEMA } from './sync/messages.js';

export const PROTOCOL_SCHEMAS: ReadonlyArray<{ readonly $id: string }> = [
  ...LINK_SCHEMAS,
  REDUNDANCY_MESSAGE_SCHEMA,
  STATE_REPORT_SCHEMA,
  PAUSE_RECORD_SCHEMA,
  PAUSE_MESSAGE_SCHEMA,
  SYNC_MESSAGE_SCHEMA,
  SYNC_BINARY_MESSAGE_SCHEMA,
];

const PREFIX = 'gwd:protocol/';

/** The schema's file name in schemas/protocol: its `$id` after `gwd:protocol/`. */
export function protocolSchemaFile(schema: { readonly $id: string }): string {
  if (!schema.$id.startsWith(PREFIX)) throw new Error(`protocol schema ${schema.$id} is not named ${PREFIX}*`);
  return `${schema.$id.slice(PREFIX.length)}.schema.json`;
}

/** Lines of a generated file are at most this long where the structure allows. */
const WIDTH = 140;

/**
 * The file's text: JSON, an object or array on one line when it fits in WIDTH, else one member a
 * line, and `properties` one a line always (the form the files had when they were written by hand).
 */
export function renderSchemaFile(schema: unknown): string {
  return `${render(schema, '', 0, false)}\n`;
}

function render(value: unknown, indent: string, prefixLength: number, expand: boolean): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const inline = renderInline(value);
  if (!expand && indent.length + prefixLength + inline.length <= WIDTH) return inline;
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    return `[\n${value.map((v) => `${inner}${render(v, inner, 1, false)}`).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${render(v, inner, JSON.stringify(k).length + 3, k === 'properties')}`).join(',\n')}\n${indent}}`;
}

function renderInline(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(renderInline).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${renderInline(v)}`).join(', ')} }`;
}
