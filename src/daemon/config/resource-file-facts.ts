import type { ResourceMeta } from '../../core/config-model.js';
import type { FieldProblem } from '../../core/schema-errors.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { contentSignature } from './signature.js';

/** The schema of resource.json. */
export const META_SCHEMA_ID = 'gwd:config/resource-meta';

/** What one file of a resource tells the store, or why it cannot be used (by field where it can). */
export type FileFact<T> = { ok: true; fact: T } | { ok: false; problems: FieldProblem[] };

/**
 * A resource version (config.json, backupConfig.json): its signature, and its content exactly as
 * stored when the reader holds it. A received snapshot keeps only the signature: the content is on
 * disk, and holding 100,000 resources' content in memory is what the store no longer does.
 */
export interface VersionFact {
  signature: string;
  content: Record<string, unknown> | null;
}

/** resource.json, validated with its defaults filled in (an older file may lack a newer field). */
export interface MetaFact {
  meta: ResourceMeta;
  /** `meta` is exactly what the file holds (no default filled in): writing it back changes nothing. */
  asOnDisk: boolean;
}

export function parseFact(text: string): FileFact<unknown> {
  try {
    return { ok: true, fact: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, problems: [{ pointer: '', message: `is not valid JSON (${(err as Error).message})` }] };
  }
}

/** Content is only checked: defaults must not creep into it, its signature is of the file. */
export function versionFactOf(value: unknown, schemaId: string, schemas: SchemaRegistry): FileFact<VersionFact> {
  const result = schemas.check(schemaId, value);
  if (!result.ok) return { ok: false, problems: result.problems };
  const content = value as Record<string, unknown>;
  return { ok: true, fact: { signature: contentSignature(content), content } };
}

export function metaFactOf(value: unknown, schemas: SchemaRegistry): FileFact<MetaFact> {
  // The schema's defaults are all top-level: a key count before and after tells whether any was filled in.
  const rawKeys = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value).length : -1;
  const result = schemas.validate<ResourceMeta>(META_SCHEMA_ID, value);
  if (!result.ok) return { ok: false, problems: result.problems };
  return { ok: true, fact: { meta: result.value, asOnDisk: Object.keys(result.value).length === rawKeys } };
}
