import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';

import { PRODUCT_VERSION } from '../core/version.js';
import { ApiServer } from './api/server.js';
import { Router } from './api/router.js';
import { registerCertRoutes } from './api/routes/certs.js';
import { registerConnectionRoutes } from './api/routes/connections.js';
import { registerConfigRoutes } from './api/routes/config.js';
import { registerEventRoutes } from './api/routes/events.js';
import { registerMetricsRoutes } from './api/routes/metrics.js';
import { registerNetworkRoutes } from './api/routes/network.js';
import { registerRedundancySettingsRoutes } from './api/routes/redundancy.js';
import { registerStatusRoutes } from './api/routes/status.js';
import { ConfigStore } from './config/config-store.js';
import { effectiveSystemName, seedSystemName } from './config/system-name.js';
import { loadResourceTypes } from './config/type-registry.js';
import { DataDir } from './data-dir.js';
import { EventLog } from './events/event-log.js';
import { GatewayNetwork } from './gan/gateway-network.js';
import { loadOrCreateIdentity, type Identity } from './identity/identity.js';
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
import { ganTrustService } from './services/trust-service.js';
import { recoverSnapshotSwap } from './sync/snapshot-sink.js';
import { SyncEngine } from './sync/sync-engine.js';
import { buildStatus } from './status.js';
import type { GatewayNetworkSettings, RedundancySettings } from './settings/node-settings.js';
import { SettingsStore } from './settings/settings-store.js';
import type { SettingsUpdateDeps } from './settings/settings-update.js';
import { GwError } from '../core/errors.js';

/**
 * One gwd: loads its data directory, then serves the local API. Tests start it in-process on a temp
 * directory; bin/gwd starts it from main.ts. Subsystems are started in dependency order and stopped
 * in reverse.
 */
