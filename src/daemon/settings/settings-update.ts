import { GwError } from '../../core/errors.js';
import { describeProblems, type FieldProblem } from '../../core/schema-errors.js';
import { wouldDualActive } from '../../core/redundancy/role-change.js';
import { checkRedundancySettings, mergeRedundancyUpdate } from '../../core/settings/redundancy-rules.js';
import type { GatewayNetworkSettings, NetworkUpdate, RedundancySettings, RedundancyUpdate } from '../../core/settings/types.js';
import type { Daemon } from '../daemon.js';
import { writeJsonAtomic } from '../storage/atomic-write.js';


/** What a redundancy settings change did beyond the settings: the guard `force` overrode, if any. */
export interface RedundancyUpdateResult {
  settings: RedundancySettings;
  forced: { code: string; message: string } | null;
}

/**
 * Change redundancy.json: merge, validate (schema, then the rules of DESIGN.md section 4, every
 * problem named by field), check rule 11, write atomically, then replace `d.redundancy` so every
 * reader sees the new value, and let the Gateway Network follow (dial, stop dialling, close a link
 * of another role). A refused change writes nothing.
 */
export function updateRedundancySettings(
  d: Daemon,
  update: RedundancyUpdate,
  options: { force?: boolean } = {},
): Promise<RedundancyUpdateResult> {
  return d.settingsQueue.run(async () => {
    const previous = d.redundancy;
    const merged = mergeRedundancyUpdate(previous, update);
    const next = validateRedundancy(d, merged);
    const forced = checkDualActive(d, previous, next, options.force === true);
    await writeJsonAtomic(d.dataDir.redundancyFile, next);
    d.redundancy = next;
    d.config.journalMaxBytes = next.syncJournalMaxBytes;
    const changed = changedFields(previous, next);
    if (changed.length > 0) d.events.emit('redundancy.settings.changed', { changed, ...(forced ? { forced: forced.code } : {}) });
    if (previous.role !== next.role) {
      d.events.emit('role.changed', { from: previous.role, to: next.role });
      d.logger.info({ from: previous.role, to: next.role }, 'role changed');
    }
    // The machine first (it forgets a peer of the old role), then the link follows.
    await d.engine.settingsChanged(next);
    d.gan.applyRedundancy(previous);
    return { settings: next, forced };
  });
}

/**
 * Rule 11: a role change that would make this node Active while its connected peer is Active is
 * refused, unless the operator forces it (then it is applied, logged and reported as forced).
 */
function checkDualActive(
  d: Daemon,
  previous: RedundancySettings,
  next: RedundancySettings,
  force: boolean,
): { code: string; message: string } | null {
  if (!wouldDualActive(d.engine.view(), previous.role, next.role)) return null;
  const summary = d.gan.peerSummary();
  const view = d.engine.view().peer;
  const name = summary?.systemName ?? null;
  const address = summary?.address ?? view?.address ?? null;
  const peer = name && address ? `${name} (${address})` : (name ?? address ?? view?.uuid ?? 'the peer');
  const err = new GwError('GW_ERR_REDUNDANCY_WOULD_DUAL_ACTIVE', { to: next.role, peer }, { from: previous.role, to: next.role, peer: { uuid: view?.uuid ?? null, systemName: name, address } });
  if (!force) throw err;
  const message =
    `the role changed to ${next.role} although this node becomes Active while its peer ${peer} is Active (${err.code} overridden); ` +
    'two nodes are Active until one of them stands down';
  d.logger.warn({ from: previous.role, to: next.role, peer }, 'role change forced although it makes two Active nodes (rule 11)');
  return { code: err.code, message };
}

export function validateRedundancy(d: Daemon, candidate: RedundancySettings): RedundancySettings {
  const copy = structuredClone(candidate);
  const result = d.schemas.validate<RedundancySettings>('gwd:settings/redundancy', copy);
  const problems: FieldProblem[] = result.ok ? checkRedundancySettings(result.value) : result.problems;
  if (problems.length > 0) {
    throw new GwError('GW_ERR_REDUNDANCY_INVALID_SETTINGS', { detail: describeProblems(problems) }, { problems });
  }
  return copy;
}

/** Change gateway-network.json and rebind the listeners live. */
export function updateNetworkSettings(d: Daemon, update: NetworkUpdate): Promise<GatewayNetworkSettings> {
  return d.settingsQueue.run(async () => {
    const previous = d.network;
    const candidate = structuredClone({ ...previous, ...update, version: 1 as const });
    if (candidate.whitelist) candidate.whitelist = candidate.whitelist.map((n) => n.trim()).filter((n) => n !== '');
    const result = d.schemas.validate<GatewayNetworkSettings>('gwd:settings/gateway-network', candidate);
    const problems: FieldProblem[] = result.ok ? [] : result.problems;
    if (result.ok && candidate.port !== 0 && candidate.port === candidate.sslPort) {
      problems.push({ pointer: '/sslPort', message: `must differ from port (${candidate.port})` });
    }
    if (problems.length > 0) throw new GwError('GW_ERR_GAN_SETTINGS_INVALID', { detail: describeProblems(problems) }, { problems });
    await writeJsonAtomic(d.dataDir.gatewayNetworkFile, candidate);
    d.network = candidate;
    const changed = changedFields(previous, candidate);
    if (changed.length > 0) d.events.emit('network.settings.changed', { changed });
    await d.gan.applyNetwork();
    const views = d.gan.listenerViews();
    for (const [name, v] of Object.entries(views)) {
      if (v.error) {
        throw new GwError('GW_ERR_GAN_LISTEN_FAILED', { listener: name, address: `${v.address}:${v.port}`, detail: v.error });
      }
    }
    return candidate;
  });
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
