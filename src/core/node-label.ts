/**
 * A node's label (DESIGN.md section 8): the local name of one machine, kept in node.json and never
 * synced, so the two nodes of a pair stay apart after the backup takes the master's system name.
 * Pure: the daemon and gwctl share the rules.
 */

export const LABEL_MAX = 64;

/** Letters, digits, punctuation and inner spaces; no control or format characters, no `|` (connection ids use it). */
const PRINTABLE = /^[^\p{C}|]+$/u;

/** Why `value` cannot be a label, or null when it can. */
export function labelProblem(value: string): string | null {
  if (value.length === 0) return 'a label has 1 to 64 characters; it is empty';
  if ([...value].length > LABEL_MAX) return `a label has 1 to ${LABEL_MAX} characters; it has ${[...value].length}`;
  if (!PRINTABLE.test(value)) return 'a label holds printable characters only (no control characters and no "|")';
  if (value.trim() !== value) return 'a label neither starts nor ends with a space';
  return null;
}

/**
 * The label a node starts with: its system name on first start (--system-name or the host name),
 * made fit (control characters and `|` dropped, cut to 64 characters); `gwd` if nothing is left.
 */
export function labelFromSystemName(systemName: string): string {
  const cleaned = [...systemName.replace(/[\p{C}|]/gu, '').trim()].slice(0, LABEL_MAX).join('').trim();
  return cleaned === '' ? 'gwd' : cleaned;
}
