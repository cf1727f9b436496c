import { GwError, type ErrorBody } from '../core/errors.js';
import type { FieldProblem } from '../core/schema-errors.js';

/**
 * The daemon validates a settings body field by field (JSON pointers such as `/master/host`); the
 * person typed flags. A command that builds its body from flags maps each pointer back to the flag
 * that sets it, so a refusal reads `--master-address is required for a Backup` and exits 2 (a usage
 * error, DESIGN.md section 8), whether gwctl or the daemon caught it. The error code stays the
 * daemon's: scripts that match on it keep working.
 */
export type FlagMap = Readonly<Record<string, string>>;

/** A daemon validation refusal of a body gwctl built from flags: reported as a usage error. */
export class FlagRefusal extends Error {
  constructor(
    readonly refusal: GwError,
    readonly problems: readonly (FieldProblem & { flag: string | null })[],
  ) {
    super(problems.map((p) => `${p.flag ?? (p.pointer || '/')} ${p.message}`).join('; '));
    this.name = 'FlagRefusal';
  }

  /** The daemon's error body, each problem with the flag that sets its field (null if none does). */
  toBody(): ErrorBody {
    const body = this.refusal.toBody();
    const details = typeof body.details === 'object' && body.details !== null ? body.details : {};
    return { ...body, details: { ...details, problems: this.problems } };
  }
}

/** The flag for a pointer: an exact entry, else the entry of its nearest parent (`/hooks/x` -> `/hooks`). */
export function flagFor(map: FlagMap, pointer: string): string | null {
  for (let p = pointer; p !== ''; p = p.slice(0, p.lastIndexOf('/'))) {
    const flag = map[p];
    if (flag !== undefined) return flag;
  }
  return null;
}

function problemsOf(err: GwError): FieldProblem[] | null {
  const details = err.details as { problems?: unknown } | undefined;
  const list = details?.problems;
  if (err.statusCode !== 400 || !Array.isArray(list) || list.length === 0) return null;
  const ok = list.every((p) => typeof p === 'object' && p !== null && typeof p.pointer === 'string' && typeof p.message === 'string');
  return ok ? (list as FieldProblem[]) : null;
}

/** Run a request whose body came from flags; a field-by-field refusal becomes a FlagRefusal. */
export async function namingFlags<T>(map: FlagMap, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof GwError)) throw err;
    const problems = problemsOf(err);
    if (problems === null) throw err;
    throw new FlagRefusal(
      err,
      problems.map((p) => ({ pointer: p.pointer, message: p.message, flag: flagFor(map, p.pointer) })),
    );
  }
}
