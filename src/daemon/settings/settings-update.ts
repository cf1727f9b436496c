import { isIP } from 'node:net';

import { GwError } from '../../core/errors.js';
import { describeProblems, type FieldProblem } from '../../core/schema-errors.js';
import type { MachineView } from '../../core/redundancy/machine.js';
import { wouldDualActive } from '../../core/redundancy/role-change.js';
import { checkRedundancySettings, mergeRedundancyUpdate } from '../../core/settings/redundancy-rules.js';
import type { GatewayNetworkSettings, NetworkUpdate, RedundancySettings, RedundancyUpdate } from '../../core/settings/types.js';
import type { PeerSummary } from '../../core/wire.js';
import type { EventLog } from '../events/event-log.js';
import type { Logger } from '../logger.js';
import type { DaemonOptions } from '../options.js';
import type { SchemaRegistry } from '../schema-registry.js';
import type { SettingsStore } from './settings-store.js';

/** What a redundancy settings change did beyond the settings: the guard `force` overrode, if any. */
export interface RedundancyUpdateResult {
  settings: RedundancySettings;
  forced: { code: string; message: string } | null;
}

/** What a settings change needs besides the store: validation, announcement, and (rule 11) the pair. */
export interface SettingsUpdateDeps {
  settings: SettingsStore;
  schemas: SchemaRegistry;
  events: Pick<EventLog, 'emit'>;
  logger: Logger;
  /** The redundancy machine's view: this node's activity and the peer's. */
  machineView: () => Pick<MachineView, 'activity' | 'peer'>;
  /** The connected peer as status shows it, to name it in a refusal. */
  peerSummary: () => PeerSummary | null;
}

/**
 * Change redundancy.json: merge, validate (schema, then the rules of DESIGN.md section 4, every
 * problem named by field), check rule 11, then hand it to the settings store (write atomically,
 * swap, announce; the engine and the Gateway Network follow as its subscribers). A refused change
 * writes nothing.
 */
export function updateRedundancySettings(
  deps: SettingsUpdateDeps,
  update: RedundancyUpdate,
  options: { force?: boolean } = {},
): Promise<RedundancyUpdateResult> {
  return deps.settings.update(
    'redundancy',
    (previous) => {
      const next = validateRedundancy(deps.schemas, mergeRedundancyUpdate(previous, update));
      const forced = checkDualActive(deps, previous, next, options.force === true);
      return { next, result: { settings: next, forced } };
    },
    ({ previous, next }, { forced }) => {
      const changed = changedFields(previous, next);
      if (changed.length > 0) deps.events.emit('redundancy.settings.changed', { changed, ...(forced ? { forced: forced.code } : {}) });
      if (previous.role !== next.role) {
        deps.events.emit('role.changed', { from: previous.role, to: next.role });
        deps.logger.info({ from: previous.role, to: next.role }, 'role changed');
      }
    },
  );
}

/**
 * Rule 11: a role change that would make this node Active while its connected peer is Active is
 * refused, unless the operator forces it (then it is applied, logged and reported as forced).
 */
function checkDualActive(
  deps: SettingsUpdateDeps,
  previous: RedundancySettings,
  next: RedundancySettings,
  force: boolean,
): { code: string; message: string } | null {
  const machine = deps.machineView();
  if (!wouldDualActive(machine, previous.role, next.role)) return null;
  const summary = deps.peerSummary();
  const view = machine.peer;
  const name = summary?.systemName ?? null;
  const address = summary?.address ?? view?.address ?? null;
  const peer = name && address ? `${name} (${address})` : (name ?? address ?? view?.uuid ?? 'the peer');
  const err = new GwError('GW_ERR_REDUNDANCY_WOULD_DUAL_ACTIVE', { to: next.role, peer }, { from: previous.role, to: next.role, peer: { uuid: view?.uuid ?? null, systemName: name, address } });
  if (!force) throw err;
  const message =
    `the role changed to ${next.role} although this node becomes Active while its peer ${peer} is Active (${err.code} overridden); ` +
    'two nodes are Active until one of them stands down';
  deps.logger.warn({ from: previous.role, to: next.role, peer }, 'role change forced although it makes two Active nodes (rule 11)');
  return { code: err.code, message };
}

export function validateRedundancy(schemas: SchemaRegistry, candidate: RedundancySettings): RedundancySettings {
  const copy = structuredClone(candidate);
  const result = schemas.validate<RedundancySettings>('gwd:settings/redundancy', copy);
  const problems: FieldProblem[] = result.ok ? checkRedundancySettings(result.value) : result.problems;
  if (problems.length > 0) {
    throw new GwError('GW_ERR_REDUNDANCY_INVALID_SETTINGS', { detail: describeProblems(problems) }, { problems });
  }
  return copy;
}

