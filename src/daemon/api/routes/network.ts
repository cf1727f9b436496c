import type { NetworkUpdate } from '../../../core/settings/types.js';
import type { NetworkView } from '../../../core/wire.js';
import type { Daemon } from '../../daemon.js';
import { GAN_PATH } from '../../../core/gan/protocol.js';
import { effectiveListenerConfig } from '../../gan/gan-host.js';
import { updateNetworkSettings } from '../../settings/settings-update.js';
import type { Router } from '../router.js';

export function registerNetworkRoutes(router: Router, d: Daemon): void {
  router.get('/v0/network', () => networkView(d));
  router.put(
    '/v0/network',
    async (req) => {
      await updateNetworkSettings(d.settingsUpdates, req.body as NetworkUpdate);
      return networkView(d);
    },
    { bodySchema: 'gwd:api/network-update' },
  );
}

export function networkView(d: Daemon): NetworkView {
  const eff = effectiveListenerConfig(d);
  const overridden: string[] = [];
  if (d.options.port !== null) overridden.push('port');
  if (d.options.sslPort !== null) overridden.push('sslPort');
  if (d.options.bind !== null) overridden.push('bindAddress');
  return {
    settings: d.network,
    effective: { bindAddress: eff.bindAddress, port: eff.port, sslPort: eff.sslPort },
    overridden,
    listeners: d.gan.listenerViews(),
    path: GAN_PATH,
  };
}
