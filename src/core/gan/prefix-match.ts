export type PrefixMatch<T> =
  | { kind: 'one'; items: T[] }
  | { kind: 'none' }
  | { kind: 'ambiguous'; keys: string[] }
  | { kind: 'too-short' };

/**
 * Find what `input` names among `items` by exact key or unique key prefix (case-insensitive).
 * `keysOf(item)[0]` is the item's primary key (what a list shows and an ambiguity names); several
 * items may share it (one certificate in two directions): they are one match. `wholeKeysOf` gives
 * keys matched only whole (a peer's label or system name: `plant` must not pick `plant-b`). An exact
 * match of any key wins over prefixes; a prefix shorter than `minLength` is refused.
 */
export function matchByPrefix<T>(
  items: readonly T[],
  input: string,
  keysOf: (item: T) => string[],
  minLength = 1,
  wholeKeysOf: (item: T) => (string | null | undefined)[] = () => [],
): PrefixMatch<T> {
  const wanted = input.trim().toLowerCase();
  if (wanted === '') return { kind: 'none' };
  const exact = items.filter((i) => [...keysOf(i), ...wholeKeysOf(i)].some((k) => k != null && k !== '' && k.toLowerCase() === wanted));
  if (exact.length > 0) return groupOrAmbiguous(exact, keysOf);
  if (wanted.length < minLength) return { kind: 'too-short' };
  const prefixed = items.filter((i) => keysOf(i).some((k) => k !== '' && k.toLowerCase().startsWith(wanted)));
  if (prefixed.length === 0) return { kind: 'none' };
  return groupOrAmbiguous(prefixed, keysOf);
}

/** One match, or the candidates by their primary keys, so the operator sees what to type. */
function groupOrAmbiguous<T>(found: T[], keysOf: (item: T) => string[]): PrefixMatch<T> {
  const primary = new Set(found.map((i) => keysOf(i)[0]!.toLowerCase()));
  if (primary.size === 1) return { kind: 'one', items: found };
  return { kind: 'ambiguous', keys: [...new Set(found.map((i) => keysOf(i)[0]!))].sort() };
}
