import { InvalidArgumentError } from 'commander';

/** BOOL on the command line: true/false, yes/no, on/off, 1/0. */
export function parseBool(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(v)) return true;
  if (['false', 'no', 'off', '0'].includes(v)) return false;
  throw new InvalidArgumentError('must be true or false');
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

export function parseMs(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 3_600_000) throw new InvalidArgumentError('must be a whole number of milliseconds');
  return n;
}

export function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000) throw new InvalidArgumentError('must be a whole number from 1 to 1000');
  return n;
}

export function parseList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `approved-only` → `ApprovedOnly`, `independent` → `Independent`. */
export function pascal(value: string): string {
  return value
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1).toLowerCase())
    .join('');
}

export function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 86400) {
    throw new InvalidArgumentError('must be a number of seconds between 0 and 86400');
  }
  return n;
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `10s`, `2m`, `1h`, or a bare number in `bareUnitMs`, as ms; NaN when it is none of those. */
export function durationMs(value: string, bareUnitMs: number): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(value.trim());
  return m ? Number(m[1]) * (m[2] ? UNIT_MS[m[2].toLowerCase()]! : bareUnitMs) : Number.NaN;
}

function human(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * A time flag (DESIGN.md section 8): `500ms`, `10s`, `2m`, `1h`, or a bare number in the flag's
 * documented unit (`unit`), so `--failover-timeout 10s` and `--failover-timeout 10000` agree and
 * `--sync-timeout 60000` is not taken as 60,000 s silently: it is refused with the flag's bounds.
 * Returns the value in the flag's unit (whole ms, or seconds).
 */
export function durationFlag(unit: 'ms' | 's', minMs: number, maxMs: number): (value: string) => number {
  return (value: string): number => {
    const ms = durationMs(value, UNIT_MS[unit]!);
    if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) {
      throw new InvalidArgumentError(`must be a duration from ${human(minMs)} to ${human(maxMs)} (e.g. 500ms, 10s, 2m; a bare number is in ${unit === 'ms' ? 'milliseconds' : 'seconds'})`);
    }
    return unit === 'ms' ? Math.round(ms) : ms / 1000;
  };
}
