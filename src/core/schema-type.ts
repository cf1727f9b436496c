/**
 * A protocol message's TypeScript type and its JSON Schema, kept equal by tsc.
 *
 *   export const BYE_SCHEMA = schemaOf<ByeMessage>()({ $id: 'gwd:protocol/bye', type: 'object', ... });
 *
 * `schemaOf<T>()` refuses (at compile time) a schema that describes any other type than T: a
 * field missing on either side, required on one side and optional on the other, of another type,
 * or a string where the type has a union of literals. The schema object is what ajv validates at
 * run time, and schemas/protocol/*.schema.json are generated from these objects
 * (scripts/gen-schemas.mjs; test/unit/protocol-schemas.test.ts keeps them equal).
 *
 * Why not ajv's JSONSchemaType<T>: it makes every optional property `nullable: true`, which lets a
 * peer send `null` where the field is a number or a boolean (a validation change on the wire), and
 * it lets a schema leave a required field out of `required`. FromSchema reads the schema instead,
 * for the keywords these schemas use: type (one or a list), const, enum, oneOf, anyOf, properties,
 * required, items, $ref. An object without `additionalProperties: false` is typed by its known
 * properties only (hello: newer versions may add fields); other keywords (lengths, patterns,
 * bounds) only narrow the values ajv accepts, not their type.
 */

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type RequiredKeys<S> = S extends { readonly required: readonly (infer R)[] } ? R : never;

type ObjectFrom<S, Refs> = S extends { readonly properties: infer P }
  ? Simplify<
      { -readonly [K in keyof P as K extends RequiredKeys<S> ? K : never]: FromSchema<P[K], Refs> } & {
        -readonly [K in keyof P as K extends RequiredKeys<S> ? never : K]?: FromSchema<P[K], Refs>;
      }
    >
  : Record<string, unknown>;

type ArrayFrom<S, Refs> = S extends { readonly items: infer I } ? FromSchema<I, Refs>[] : unknown[];

type TypeNamed<N, S, Refs> = N extends 'string'
  ? string
  : N extends 'integer' | 'number'
    ? number
    : N extends 'boolean'
      ? boolean
      : N extends 'null'
        ? null
        : N extends 'object'
          ? ObjectFrom<S, Refs>
          : N extends 'array'
            ? ArrayFrom<S, Refs>
            : never;

/**
 * The type of the values a JSON Schema literal (`as const`) accepts, for the keywords above. A
 * `$ref` has the type `Refs` gives its target (the target's own schema is checked where it is
 * declared); one not in `Refs` is unknown, which matches no declared type.
 */
export type FromSchema<S, Refs = {}> = S extends { readonly $ref: infer R }
  ? R extends keyof Refs
    ? Refs[R]
    : unknown
  : S extends { readonly const: infer C }
  ? C
  : S extends { readonly enum: readonly (infer E)[] }
    ? E
    : S extends { readonly oneOf: readonly (infer B)[] }
      ? FromSchema<B, Refs>
      : S extends { readonly anyOf: readonly (infer B)[] }
        ? FromSchema<B, Refs>
        : S extends { readonly type: infer N }
          ? N extends readonly (infer M)[]
            ? TypeNamed<M, S, Refs>
            : TypeNamed<N, S, Refs>
          : unknown;

/** True when A and B are the same type (not merely assignable one way). */
export type Same<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

/** What tsc shows when a schema and its type differ: the type the schema describes. */
interface SchemaMismatch<T, Described> {
  'the schema does not describe the declared type': { declared: T; described: Described };
}

/**
 * `schemaOf<T>()(schema)`: the schema as given (its literal type kept), if it describes exactly T.
 * `Refs` names the type of each `$ref` target: `schemaOf<T, { 'gwd:protocol/x': X }>()`.
 */
export function schemaOf<T, Refs = {}>() {
  return <const S extends object>(
    schema: S & (Same<T, FromSchema<S, Refs>> extends true ? unknown : SchemaMismatch<T, FromSchema<S, Refs>>),
  ): S => schema;
}

/** The names of `properties`, typed as such (a schema's `required` list). */
export function keysOf<const P extends object>(properties: P): Array<Extract<keyof P, string>> {
  return Object.keys(properties) as Array<Extract<keyof P, string>>;
}

/**
 * The schema of one message of `type`: the properties given are required, the `optional` ones may
 * be absent, no other is allowed. Typed precisely, for schemaOf.
 */
export function messageSchema<const T extends string, const P extends object, const O extends object = {}>(type: T, properties: P, optional?: O) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', ...keysOf(properties)],
    properties: { type: { const: type }, ...properties, ...(optional as O) },
  } as const;
}
