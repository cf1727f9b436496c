import type { FieldProblem } from '../schema-errors.js';
import type { RedundancySettings, RedundancyUpdate } from './types.js';

export const DEFAULT_SSL_PORT = 8060;
export const DEFAULT_PLAIN_PORT = 8088;

/**
 * Merge an update into the current settings. When only the transport changes (`master.enableSsl`
 * without `master.port`) and the port is the other transport's default, it follows: 8060 with SSL,
 * 8088 without, as an operator switching `--no-ssl` expects.
 */
export function mergeRedundancyUpdate(current: RedundancySettings, update: RedundancyUpdate): RedundancySettings {
  const next: RedundancySettings = {
    ...current,
    ...stripUndefined(update),
    master: { ...current.master, ...stripUndefined(update.master ?? {}) },
    hooks: { ...current.hooks, ...stripUndefined(update.hooks ?? {}) },
    // The witness is replaced as a whole (endpoints, prefix and TLS belong together); null removes it.
    witness: update.witness !== undefined ? update.witness : (current.witness ?? null),
    version: 1,
  } as RedundancySettings;
  const m = update.master;
  if (m && m.enableSsl !== undefined && m.port === undefined && m.enableSsl !== current.master.enableSsl) {
    if (m.enableSsl && current.master.port === DEFAULT_PLAIN_PORT) next.master.port = DEFAULT_SSL_PORT;
    if (!m.enableSsl && current.master.port === DEFAULT_SSL_PORT) next.master.port = DEFAULT_PLAIN_PORT;
  }
  return next;
}

/**
 * Rules the schema cannot say (DESIGN.md section 4): each problem names its field. An empty list
 * means the settings can be applied.
 */
export function checkRedundancySettings(s: RedundancySettings): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (s.failoverTimeout < 2 * s.master.pingRate) {
    problems.push({
      pointer: '/failoverTimeout',
      message: `must be at least 2 x master.pingRate (${2 * s.master.pingRate} ms); it is ${s.failoverTimeout} ms`,
    });
  }
  if (s.role === 'Backup' && s.master.host.trim() === '') {
    problems.push({ pointer: '/master/host', message: 'is required for a Backup (where it dials its master)' });
  }
  if (s.master.host !== '' && !/^[A-Za-z0-9.:_-]+$/.test(s.master.host)) {
    problems.push({ pointer: '/master/host', message: `"${s.master.host}" is not a host name or IP address` });
  }
  const w = s.witness;
  if (w) {
    // Section 9's margins need time to work with: a renewal every ttl/3, each request bounded by less.
    if (w.leaseTtlMs < 3 * s.master.pingRate) {
      problems.push({ pointer: '/witness/leaseTtlMs', message: `must be at least 3 x master.pingRate (${3 * s.master.pingRate} ms); it is ${w.leaseTtlMs} ms` });
    }
    if (new Set(w.endpoints).size !== w.endpoints.length) problems.push({ pointer: '/witness/endpoints', message: 'lists an endpoint twice' });
  }
  return problems;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v)))) as Partial<T>;
}
