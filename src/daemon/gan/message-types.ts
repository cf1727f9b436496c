import { isLinkMessageType, LINK_MESSAGE_TYPES } from '../../core/gan/protocol.js';
import type { SchemaRegistry } from '../schema-registry.js';

/**
 * Which message types the link accepts, each with the schema that validates it. The link's own
 * types are built in; the redundancy and sync engines register theirs (with a schema file in
 * schemas/protocol) before the first connection. A frame of any other type closes the connection.
 * A type registered as binary is also accepted as the header of a binary frame, validated by its
 * own schema (the header describes the payload that follows it).
 */
export class MessageTypes {
  private readonly types = new Map<string, string>();
  private readonly binary = new Map<string, string>();

  constructor(private readonly schemas: SchemaRegistry) {
    for (const t of LINK_MESSAGE_TYPES) this.types.set(t, `gwd:protocol/${t}`);
  }

  register(type: string, schemaId: string, options: { binary?: boolean } = {}): void {
    if (isLinkMessageType(type)) throw new Error(`message type ${type} belongs to the link itself`);
    if (!/^[a-z][a-zA-Z0-9.-]{0,63}$/.test(type)) throw new Error(`message type ${type} is not a valid name`);
    if (!this.schemas.has(schemaId)) throw new Error(`no schema ${schemaId} for message type ${type}`);
    const map = options.binary ? this.binary : this.types;
    const existing = map.get(type);
    if (existing && existing !== schemaId) throw new Error(`message type ${type} is already registered with ${existing}`);
    map.set(type, schemaId);
  }

  schemaOf(type: string): string | undefined {
    return this.types.get(type);
  }

  binarySchemaOf(type: string): string | undefined {
    return this.binary.get(type);
  }
}
