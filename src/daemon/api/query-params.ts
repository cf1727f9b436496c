import { GwError } from '../../core/errors.js';

/**
 * Query string parameters of the local API, refused with GW_ERR_API_INVALID_QUERY naming the
 * parameter and what it accepts. Absent or empty: the fallback.
 */
export function enumParam<T extends string>(query: URLSearchParams, name: string, allowed: readonly T[]): T | undefined;
export function enumParam<T extends string>(query: URLSearchParams, name: string, allowed: readonly T[], fallback: T): T;
export function enumParam<T extends string>(query: URLSearchParams, name: string, allowed: readonly T[], fallback?: T): T | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new GwError('GW_ERR_API_INVALID_QUERY', { name, detail: `"${raw}" is not one of ${allowed.join(', ')}` });
  }
  return raw as T;
}

export function intParam(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new GwError('GW_ERR_API_INVALID_QUERY', { name, detail: `"${raw}" is not a non-negative integer` });
  return Number(raw);
}

export function boolParam(query: URLSearchParams, name: string): boolean {
  const raw = query.get(name);
  if (raw === null) return false;
  if (raw === '' || raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new GwError('GW_ERR_API_INVALID_QUERY', { name, detail: `"${raw}" is not 1, 0, true or false` });
}
