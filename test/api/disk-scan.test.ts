import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { SnapshotContents } from '../../src/daemon/config/snapshot-contents.js';
import { contentSignature } from '../../src/daemon/config/signature.js';
import { scanStore } from '../../src/daemon/config/disk-scan.js';
import { loadResourceTypes } from '../../src/daemon/config/type-registry.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const schemas = new SchemaRegistry();
const types = loadResourceTypes(schemas);
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const META = (signature: string) => JSON.stringify({ uuid: '8c1f8a62-8e0c-4a53-9f39-3f1f2f9d3c11', enabled: true, lastModification: { actor: 'x', timestamp: '2026-11-25T00:00:00.000Z' }, signature, backupSignature: null });

/** Files relative to the core collection: valid, with a Backup version, broken, misplaced, unknown. */
const FILES: Record<string, string> = {
  'opcua/opc-connection/plc1/config.json': '{"endpointUrl":"opc.tcp://10.0.1.5:4840"}',
  'opcua/opc-connection/plc1/backupConfig.json': '{"endpointUrl":"opc.tcp://10.0.2.5:4840"}',
  'opcua/opc-connection/plc1/resource.json': META('a'.repeat(64)),
  'opcua/opc-connection/plc2/config.json': '{"endpointUrl":',
  'opcua/opc-connection/plc3/backupConfig.json': '{"endpointUrl":"opc.tcp://10.0.2.7:4840"}',
  'opcua/opc-connection/config.json': '{}',
  'opcua/no-such-type/x/config.json': '{}',
  'opcua/opc-connection/.hidden/config.json': '{}',
};

function filesUnder(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, prefix: string): void => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      if (statSync(full).isDirectory()) walk(full, rel);
      else out.set(rel, readFileSync(full, 'utf8'));
    }
  };
  walk(root, '');
  return out;
}

describe('scanStore from files in memory (a snapshot just verified)', () => {
  it('finds exactly what a scan of the same files on disk finds: resources, problems by path and field, invalid keys', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const resourcesDir = path.join(temp.dir, 'resources');
    for (const [rel, text] of Object.entries(FILES)) {
      const file = path.join(resourcesDir, 'core', rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
    }
    const fromDisk = await scanStore(resourcesDir, types, schemas, { collections: ['core'], visit: (r, content) => [{ address: r.address, content }] });
    // The same files parsed, checked and signed as they arrive (SnapshotContents, as a backup keeps a
    // snapshot): the in-memory scan must not read the disk, so it is pointed at a directory that
    // does not exist.
    const elsewhere = path.join(temp.dir, 'nowhere');
    const contents = new SnapshotContents(types, schemas);
    for (const [rel, text] of filesUnder(path.join(resourcesDir, 'core'))) contents.add(rel, [Buffer.from(text)]);
    const fromArrival = await scanStore(elsewhere, types, schemas, { collections: ['core'], preloaded: contents, visit: (r, content) => [{ address: r.address, content }] });
    const relative = (r: typeof fromDisk, root: string) => ({
      resources: r.resources,
      invalidKeys: [...r.invalidKeys].sort(),
      problems: r.problems.map((p) => ({ ...p, path: path.relative(root, p.path) })),
    });
    expect(relative(fromArrival, elsewhere)).toEqual(relative(fromDisk, resourcesDir));
    // Signatures are of the files' content; only the disk scan hands the content itself to the visitor.
    const plc1 = fromArrival.resources.find((r) => r.address === 'opc-connection/plc1')!;
    expect(plc1.primarySignature).toBe(contentSignature(JSON.parse(FILES['opcua/opc-connection/plc1/config.json']!)));
    expect(plc1.backupSignature).toBe(contentSignature(JSON.parse(FILES['opcua/opc-connection/plc1/backupConfig.json']!)));
    expect(fromArrival.visited).toEqual([{ address: 'opc-connection/plc1', content: { primary: null, backup: null } }]);
    expect(fromDisk.visited).toEqual([{ address: 'opc-connection/plc1', content: { primary: { endpointUrl: 'opc.tcp://10.0.1.5:4840' }, backup: { endpointUrl: 'opc.tcp://10.0.2.5:4840' } } }]);
    expect(fromDisk.resources.map((r) => r.address)).toEqual(['opc-connection/plc1']);
    expect([...fromDisk.invalidKeys].sort()).toEqual(['core/opc-connection/plc2', 'core/opc-connection/plc3']);
    expect(fromDisk.problems.map((p) => path.relative(resourcesDir, p.path)).sort()).toEqual([
      'core/opcua/no-such-type',
      'core/opcua/opc-connection/config.json',
      'core/opcua/opc-connection/plc2/config.json',
      'core/opcua/opc-connection/plc3/config.json',
    ]);
  });

  it('keepResources: false hands every valid resource to the visitor and lists none (an adoption keeps them as the store\'s own entries)', async () => {
    const contents = new SnapshotContents(types, schemas);
    for (const [rel, text] of Object.entries(FILES)) contents.add(rel, [Buffer.from(text)]);
    const seen: string[] = [];
    const scan = await scanStore('/nowhere', types, schemas, {
      collections: ['core'],
      preloaded: contents,
      keepResources: false,
      visit: (r) => {
        seen.push(r.address);
        return [r.address];
      },
    });
    expect(seen).toEqual(['opc-connection/plc1']);
    expect(scan.visited).toEqual(['opc-connection/plc1']);
    expect(scan.resources).toEqual([]);
    // Problems and invalid keys are reported as ever.
    expect([...scan.invalidKeys].sort()).toEqual(['core/opc-connection/plc2', 'core/opc-connection/plc3']);
    // Each file the scan read is let go (its facts are the scan's now); the others stay.
    expect([...contents.paths()].sort()).toEqual(['opcua/no-such-type/x/config.json', 'opcua/opc-connection/.hidden/config.json', 'opcua/opc-connection/config.json']);
  });
});

describe('resource content is checked without defaults', () => {
  it('no resource type schema requires a property that has a default (check() and validate() would then disagree)', () => {
    const offenders: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
      if (!node || typeof node !== 'object') return;
      const o = node as { required?: string[]; properties?: Record<string, { default?: unknown }> };
      for (const key of o.required ?? []) if (o.properties?.[key] && 'default' in o.properties[key]!) offenders.push(`${where}/${key}`);
      for (const [k, v] of Object.entries(o)) walk(v, `${where}/${k}`);
    };
    for (const t of types.values()) walk(schemas.schema(t.schemaId), t.schemaId);
    expect(offenders).toEqual([]);
    expect(types.size).toBeGreaterThan(3);
  });

  it('check() leaves the value untouched where validate() fills defaults in', () => {
    const value = { endpointUrl: 'opc.tcp://10.0.1.5:4840' };
    expect(schemas.check('gwd:resources/opc-connection', value).ok).toBe(true);
    expect(value).toEqual({ endpointUrl: 'opc.tcp://10.0.1.5:4840' });
    const filled = structuredClone(value);
    schemas.validate('gwd:resources/opc-connection', filled);
    expect(Object.keys(filled).length).toBeGreaterThan(1);
  });
});

