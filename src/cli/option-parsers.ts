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