/** gwd --port/--ssl-port/--bind of this process (null: not given), which win over gateway-network.json. */
export type ListenerOverrides = Pick<DaemonOptions, 'port' | 'sslPort' | 'bind'>;

/**
 * Change gateway-network.json; the Gateway Network, a gate of the store, rebinds its listeners live
 * (and a change they cannot bind is undone). A change to a field this process's gwd flags override
 * is refused: it would be saved but not used.
 */
export function updateNetworkSettings(
  deps: Pick<SettingsUpdateDeps, 'settings' | 'schemas' | 'events'>,
  update: NetworkUpdate,
  overrides: ListenerOverrides,
): Promise<GatewayNetworkSettings> {
  return deps.settings.update(
    'network',
    (previous) => {
      const next = validateNetwork(deps.schemas, previous, update);
      checkOverrides(previous, next, overrides);
      return { next, result: next };
    },
    ({ previous, next }) => {
      const changed = changedFields(previous, next);
      if (changed.length > 0) deps.events.emit('network.settings.changed', { changed });
    },
  );
}

function validateNetwork(schemas: SchemaRegistry, previous: GatewayNetworkSettings, update: NetworkUpdate): GatewayNetworkSettings {
  const candidate = structuredClone({ ...previous, ...update, version: 1 as const });
  if (candidate.whitelist) candidate.whitelist = candidate.whitelist.map((n) => n.trim()).filter((n) => n !== '');
  const result = schemas.validate<GatewayNetworkSettings>('gwd:settings/gateway-network', candidate);
  const problems: FieldProblem[] = result.ok ? [] : result.problems;
  if (result.ok && candidate.port !== 0 && candidate.port === candidate.sslPort) {
    problems.push({ pointer: '/sslPort', message: `must differ from port (${candidate.port})` });
  }
  // Node would take a host name and resolve it at listen time; a typo (999.1.1.1) would only fail there.
  if (result.ok && update.bindAddress !== undefined && isIP(candidate.bindAddress) === 0) {
    problems.push({ pointer: '/bindAddress', message: `must be an IP address of this host (such as 0.0.0.0, 127.0.0.1 or ::), not ${JSON.stringify(update.bindAddress)}` });
  }
  if (problems.length > 0) throw new GwError('GW_ERR_GAN_SETTINGS_INVALID', { detail: describeProblems(problems) }, { problems });
  return candidate;
}

const OVERRIDDEN_FIELDS = [
  { field: 'port', option: 'port', flag: '--port', env: 'GWD_PORT' },
  { field: 'sslPort', option: 'sslPort', flag: '--ssl-port', env: 'GWD_SSL_PORT' },
  { field: 'bindAddress', option: 'bind', flag: '--bind', env: 'GWD_BIND' },
] as const;

/** The fields of gateway-network.json this process's gwd flags (or env) override, in file order. */
export function overriddenFields(overrides: ListenerOverrides): string[] {
  return OVERRIDDEN_FIELDS.filter((o) => overrides[o.option] !== null).map((o) => o.field);
}

/** Refuse a change this process would not use: a field its gwd flags (or env) override. */
function checkOverrides(previous: GatewayNetworkSettings, next: GatewayNetworkSettings, overrides: ListenerOverrides): void {
  const problems: FieldProblem[] = [];
  let first: { override: string; field: string } | null = null;
  for (const { field, option, flag, env } of OVERRIDDEN_FIELDS) {
    const value = overrides[option];
    if (value === null || previous[field] === next[field]) continue;
    const override = `${flag} ${value} (or ${env}=${value})`;
    first ??= { override, field };
    problems.push({
      pointer: `/${field}`,
      message: `is overridden by gwd ${override} for this process: ${JSON.stringify(next[field])} would be saved but not used; nothing was changed (restart gwd without ${flag} to use gateway-network.json's ${field})`,
    });
  }
  if (first) throw new GwError('GW_ERR_GAN_SETTING_OVERRIDDEN', first, { problems });
}

function changedFields(a: object, b: object, prefix = ''): string[] {
  const out: string[] = [];
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const key of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
    const va = ra[key];
    const vb = rb[key];
    if (va && vb && typeof va === 'object' && typeof vb === 'object' && !Array.isArray(va)) {
      out.push(...changedFields(va, vb, `${prefix}${key}.`));
    } else if (JSON.stringify(va) !== JSON.stringify(vb)) {
      out.push(`${prefix}${key}`);
    }
  }
  return out;
}
