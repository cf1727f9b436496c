
import { GwError } from '../../core/errors.js';
import { describeProblems } from '../../core/schema-errors.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { readOptional, writeJsonAtomic } from '../storage/atomic-write.js';

export interface LoadedSettings<T> {
  value: T;
  /** True when the file did not exist and was created with defaults. */
  created: boolean;
}

/**
 * Read a settings file and validate it against its schema, filling defaults.
 * "No file" and "invalid file" are different outcomes: a missing file is created from `initial`
 * (validated, so schema defaults fill it); an unreadable or invalid file is reported by path and
 * field and is never overwritten.
 */
export async function loadSettingsFile<T>(
  file: string,
  schemaId: string,
  schemas: SchemaRegistry,
  initial: (() => unknown) | null,
  mode = 0o644,
): Promise<LoadedSettings<T>> {
  const text = await readOptional(file);
  if (text === undefined) {
    if (!initial) throw new GwError('GW_ERR_SETTINGS_UNREADABLE', { file, detail: 'the file does not exist' });
    const value = initial();
    const result = schemas.validate<T>(schemaId, value);
    if (!result.ok) throw new Error(`built-in defaults for ${file} fail ${schemaId}: ${describeProblems(result.problems)}`);
    await writeJsonAtomic(file, result.value, { mode });
    return { value: result.value, created: true };
  }
  return { value: parseSettings<T>(file, text, schemaId, schemas), created: false };
}

export function parseSettings<T>(file: string, text: string, schemaId: string, schemas: SchemaRegistry): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new GwError('GW_ERR_SETTINGS_INVALID', {
      file,
      field: '/',
      detail: `not valid JSON (${(err as Error).message})`,
    });
  }
  const result = schemas.validate<T>(schemaId, parsed);
  if (!result.ok) {
    const first = result.problems[0];
    throw new GwError(
      'GW_ERR_SETTINGS_INVALID',
      { file, field: first?.pointer || '/', detail: describeProblems(result.problems) },
      { file, problems: result.problems },
    );
  }
  return result.value;
}
