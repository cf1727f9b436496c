import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { SchemaRegistry } from '../../src/daemon/schema-registry.js';

describe('SchemaRegistry', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const schemaDir = (schemas: Record<string, unknown>[]): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gwd-schemas-'));
    dirs.push(dir);
    schemas.forEach((s, i) => writeFileSync(path.join(dir, `s${i}.schema.json`), JSON.stringify(s)));
    return dir;
  };

  // A start compiles only the schemas it validates with; this catches a shipped schema that would
  // fail to compile (a $ref to nothing, say) when it is first used.
  it('every shipped schema compiles, with defaults and plain', () => {
    const registry = new SchemaRegistry();
    expect(registry.ids.length).toBeGreaterThan(20);
    registry.warm(registry.ids, registry.ids);
  });

  it('schema() gives the schema as added, annotations included, and refuses an unknown id', () => {
    const registry = new SchemaRegistry();
    const added = { $id: 'gwd:test/annotated', type: 'object', 'x-gwd-module': 'test', properties: { a: { type: 'string', default: 'x' } } };
    registry.add(added);
    expect(registry.schema('gwd:test/annotated')).toBe(added);
    expect(registry.schema('gwd:resources/gateway-settings')['x-gwd-module']).toEqual(expect.any(String));
    expect(() => registry.schema('gwd:test/none')).toThrow(/unknown schema gwd:test\/none/);
    // Reading it compiled nothing that validation then depends on: both kinds still work.
    const value: Record<string, unknown> = {};
    expect(registry.validate('gwd:test/annotated', value).ok).toBe(true);
    expect(value).toEqual({ a: 'x' });
    const plain: Record<string, unknown> = {};
    expect(registry.check('gwd:test/annotated', plain).ok).toBe(true);
    expect(plain).toEqual({});
    expect(registry.check('gwd:test/annotated', { a: 1 }).ok).toBe(false);
  });

  it('a schema that breaks the meta-schema is refused when added, from a file or at run time', () => {
    const dir = schemaDir([{ $id: 'gwd:test/bad', type: 'no-such-type' }]);
    expect(() => new SchemaRegistry(dir)).toThrow(/schema is invalid/);
    const registry = new SchemaRegistry(schemaDir([{ $id: 'gwd:test/good', type: 'object' }]));
    expect(() => registry.add({ $id: 'gwd:test/bad-too', properties: 5 })).toThrow(/schema is invalid/);
    expect(registry.has('gwd:test/bad-too')).toBe(false);
  });
});
