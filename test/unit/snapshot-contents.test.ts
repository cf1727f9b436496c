import { describe, expect, it } from 'vitest';

import { SnapshotContents } from '../../src/daemon/config/snapshot-contents.js';
import { contentSignature } from '../../src/daemon/config/signature.js';
import { loadResourceTypes } from '../../src/daemon/config/type-registry.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';

const schemas = new SchemaRegistry();
const types = loadResourceTypes(schemas);
const PRIMARY = { endpointUrl: 'opc.tcp://10.0.1.5:4840' };
const meta = (signature: string) => ({ uuid: '8c1f8a62-8e0c-4a53-9f39-3f1f2f9d3c11', enabled: true, lastModification: { actor: 'x', timestamp: '2026-11-25T00:00:00.000Z' }, signature, backupSignature: null });

describe('SnapshotContents keeps files by directory', () => {
  it('lists, finds and hands out each file once, whatever the names and however many share a directory', () => {
    const contents = new SnapshotContents(types, schemas);
    const rels = [
      'opcua/opc-connection/plc1/config.json',
      'opcua/opc-connection/plc1/resource.json',
      'top-level.txt',
      'opcua/opc-connection/plc1/__proto__',
      'opcua/opc-connection/plc1/constructor',
      // More files in one directory than a directory's short list holds.
      ...Array.from({ length: 40 }, (_, i) => `opcua/notes/n-${i}.txt`),
    ];
    for (const rel of rels) {
      const text = rel.endsWith('config.json') ? JSON.stringify(PRIMARY) : rel.endsWith('resource.json') ? JSON.stringify(meta(contentSignature(PRIMARY))) : 'x';
      contents.add(rel, [Buffer.from(text)]);
    }
    expect([...contents.paths()].sort()).toEqual([...rels].sort());
    for (const rel of rels) expect(contents.has(rel)).toBe(true);
    expect(contents.has('opcua/opc-connection/plc1/backupConfig.json')).toBe(false);
    expect(contents.has('opcua/opc-connection/plc1')).toBe(false);
    expect(contents.has('toString')).toBe(false);

    const schemaId = types.get('opc-connection')!.schemaId;
    expect(contents.version('opcua/opc-connection/plc1/config.json', schemaId)).toEqual({ ok: true, fact: { signature: contentSignature(PRIMARY), content: null } });
    expect(contents.version('opcua/opc-connection/plc1/config.json', schemaId)).toBeUndefined();
    const m = contents.meta('opcua/opc-connection/plc1/resource.json');
    expect(m?.ok && m.fact.meta.signature).toBe(contentSignature(PRIMARY));
    expect(contents.meta('opcua/opc-connection/plc1/resource.json')).toBeUndefined();
    expect(contents.has('opcua/opc-connection/plc1/__proto__')).toBe(true);
    expect([...contents.paths()].sort()).toEqual(rels.filter((r) => !r.endsWith('.json')).sort());
  });

  it('a file received again replaces what was kept of it', () => {
    const contents = new SnapshotContents(types, schemas);
    const schemaId = types.get('opc-connection')!.schemaId;
    contents.add('opcua/opc-connection/plc1/config.json', [Buffer.from('{"endpointUrl": 42}')]);
    contents.add('opcua/opc-connection/plc1/config.json', [Buffer.from(JSON.stringify(PRIMARY))]);
    expect([...contents.paths()]).toEqual(['opcua/opc-connection/plc1/config.json']);
    expect(contents.version('opcua/opc-connection/plc1/config.json', schemaId)).toEqual({ ok: true, fact: { signature: contentSignature(PRIMARY), content: null } });
  });
});
