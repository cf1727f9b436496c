export type PrefixMatch<T> =
  | { kind: 'one'; items: T[] }
  | { kind: 'none' }
  | { kind: 'ambiguous'; keys: string[] }
  | { kind: 'too-short' };

/**
 * Find what `input` names among `items` by exact key or unique key prefix (case-insensitive).
 * Several items may share a key (one certificate in two directions): they are one match.
 * A prefix shorter than `minLength` is refused unless it is an exact key.
 */
export function matchByPrefix<T>(
  items: readonly T[],
  input: string,
  keysOf: (item: T) => string[],
  minLength = 1,
): PrefixMatch<T> {
  const wanted = input.trim().toLowerCase();
  if (wanted === '') return { kind: 'none' };
  const exact = items.filter((i) => keysOf(i).some((k) => k.toLowerCase() === wanted));
  if (exact.length > 0) return groupOrAmbiguous(exact, keysOf, wanted, true);
  if (wanted.length < minLength) return { kind: 'too-short' };
  const prefixed = items.filter((i) => keysOf(i).some((k) => k.toLowerCase().startsWith(wanted)));
  if (prefixed.length === 0) return { kind: 'none' };
  return groupOrAmbiguous(prefixed, keysOf, wanted, false);
}

function groupOrAmbiguous<T>(found: T[], keysOf: (item: T) => string[], wanted: string, exact: boolean): PrefixMatch<T> {
  const primary = new Set(found.map((i) => keysOf(i)[0]!.toLowerCase()));
  if (primary.size === 1) return { kind: 'one', items: found };
  // Report the matching keys themselves, so the operator sees what to type.
  const keys = new Set<string>();
  for (const i of found) {
    for (const k of keysOf(i)) {
      const lk = k.toLowerCase();
      if (exact ? lk === wanted : lk.startsWith(wanted)) keys.add(keysOf(i)[0]!);
    }
  }
  return { kind: 'ambiguous', keys: [...keys].sort() };
}
