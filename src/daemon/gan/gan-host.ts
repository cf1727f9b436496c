import type { HelloMessage } from '../../core/gan/protocol.js';
import { PROTOCOL_VERSION, PRODUCT_VERSION } from '../../core/version.js';
import type { GatewayNetworkSettings, RedundancySettings } from '../../core/settings/types.js';
import type { EventLog } from '../events/event-log.js';
import type { Identity } from '../identity/identity.js';
import type { Logger } from '../logger.js';
import type { DaemonOptions } from '../options.js';
import type { SchemaRegistry } from '../schema-registry.js';

/** What the Gateway Network needs from the daemon; the live settings are read on every use. */
export interface GanHost {
  readonly identity: Identity;
  readonly systemName: string;
  /** This node's label (node.json), read live: the hello tells the peer. */
  readonly label: string;
  readonly redundancy: RedundancySettings;
  readonly network: GatewayNetworkSettings;
  readonly options: DaemonOptions;
  readonly events: EventLog;
  readonly logger: Logger;
  readonly schemas: SchemaRegistry;
}

export function ownHello(host: GanHost): HelloMessage {
  return {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    uuid: host.identity.node.uuid,
    systemName: host.systemName,
    edition: host.identity.node.edition,
    role: host.redundancy.role,
    version: PRODUCT_VERSION,
    label: host.label,
  };
}

/** The listener settings this process uses: the file, overridden by gwd --port/--ssl-port/--bind. */
export function effectiveListenerConfig(host: {
  readonly network: GatewayNetworkSettings;
  readonly options: Pick<DaemonOptions, 'bind' | 'port' | 'sslPort'>;
}): { enabled: boolean; bindAddress: string; port: number; sslPort: number } {
  return {
    enabled: host.network.enabled,
    bindAddress: host.options.bind ?? host.network.bindAddress,
    port: host.options.port ?? host.network.port,
    sslPort: host.options.sslPort ?? host.network.sslPort,
  };
}