export class Daemon {
  readonly dataDir: DataDir;
  readonly schemas: SchemaRegistry;
  readonly router = new Router();
  readonly startedAt = new Date();
  identity!: Identity;
  events!: EventLog;
  /** The configuration store (config/resources, var/config-journal.ndjson). */
  config!: ConfigStore;
  api!: ApiServer;
  metrics!: Metrics;
  metricsServer: MetricsServer | null = null;
  /** redundancy.json and gateway-network.json in effect; every change goes through its queue. */
  settings!: SettingsStore;
  /** The Gateway Network; `gan.link` is the PeerLink the redundancy and sync engines use. */
  gan!: GatewayNetwork;
  /** Activity decisions: the redundancy state machine with its timers, hooks and link wiring. */
  engine!: RedundancyEngine;
  /** Rule 12: the pair-wide pause record, its expiry and its exchange with the peer. */
  pause!: PauseService;
  /** Configuration sync with the peer: full snapshots, incremental changes, resync. */
  sync!: SyncEngine;
  readonly hooks = new HookRunner();
  ready = false;
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly options: DaemonOptions,
    readonly logger: Logger,
  ) {
    this.dataDir = new DataDir(options.dataDir);
    this.schemas = new SchemaRegistry();
  }

  /**
   * The system name in effect: the effective gateway-settings of the store, read each time so that a
   * `config set gateway-settings` (or a sync) shows at once. `--system-name` only while the resource
   * is missing or invalid.
   */
  get systemName(): string {
    const role = this.settings?.redundancy.role ?? 'Independent';
    return (this.config && effectiveSystemName(this.config, role)) ?? this.options.systemName;
  }

  get redundancy(): RedundancySettings {
    return this.settings.redundancy;
  }

  get network(): GatewayNetworkSettings {
    return this.settings.network;
  }

  get settingsUpdates(): SettingsUpdateDeps {
    return {
      settings: this.settings,
      schemas: this.schemas,
      events: this.events,
      logger: this.logger,
      machineView: () => this.engine.view(),
      peerSummary: () => this.gan.peerSummary(),
    };
  }

  static async start(options: DaemonOptions, logger: Logger): Promise<Daemon> {
    const daemon = new Daemon(options, logger);
    try {
      await daemon.init();
    } catch (err) {
      await daemon.stop('startup-failed').catch(() => undefined);
      throw err;
    }
    return daemon;
  }

  private async init(): Promise<void> {
    const { dataDir, options, logger } = this;
    await fsp.mkdir(dataDir.root, { recursive: true, mode: 0o750 });
    await fsp.mkdir(dataDir.varDir, { recursive: true });

    // Key generation runs on the thread pool while the store and settings load (first start).
    const identity = loadOrCreateIdentity(dataDir, this.schemas, {
      edition: options.edition,
      systemName: options.systemName,
    });
    identity.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    // Events first: changes found by the store's startup scan are announced like any other.
    this.events = await EventLog.open({ file: dataDir.eventLogFile });
    // A full snapshot whose swap a crash interrupted is finished (or its staging dropped) before the
    // store reads the disk: the store only ever sees the whole old core or the whole new one.
    const coreDir = path.join(dataDir.resourcesDir, 'core');
    const swap = await recoverSnapshotSwap({ coreDir, varDir: dataDir.varDir });
    if (swap === 'completed') logger.warn({ coreDir }, 'completed a snapshot swap interrupted by a crash');
    this.config = (
      await ConfigStore.open({
        resourcesDir: dataDir.resourcesDir,
        varDir: dataDir.varDir,
        schemas: this.schemas,
        types: loadResourceTypes(this.schemas),
        logger,
        recoveredSnapshot: swap === 'completed',
        onChange: (e) =>
          this.events.emit('config.changed', {
            resource: e.address,
            version: e.version,
            revision: e.revision,
            actor: e.actor,
            collection: e.collection,
            op: e.op,
          }),
      })
    ).store;
    await seedSystemName(this.config, options.systemName);
    this.settings = await SettingsStore.open(
      { redundancy: dataDir.redundancyFile, network: dataDir.gatewayNetworkFile },
      this.schemas,
      options,
    );
    const config = this.config;
    config.journalMaxBytes = this.settings.redundancy.syncJournalMaxBytes;
    this.settings.subscribe('redundancy', ({ next }) => {
      config.journalMaxBytes = next.syncJournalMaxBytes;
    });

    this.identity = await identity;
    this.gan = new GatewayNetwork(this, dataDir, () => buildStatus(this));
    this.registerProtocol(REDUNDANCY_MESSAGE_SCHEMA);
    this.schemas.add(STATE_REPORT_SCHEMA as unknown as { $id: string });
    this.engine = await RedundancyEngine.create({
      nodeId: this.identity.node.uuid,
      validateState: (state) => this.schemas.validate(STATE_REPORT_SCHEMA.$id, state).ok,
      varDir: dataDir.varDir,
      settings: this.settings.redundancy,
      events: this.events,
      hooks: this.hooks,
      logger,
    });
    this.engine.attachLink(this.gan.link);
    PauseService.registerSchemas(this.schemas);
    this.registerProtocol(PAUSE_MESSAGE_SCHEMA);
    this.pause = await PauseService.load({
      nodeId: this.identity.node.uuid,
      nodeName: () => this.systemName,
      varDir: dataDir.varDir,
      schemas: this.schemas,
      events: this.events,
      logger,
      setPaused: (paused) => this.engine.setPaused(paused),
    });
    this.pause.attachLink(this.gan.link);
    this.registerProtocol(SYNC_MESSAGE_SCHEMA);
    this.registerProtocol(SYNC_BINARY_MESSAGE_SCHEMA, { binary: true });
    this.sync = await SyncEngine.create({
      nodeId: this.identity.node.uuid,
      store: this.config,
      coreDir,
      varDir: dataDir.varDir,
      events: this.events,
      logger,
      role: () => this.settings.redundancy.role,
      syncTimeoutSecs: () => this.settings.redundancy.syncTimeoutSecs,
      syncArchiveKeep: () => this.settings.redundancy.syncArchiveKeep,
      // What a backup validates a snapshot against: compiled while it waits for the master's answer.
      // (messages and resource.json are validated with defaults, resource content only checked).
      warm: () =>
        this.schemas.warm([SYNC_MESSAGE_SCHEMA.$id, SYNC_BINARY_MESSAGE_SCHEMA.$id, 'gwd:config/resource-meta'], [...this.config.types.values()].map((t) => t.schemaId)),
    });
    this.sync.attachLink(this.gan.link);
    // The machine first (it forgets a peer of the old role), then the link follows.
    this.settings.subscribe('redundancy', ({ next }) => this.engine.settingsChanged(next));
    this.settings.subscribe('redundancy', ({ previous }) => this.gan.applyRedundancy(previous));
    this.settings.subscribe('network', () => rebindListeners(this.gan));
    this.metrics = new Metrics({
      status: () => buildStatus(this),
      msSinceLastPeerMessage: () => {
        const at = this.gan.link.lastMessageAt;
        return at === null ? null : Date.now() - at;
      },
      pendingApprovals: () => this.gan.pendingApprovals(),
    });
    this.events.subscribe((e) => this.metrics.onEvent(e));

    registerStatusRoutes(this.router, this);
    registerEventRoutes(this.router, this);
    registerMetricsRoutes(this.router, this.metrics);
    registerNetworkRoutes(this.router, new ListenerNetworkService({ updates: this.settingsUpdates, options, gan: this.gan }));
    registerRedundancySettingsRoutes(
      this.router,
      new PairRedundancyService({
        nodeId: this.identity.node.uuid,
        updates: this.settingsUpdates,
        events: this.events,
        engine: this.engine,
        sync: this.sync,
        pause: this.pause,
      }),
    );
    const trust = ganTrustService(this.gan);
    registerCertRoutes(this.router, trust);
    registerConnectionRoutes(this.router, trust);
    registerConfigRoutes(this.router, new StoreConfigService({ store: this.config, settings: this.settings, dataDir, schemas: this.schemas }));

    this.api = new ApiServer({
      socketPath: options.socketPath,
      router: this.router,
      schemas: this.schemas,
      logger,
    });
    await this.api.listen();
    if (options.metricsPort !== undefined && options.metricsPort !== null) {
      this.metricsServer = new MetricsServer(this.metrics, logger);
      await this.metricsServer.listen(options.metricsPort, options.metricsBind ?? '127.0.0.1');
    }
    // A pause held across a restart reaches the machine before its join wait can end in a takeover.
    await this.pause.start();
    // The machine starts its join wait before the link can come up, so no peer event is missed.
    await this.engine.start();
    await this.gan.start();

    this.ready = true;
    const { node, cert, created } = this.identity;
    this.events.emit('daemon.started', {
      version: PRODUCT_VERSION,
      pid: process.pid,
      uuid: node.uuid,
      systemName: this.systemName,
      role: this.settings.redundancy.role,
      firstStart: created.node,
      // ms from process start to ready (meaningful for a gwd process, not for in-process tests).
      startupMs: Math.round(performance.now()),
    });
    logger.info(
      {
        version: PRODUCT_VERSION,
        uuid: node.uuid,
        systemName: this.systemName,
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
  private registerProtocol(schema: { $id: string; oneOf: readonly unknown[] }, options: { binary?: boolean } = {}): void {
    this.schemas.add(schema as unknown as { $id: string });
    this.gan.link.registerMessageTypes(messageTypesOf(schema), schema.$id, options);
  }

  /** Idempotent: a second signal while stopping waits for the first stop. */
  stop(reason: string): Promise<void> {
    this.stopping ??= this.doStop(reason);
    return this.stopping;
  }

  private async doStop(reason: string): Promise<void> {
    this.ready = false;
    this.logger.info({ reason }, 'gwd stopping');
    if (this.events) this.events.emit('daemon.stopping', { reason });
    // An Active node stands down and tells its peer (steppingDown) before the link says bye.
    if (this.engine) await this.engine.stop().catch((err: unknown) => this.logger.error({ err }, 'error stopping the redundancy engine'));
    // The stand-down's onActivityChange hook (stopping a driver, say) runs to its end, within the
    // hook timeout; only what still runs after that is killed. It used to be killed at once.
    if (this.settings) await Promise.race([this.hooks.idle(), delay(this.settings.redundancy.hooks.timeoutMs, undefined, { ref: false })]);
    this.hooks.killAll();
    // The holder a sync just recorded reaches the disk before the exit (else one full snapshot more).
    if (this.sync) await this.sync.stop();
    if (this.pause) await this.pause.stop();
    if (this.gan) await this.gan.stop('shutdown').catch((err: unknown) => this.logger.error({ err }, 'error stopping the gateway network'));
    if (this.metricsServer) await this.metricsServer.close();
    if (this.api) await this.api.close();
    if (this.config) await this.config.close();
    if (this.events) await this.events.close();
    this.logger.info({ reason }, 'gwd stopped');
  }
}
