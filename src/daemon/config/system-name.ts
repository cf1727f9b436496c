import { parseAddress } from '../../core/config-address.js';
import type { Role } from '../../core/wire.js';
import type { ConfigStore } from './config-store.js';
import { effectiveVersion } from './config-views.js';

const GATEWAY_SETTINGS = 'gateway-settings';

/**
 * The system name lives in the shared gateway-settings resource (module platform), so a backup shows
 * its master's name after a sync. `--system-name` only seeds it when the resource does not exist
 * yet; an invalid gateway-settings file is reported by the store and never replaced by the seed.
 */
export async function seedSystemName(store: ConfigStore, seed: string): Promise<void> {
  if (store.get('core', GATEWAY_SETTINGS) || store.problemsOf('core', GATEWAY_SETTINGS).length > 0) return;
  await store.put(parseAddress(GATEWAY_SETTINGS, store.types), 'core', 'primary', { systemName: seed }, 'gwd:first-start');
}

/** The system name in effect on this node, or null when gateway-settings is missing or invalid. */
export function effectiveSystemName(store: ConfigStore, role: Role): string | null {
  const eff = effectiveVersion(store, role, GATEWAY_SETTINGS);
  // gateway-settings is a singleton type: the store holds its content (read() would be async).
  const name = eff?.resource.held?.[eff.version]?.systemName;
  return typeof name === 'string' && name.length > 0 ? name : null;
}
