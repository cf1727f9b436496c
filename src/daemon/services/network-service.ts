import { GwError } from '../../core/errors.js';
import { GAN_PATH } from '../../core/gan/protocol.js';
import type { NetworkUpdate } from '../../core/settings/types.js';
import type { NetworkView } from '../../core/wire.js';
import { effectiveListenerConfig } from '../gan/gan-host.js';
import type { GatewayNetwork } from '../gan/gateway-network.js';
import type { DaemonOptions } from '../options.js';
import { updateNetworkSettings, type SettingsUpdateDeps } from '../settings/settings-update.js';

/** The Gateway Network's listeners over the local API: gateway-network.json, what is in effect, what is bound. */
export interface NetworkService {
  view(): NetworkView;
  /** Written, then the listeners rebind; a listener that cannot bind fails the request (the file stays). */
  update(update: NetworkUpdate): Promise<NetworkView>;
}

export interface NetworkServiceDeps {
  updates: Pick<SettingsUpdateDeps, 'settings' | 'schemas' | 'events'>;
  /** gwd --port/--ssl-port/--bind, which win over the file for this process. */
  options: Pick<DaemonOptions, 'port' | 'sslPort' | 'bind'>;
  gan: Pick<GatewayNetwork, 'listenerViews'>;
}

export class ListenerNetworkService implements NetworkService {
  constructor(private readonly deps: NetworkServiceDeps) {}

  view(): NetworkView {
    const { updates, options, gan } = this.deps;
    const network = updates.settings.network;
    const eff = effectiveListenerConfig({ network, options });
    const overridden: string[] = [];
    if (options.port !== null) overridden.push('port');
    if (options.sslPort !== null) overridden.push('sslPort');
    if (options.bind !== null) overridden.push('bindAddress');
    return {
      settings: network,
      effective: { bindAddress: eff.bindAddress, port: eff.port, sslPort: eff.sslPort },
      overridden,
      listeners: gan.listenerViews(),
      path: GAN_PATH,
    };
  }

  async update(update: NetworkUpdate): Promise<NetworkView> {
    await updateNetworkSettings(this.deps.updates, update);
    return this.view();
  }
}

/** The settings store's subscriber for gateway-network.json: rebind, and refuse the change if a listener did not bind. */
export async function rebindListeners(gan: Pick<GatewayNetwork, 'applyNetwork' | 'listenerViews'>): Promise<void> {
  await gan.applyNetwork();
  for (const [name, v] of Object.entries(gan.listenerViews())) {
    if (v.error) throw new GwError('GW_ERR_GAN_LISTEN_FAILED', { listener: name, address: `${v.address}:${v.port}`, detail: v.error });
  }
}
