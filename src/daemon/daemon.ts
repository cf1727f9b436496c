import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';

import { PRODUCT_VERSION } from '../core/version.js';
import { ApiServer } from './api/server.js';
import { Router } from './api/router.js';
import { registerAllRoutes, type ApiServices } from './api/routes/index.js';
import { collectGarbage } from './collect-garbage.js';
import { ConfigStore } from './config/config-store.js';
import { effectiveSystemName, seedSystemName } from './config/system-name.js';
import { loadResourceTypes } from './config/type-registry.js';
import { DataDir } from './data-dir.js';
import { EventLog } from './events/event-log.js';
import type { GanHost } from './gan/gan-host.js';
import { GatewayNetwork } from './gan/gateway-network.js';
import { loadOrCreateIdentity, type Identity } from './identity/identity.js';
import type { KeyPair } from './identity/key-pair.js';
import { NodeLabel } from './identity/node-label.js';
import { Metrics } from './metrics.js';
import { MetricsServer } from './metrics-server.js';
import { REDUNDANCY_MESSAGE_SCHEMA, STATE_REPORT_SCHEMA } from '../core/redundancy/index.js';
import { messageTypesOf } from '../core/gan/protocol.js';
import { SYNC_BINARY_MESSAGE_SCHEMA, SYNC_MESSAGE_SCHEMA } from '../core/sync/messages.js';
import { RedundancyEngine } from './redundancy/engine.js';
import { PauseService } from './redundancy/pause-service.js';
import { PAUSE_MESSAGE_SCHEMA } from '../core/redundancy/pause-record.js';
import { HookRunner } from './redundancy/hook-runner.js';
import type { Logger } from './logger.js';
import type { DaemonOptions } from './options.js';
import { SchemaRegistry } from './schema-registry.js';
import { StoreConfigService } from './services/config-service.js';
import { ListenerNetworkService, rebindListeners } from './services/network-service.js';
import { PairRedundancyService } from './services/redundancy-service.js';
import { NodeStatusService } from './services/status-service.js';
import { ganTrustService } from './services/trust-service.js';
import type { RedundancySettings } from './settings/node-settings.js';
import { SettingsStore } from './settings/settings-store.js';
import type { SettingsUpdateDeps } from './settings/settings-update.js';
import { recoverSnapshotSwap } from './sync/snapshot-sink.js';
import { SyncEngine } from './sync/sync-engine.js';

/** The parts of a running gwd, each set once as startup reaches it (a failed start stops what exists). */
interface Parts {
  identity: Identity;
  events: EventLog;
  /** The configuration store (config/resources, var/config-journal.ndjson). */
  config: ConfigStore;
  /** redundancy.json and gateway-network.json in effect; every change goes through its queue. */
  settings: SettingsStore;
  /** The Gateway Network; `gan.link` is the PeerLink the redundancy and sync engines use. */
  gan: GatewayNetwork;
  /** Activity decisions: the redundancy state machine with its timers, hooks and link wiring. */
  engine: RedundancyEngine;
  /** Rule 12: the pair-wide pause record, its expiry and its exchange with the peer. */
  pause: PauseService;
  /** Configuration sync with the peer: full snapshots, incremental changes, resync. */
  sync: SyncEngine;
  metrics: Metrics;
  /** What the local API serves, one service per feature. */
  services: ApiServices;
  api: ApiServer;
  metricsServer: MetricsServer;
}

/**
 * One gwd: loads its data directory, wires its parts together and serves the local API. The parts
 * talk through the services and the settings store's subscriptions, never through the Daemon: it
 * only builds them, in dependency order, and stops them in reverse. Tests start it in-process on a
 * temp directory (and read its parts); bin/gwd starts it from main.ts.
 */
