import type { ResourceTypeInfo } from '../../core/config-model.js';
import type { SchemaRegistry } from '../schema-registry.js';

const PREFIX = 'gwd:resources/';

/**
 * The resource types, one per schemas/resources/<type>.schema.json. A schema declares its place in
 * the store with custom keywords (ajv runs with strict:false, so they are kept and ignored by
 * validation): `x-gwd-module`, `x-gwd-singleton`, `x-gwd-protected`, `x-gwd-required`.
 * A schema without a module is a packaging mistake and fails at startup, not at first use.
 */
export function loadResourceTypes(schemas: SchemaRegistry): Map<string, ResourceTypeInfo> {
  const types = new Map<string, ResourceTypeInfo>();
  for (const id of schemas.ids) {
    if (!id.startsWith(PREFIX)) continue;
    const schema = schemas.schema(id);
    const type = id.slice(PREFIX.length);
    const module = schema['x-gwd-module'];
    if (typeof module !== 'string' || !/^[a-z][a-z0-9-]*$/.test(module)) {
      throw new Error(`resource schema ${id} has no valid "x-gwd-module"`);
    }
    types.set(type, {
      type,
      module,
      singleton: schema['x-gwd-singleton'] === true,
      protected: schema['x-gwd-protected'] === true,
      required: schema['x-gwd-required'] === true,
      schemaId: id,
    });
  }
  return types;
}
