import { GwError } from '../../core/errors.js';
import { formatHostPort } from '../../core/gan/address.js';
import { GAN_PATH } from '../../core/gan/protocol.js';
import type { NetworkUpdate } from '../../core/settings/types.js';
import type { NetworkView } from '../../core/wire.js';
import { effectiveListenerConfig } from '../gan/gan-host.js';
import type { GatewayNetwork } from '../gan/gateway-network.js';
import { overriddenFields, updateNetworkSettings, type ListenerOverrides, type SettingsUpdateDeps } from '../settings/settings-update.js';

/** The Gateway Network's listeners over the local API: gateway-network.json, what is in effect, what is bound. */
export interface NetworkService {
  view(): NetworkView;
  /**
   * The listeners rebind, then the file is written; a listener that cannot bind fails the request and
   * nothing changes. A field overridden by gwd's flags is refused (it would not be used).
   */
  update(update: NetworkUpdate): Promise<NetworkView>;
}

export interface NetworkServiceDeps {
  updates: Pick<SettingsUpdateDeps, 'settings' | 'schemas' | 'events'>;
  /** gwd --port/--ssl-port/--bind, which win over the file for this process. */
  options: ListenerOverrides;
  gan: Pick<GatewayNetwork, 'listenerViews'>;
}

export class ListenerNetworkService implements NetworkService {
  constructor(private readonly deps: NetworkServiceDeps) {}

  view(): NetworkView {
    const { updates, options, gan } = this.deps;
    const network = updates.settings.network;
    const eff = effectiveListenerConfig({ network, options });
    const overridden = overriddenFields(options);
    return {
      settings: network,
      effective: { bindAddress: eff.bindAddress, port: eff.port, sslPort: eff.sslPort },
      overridden,
      listeners: gan.listenerViews(),
      path: GAN_PATH,
    };
  }

  async update(update: NetworkUpdate): Promise<NetworkView> {
    await updateNetworkSettings(this.deps.updates, update, this.deps.options);
    return this.view();
  }
}

/**
 * The settings store's gate for gateway-network.json: rebind, and refuse the change if a listener it
 * moved did not bind (the store then puts the old settings back and rebinds to them, writing nothing).
 */
export async function rebindListeners(gan: Pick<GatewayNetwork, 'applyNetwork'>): Promise<void> {
  const [failed] = await gan.applyNetwork();
  if (failed) {
    throw new GwError(
      'GW_ERR_GAN_LISTEN_FAILED',
      { listener: failed.listener, address: formatHostPort(failed.address, failed.port), detail: failed.error },
      { listener: failed.listener, address: failed.address, port: failed.port, error: failed.error },
    );
  }
}