export class Daemon {
  readonly dataDir: DataDir;
  readonly schemas = new SchemaRegistry();
  readonly router = new Router();
  readonly startedAt = new Date();
  private readonly hooks = new HookRunner();
  private readonly parts: Partial<Parts> = {};
  private isReady = false;
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly options: DaemonOptions,
    readonly logger: Logger,
  ) {
    this.dataDir = new DataDir(options.dataDir);
  }

  get ready(): boolean {
    return this.isReady;
  }
  get identity(): Identity {
    return this.part('identity');
  }
  get events(): EventLog {
    return this.part('events');
  }
  get config(): ConfigStore {
    return this.part('config');
  }
  get settings(): SettingsStore {
    return this.part('settings');
  }
  /** The redundancy settings in effect (the settings store's). */
  get redundancy(): RedundancySettings {
    return this.settings.redundancy;
  }
  get gan(): GatewayNetwork {
    return this.part('gan');
  }
  get engine(): RedundancyEngine {
    return this.part('engine');
  }
  get pause(): PauseService {
    return this.part('pause');
  }
  get sync(): SyncEngine {
    return this.part('sync');
  }
  get metrics(): Metrics {
    return this.part('metrics');
  }
  get services(): ApiServices {
    return this.part('services');
  }
  get metricsServer(): MetricsServer | null {
    return this.parts.metricsServer ?? null;
  }

  private part<K extends keyof Parts>(name: K): Parts[K] {
    const value = this.parts[name];
    if (value === undefined) throw new Error(`gwd has no ${name} (not started yet)`);
    return value;
  }

  /**
   * The system name in effect: the effective gateway-settings of the store, read each time so that a
   * `config set gateway-settings` (or a sync) shows at once. `--system-name` only while the resource
   * is missing or invalid.
   */
  get systemName(): string {
    const role = this.parts.settings?.redundancy.role ?? 'Independent';
    return (this.parts.config && effectiveSystemName(this.parts.config, role)) ?? this.options.systemName;
  }

  /** `keyPair`: a first start's key, begun by main.ts before the modules loaded (pregenerateKeyPair). */
  static async start(options: DaemonOptions, logger: Logger, { keyPair }: { keyPair?: Promise<KeyPair> } = {}): Promise<Daemon> {
    const daemon = new Daemon(options, logger);
    try {
      await daemon.init(keyPair);
    } catch (err) {
      await daemon.stop('startup-failed').catch(() => undefined);
      throw err;
    }
    return daemon;
  }

  private async init(keyPair: Promise<KeyPair> | undefined): Promise<void> {
    const { dataDir, options, logger, schemas, parts } = this;
    await fsp.mkdir(dataDir.root, { recursive: true, mode: 0o750 });
    await fsp.mkdir(dataDir.varDir, { recursive: true });

    // Key generation runs on the thread pool while the store and settings load (first start).
    const identityLoad = loadOrCreateIdentity(dataDir, schemas, {
      edition: options.edition,
      systemName: options.systemName,
      keyPair,
    });
    identityLoad.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    // Events first: changes found by the store's startup scan are announced like any other.
    const events = (parts.events = await EventLog.open({ file: dataDir.eventLogFile }));
    // A full snapshot whose swap a crash interrupted is finished (or its staging dropped) before the
    // store reads the disk: the store only ever sees the whole old core or the whole new one.
    const coreDir = path.join(dataDir.resourcesDir, 'core');
    const swap = await recoverSnapshotSwap({ coreDir, varDir: dataDir.varDir });
    if (swap === 'completed') logger.warn({ coreDir }, 'completed a snapshot swap interrupted by a crash');
    const config = (parts.config = (
      await ConfigStore.open({
        resourcesDir: dataDir.resourcesDir,
        varDir: dataDir.varDir,
        schemas,
        types: loadResourceTypes(schemas),
        logger,
        recoveredSnapshot: swap === 'completed',
        onChange: (e) =>
          events.emit('config.changed', {
            resource: e.address,
            version: e.version,
            revision: e.revision,
            actor: e.actor,
            collection: e.collection,
            op: e.op,
          }),
      })
    ).store);
    await seedSystemName(config, options.systemName);
    // The startup scan's garbage, collected before anything is served (collect-garbage.ts).
    const heapBefore = process.memoryUsage().heapTotal;
    const gcMs = collectGarbage({ compact: true });
    logger.debug({ gcMs, heapTotalBefore: heapBefore, heapTotalAfter: process.memoryUsage().heapTotal }, 'collected the startup scan\'s garbage');
    const settings = (parts.settings = await SettingsStore.open(
      { redundancy: dataDir.redundancyFile, network: dataDir.gatewayNetworkFile },
      schemas,
      options,
    ));
    config.journalMaxBytes = settings.redundancy.syncJournalMaxBytes;
    settings.subscribe('redundancy', ({ next }) => {
      config.journalMaxBytes = next.syncJournalMaxBytes;
    });

    const identity = (parts.identity = await identityLoad);
    const systemName = (): string => this.systemName;
    const nodeLabel = new NodeLabel(dataDir.nodeFile, identity.node, identity.label, events);
    const ganHost: GanHost = {
      identity,
      get systemName() {
        return systemName();
      },
      get label() {
        return nodeLabel.label;
      },
      get redundancy() {
        return settings.redundancy;
      },
      get network() {
        return settings.network;
      },
      options,
      events,
      logger,
      schemas,
    };
    const gan = (parts.gan = new GatewayNetwork(ganHost, dataDir, () => this.services.status.status()));
    this.registerProtocol(gan, REDUNDANCY_MESSAGE_SCHEMA);
    schemas.add(STATE_REPORT_SCHEMA as unknown as { $id: string });
    const engine = (parts.engine = await RedundancyEngine.create({
      nodeId: identity.node.uuid,
      validateState: (state) => schemas.validate(STATE_REPORT_SCHEMA.$id, state).ok,
      varDir: dataDir.varDir,
      settings: settings.redundancy,
      events,
      hooks: this.hooks,
      logger,
    }));
    engine.attachLink(gan.link);
    PauseService.registerSchemas(schemas);
    this.registerProtocol(gan, PAUSE_MESSAGE_SCHEMA);
    const pause = (parts.pause = await PauseService.load({
      nodeId: identity.node.uuid,
      nodeName: systemName,
      varDir: dataDir.varDir,
      schemas,
      events,
      logger,
      setPaused: (paused) => engine.setPaused(paused),
    }));
    pause.attachLink(gan.link);
    this.registerProtocol(gan, SYNC_MESSAGE_SCHEMA);
    this.registerProtocol(gan, SYNC_BINARY_MESSAGE_SCHEMA, { binary: true });
    const sync = (parts.sync = await SyncEngine.create({
      nodeId: identity.node.uuid,
      store: config,
      coreDir,
      varDir: dataDir.varDir,
      events,
      logger,
      role: () => settings.redundancy.role,
      syncTimeoutSecs: () => settings.redundancy.syncTimeoutSecs,
      syncArchiveKeep: () => settings.redundancy.syncArchiveKeep,
      // What a backup validates a snapshot against: compiled while it waits for the master's answer.
      // (messages and resource.json are validated with defaults, resource content only checked).
      warm: () =>
        schemas.warm([SYNC_MESSAGE_SCHEMA.$id, SYNC_BINARY_MESSAGE_SCHEMA.$id, 'gwd:config/resource-meta'], [...config.types.values()].map((t) => t.schemaId)),
    }));
    sync.attachLink(gan.link);
    // A settings change reaches the machine first (it forgets a peer of the old role), then the link.
    settings.subscribe('redundancy', ({ next }) => engine.settingsChanged(next));
    settings.subscribe('redundancy', ({ previous }) => gan.applyRedundancy(previous));
    // A gate: a change whose listeners cannot bind is undone, never left saved with the node deaf.
    settings.subscribe('network', () => rebindListeners(gan), { gate: true });

    const updates: SettingsUpdateDeps = {
      settings,
      schemas,
      events,
      logger,
      machineView: () => engine.view(),
      peerSummary: () => gan.peerSummary(),
    };
    const status = new NodeStatusService({
      identity,
      systemName,
      label: () => nodeLabel.label,
      setLabel: (label) => nodeLabel.set(label),
      settings,
      engine,
      gan,
      sync,
      pause,
      config,
      events,
      startedAt: this.startedAt,
      ready: () => this.isReady,
      dataDir: dataDir.root,
      socketPath: options.socketPath,
      certFile: dataDir.certFile,
    });
    const metrics = (parts.metrics = new Metrics({
      status: () => status.status(),
      msSinceLastPeerMessage: () => {
        const at = gan.link.lastMessageAt;
        return at === null ? null : Date.now() - at;
      },
      pendingApprovals: () => gan.pendingApprovals(),
    }));
    events.subscribe((e) => metrics.onEvent(e));

    const services: ApiServices = (parts.services = {
      status,
      events: { since: (seq, limit) => events.since(seq, limit), subscribe: (fn) => events.subscribe(fn), trackStream: (res) => this.parts.api?.trackStream(res) },
      metrics,
      network: new ListenerNetworkService({ updates, options, gan }),
      redundancy: new PairRedundancyService({ nodeId: identity.node.uuid, updates, events, engine, sync, pause, label: () => nodeLabel.label }),
      trust: ganTrustService(gan),
      config: new StoreConfigService({ store: config, settings, dataDir, schemas }),
    });
    registerAllRoutes(this.router, services);

    const api = (parts.api = new ApiServer({ socketPath: options.socketPath, router: this.router, schemas, logger }));
    await api.listen();
    if (options.metricsPort !== undefined && options.metricsPort !== null) {
      parts.metricsServer = new MetricsServer(metrics, logger);
      await parts.metricsServer.listen(options.metricsPort, options.metricsBind ?? '127.0.0.1');
    }
    // A pause held across a restart reaches the machine before its join wait can end in a takeover.
    await pause.start();
    // The machine starts its join wait before the link can come up, so no peer event is missed.
    await engine.start();
    await gan.start();

    this.isReady = true;
    const { node, cert, created } = identity;
    events.emit('daemon.started', {
      version: PRODUCT_VERSION,
      pid: process.pid,
      uuid: node.uuid,
      systemName: this.systemName,
      label: nodeLabel.label,
      role: settings.redundancy.role,
      firstStart: created.node,
      // ms from process start to ready (meaningful for a gwd process, not for in-process tests).
      startupMs: Math.round(performance.now()),
    });
    logger.info(
      {
        version: PRODUCT_VERSION,
        uuid: node.uuid,
        systemName: this.systemName,
        label: nodeLabel.label,
        dataDir: dataDir.root,
        socket: options.socketPath,
        certFingerprint: cert.fingerprint,
        createdIdentity: created.node,
        createdCertificate: created.certificate,
      },
      'gwd started',
    );
  }

  /**
   * An engine's messages: their schema (a `oneOf` on `type`), and each type routed to it on the link
   * (`binary`: the headers of its binary frames).
   */
  private registerProtocol(gan: GatewayNetwork, schema: { $id: string; oneOf: readonly unknown[] }, options: { binary?: boolean } = {}): void {
    this.schemas.add(schema as unknown as { $id: string });
    gan.link.registerMessageTypes(messageTypesOf(schema), schema.$id, options);
  }

  /** Idempotent: a second signal while stopping waits for the first stop. */
  stop(reason: string): Promise<void> {
    this.stopping ??= this.doStop(reason);
    return this.stopping;
  }

  private async doStop(reason: string): Promise<void> {
    const { events, engine, settings, sync, pause, gan, metricsServer, api, config } = this.parts;
    this.isReady = false;
    this.logger.info({ reason }, 'gwd stopping');
    if (events) events.emit('daemon.stopping', { reason });
    // An Active node stands down and tells its peer (steppingDown) before the link says bye.
    if (engine) await engine.stop().catch((err: unknown) => this.logger.error({ err }, 'error stopping the redundancy engine'));
    // The stand-down's onActivityChange hook (stopping a driver, say) runs to its end, within the
    // hook timeout; only what still runs after that is killed. It used to be killed at once.
    if (settings) await Promise.race([this.hooks.idle(), delay(settings.redundancy.hooks.timeoutMs, undefined, { ref: false })]);
    this.hooks.killAll();
    // The holder a sync just recorded reaches the disk before the exit (else one full snapshot more).
    if (sync) await sync.stop();
    if (pause) await pause.stop();
    if (gan) await gan.stop('shutdown').catch((err: unknown) => this.logger.error({ err }, 'error stopping the gateway network'));
    if (metricsServer) await metricsServer.close();
    if (api) await api.close();
    if (config) await config.close();
    if (events) await events.close();
    this.logger.info({ reason }, 'gwd stopped');
  }
}
