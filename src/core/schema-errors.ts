/**
 * Turn JSON Schema validation failures into field-named problems a person can act on.
 * Kept free of ajv itself: only the shape of its error objects is used.
 */
export interface SchemaErrorLike {
  instancePath: string;
  keyword: string;
  message?: string | undefined;
  params: Record<string, unknown>;
}

export interface FieldProblem {
  /** JSON pointer of the failing field ("" is the whole document). */
  pointer: string;
  /** What was expected there. */
  message: string;
}

export function toFieldProblems(errors: readonly SchemaErrorLike[] | null | undefined): FieldProblem[] {
  if (!errors) return [];
  const seen = new Set<string>();
  const out: FieldProblem[] = [];
  for (const e of errors) {
    let pointer = e.instancePath;
    let message = e.message ?? e.keyword;
    if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') {
      pointer = `${pointer}/${escapePointer(e.params.additionalProperty)}`;
      message = 'is not a known field';
    } else if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') {
      pointer = `${pointer}/${escapePointer(e.params.missingProperty)}`;
      message = 'is required';
    } else if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) {
      message = `must be one of ${e.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    const key = `${pointer}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ pointer, message });
  }
  return out;
}

export function describeProblems(problems: readonly FieldProblem[]): string {
  return problems.map((p) => `${p.pointer || '/'} ${p.message}`).join('; ');
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
