import { readdirSync, readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { PROTOCOL_SCHEMAS, protocolSchemaFile, renderSchemaFile } from '../../src/core/protocol-schemas.js';
import { REDUNDANCY_MESSAGE_SCHEMA } from '../../src/core/redundancy/messages.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';

const dir = new URL('../../schemas/protocol/', import.meta.url);

describe('schemas/protocol', () => {
  it('each file equals the one generated from its TypeScript schema (run `npm run schemas` when this fails)', () => {
    for (const schema of PROTOCOL_SCHEMAS) {
      const file = protocolSchemaFile(schema);
      expect(readFileSync(new URL(file, dir), 'utf8'), file).toBe(renderSchemaFile(schema));
    }
  });

  it('holds no file that no TypeScript schema generates', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.schema.json'));
    expect(files.sort()).toEqual(PROTOCOL_SCHEMAS.map(protocolSchemaFile).sort());
  });

  it('a generated file parses back to its schema', () => {
    for (const schema of PROTOCOL_SCHEMAS) {
      expect(JSON.parse(renderSchemaFile(schema))).toStrictEqual(schema);
    }
  });

  it('a module registering its schema again (from TypeScript) is accepted; another schema under that $id is refused', () => {
    const registry = new SchemaRegistry();
    expect(registry.has(REDUNDANCY_MESSAGE_SCHEMA.$id)).toBe(true);
    registry.add(REDUNDANCY_MESSAGE_SCHEMA as unknown as { $id: string });
    expect(() => registry.add({ $id: REDUNDANCY_MESSAGE_SCHEMA.$id, oneOf: [] })).toThrow(/already registered/);
  });

  it('names each file by its $id and refuses a schema outside gwd:protocol/', () => {
    expect(protocolSchemaFile({ $id: 'gwd:protocol/hello' })).toBe('hello.schema.json');
    expect(() => protocolSchemaFile({ $id: 'gwd:settings/node' })).toThrow(/gwd:protocol/);
  });
});
