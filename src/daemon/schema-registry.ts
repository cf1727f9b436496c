import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Ajv, type ValidateFunction } from 'ajv';

import { toFieldProblems, type FieldProblem } from '../core/schema-errors.js';

/** schemas/ at the package root, next to dist/ and src/. */
export const SCHEMAS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas');

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; problems: FieldProblem[] };

/**
 * Every JSON Schema of schemas/, compiled once. Schemas are addressed by their `$id`
 * (`gwd:settings/redundancy`, `gwd:api/...`). Validation fills defaults in place.
 */
export class SchemaRegistry {
  private readonly ajv: Ajv;
  /** The same schemas without defaults: checks that leave the value as it is (see check()). */
  private readonly plain: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly compiledPlain = new Map<string, ValidateFunction>();
  readonly ids: string[] = [];
  /** Each schema as JSON text, to tell the same schema added again from a different one. */
  private readonly texts = new Map<string, string>();
  /** Each schema as added, for schema(): asking ajv for it would compile it. */
  private readonly objects = new Map<string, Record<string, unknown>>();

  constructor(dir: string = SCHEMAS_DIR) {
    this.ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
    // Each schema is checked against the meta-schema once, by `ajv` (add() adds it there first): a
    // second check here compiled the meta-schema a second time on every start (~10% of its CPU).
    this.plain = new Ajv({ allErrors: true, useDefaults: false, strict: false, validateSchema: false });
    for (const file of listSchemaFiles(dir)) {
      const schema = JSON.parse(readFileSync(file, 'utf8')) as { $id?: string };
      if (!schema.$id) throw new Error(`schema ${file} has no $id`);
      this.add(schema as { $id: string });
    }
  }

  /**
   * Add a schema at run time (a module's protocol message type, a test's). The same schema again is
   * a no-op: a module registers its protocol schema from TypeScript, and schemas/protocol holds the
   * file generated from that object (src/core/protocol-schemas.ts). A different one under a known
   * `$id` is a mistake.
   */
  add(schema: { $id: string } & Record<string, unknown>): void {
    if (this.has(schema.$id)) {
      if (this.texts.get(schema.$id) === JSON.stringify(schema)) return;
      throw new Error(`schema ${schema.$id} is already registered`);
    }
    this.ajv.addSchema(schema);
    this.plain.addSchema(schema);
    this.ids.push(schema.$id);
    this.texts.set(schema.$id, JSON.stringify(schema));
    this.objects.set(schema.$id, schema);
  }

  /**
   * Compile these schemas now (compiling is lazy, on first use), for a caller that knows it is
   * about to validate a lot against them and has an idle moment first: a backup waiting for its
   * master's snapshot. `withDefaults` for validate(), `plain` for check(); unknown ids are skipped.
   */
  warm(withDefaults: readonly string[], plain: readonly string[] = []): void {
    for (const id of withDefaults) if (this.has(id)) this.fn(this.ajv, this.compiled, id);
    for (const id of plain) if (this.has(id)) this.fn(this.plain, this.compiledPlain, id);
  }

  /**
   * Validate without filling defaults: `value` is never changed. For content whose bytes must stay
   * as they are (a resource's configuration, whose signature is of the file), where validate()
   * would need a copy to throw away.
   */
  check(id: string, value: unknown): ValidationResult<unknown> {
    const fn = this.fn(this.plain, this.compiledPlain, id);
    if (fn(value)) return { ok: true, value };
    return { ok: false, problems: toFieldProblems(fn.errors) };
  }

  has(id: string): boolean {
    return this.ids.includes(id);
  }

  /**
   * The raw schema object (for type registries that read annotations), as added: not compiled
   * (every resource type's schema was compiled at each start only for its annotations, ~60 ms;
   * resource content is checked by the plain instance, which compiles a type when it first meets it).
   */
  schema(id: string): Record<string, unknown> {
    const s = this.objects.get(id);
    if (!s) throw new Error(`unknown schema ${id}`);
    return s;
  }

  /** Validate `value` (defaults are filled into it) against schema `id`. */
  validate<T>(id: string, value: unknown): ValidationResult<T> {
    const fn = this.fn(this.ajv, this.compiled, id);
    if (fn(value)) return { ok: true, value: value as T };
    return { ok: false, problems: toFieldProblems(fn.errors) };
  }

  private fn(ajv: Ajv, cache: Map<string, ValidateFunction>, id: string): ValidateFunction {
    let fn = cache.get(id);
    if (!fn) {
      fn = ajv.getSchema(id);
      if (!fn) throw new Error(`unknown schema ${id}`);
      cache.set(id, fn);
    }
    return fn;
  }
}

function listSchemaFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSchemaFiles(full));
    else if (entry.name.endsWith('.schema.json')) out.push(full);
  }
  return out.sort();
}
