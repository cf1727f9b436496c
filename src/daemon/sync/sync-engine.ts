import { GwError } from '../../core/errors.js';
import type { GanMessage } from '../../core/gan/protocol.js';
import type { SyncMessage } from '../../core/sync/messages.js';
import type { Role, SyncSummary } from '../../core/wire.js';
import type { ConfigStore } from '../config/config-store.js';
import type { EventLog } from '../events/event-log.js';
import type { Logger } from '../logger.js';
import { BackupSide } from './sync-backup.js';
import { MasterSide } from './sync-master.js';
import { SyncStateStore } from './sync-state.js';

/** What the engine needs of the Gateway Network link (the PeerLink of src/daemon/gan fits it). */
export interface SyncLinkPort {
  on(event: 'up', listener: (peer: { uuid: string; role: Role }) => void): unknown;
  on(event: 'down', listener: () => void): unknown;
  on(event: 'message', listener: (message: GanMessage, peer: { uuid: string }) => void): unknown;
  send(message: { type: string }): boolean;
  /** A message and its payload in one binary frame, built in the `room` free bytes before the payload in its buffer (not copied). */
  sendBinaryInPlace(message: { type: string; [field: string]: unknown }, payload: Buffer, room: number): boolean;
  /** Resolves once at most `bytes` are queued for the peer (at once when not connected). */
  queuedAtMost(bytes: number): Promise<void>;
  readonly connected: boolean;
}

export interface SyncEngineOptions {
  nodeId: string;
  store: ConfigStore;
  /** config/resources/core: what a full snapshot carries and replaces. */
  coreDir: string;
  varDir: string;
  events: EventLog;
  logger: Logger;
  /** This node's role and syncTimeoutSecs, read when needed (settings change live). */
  role: () => Role;
  syncTimeoutSecs: () => number;
  /** syncArchiveKeep: archives a backup keeps after each full sync (0: all); read each time. */
  syncArchiveKeep?: () => number;
  retryMs?: number;
  /** Prepare (compile validators) for what a sync brings, in the idle moment after a request. */
  warm?: () => void;
}

/**
 * Configuration sync (DESIGN.md section 6): on each link up, the side matching this node's role
 * (MasterSide or BackupSide) takes over the connection until it goes down. Revisions in status are
 * the master's on both nodes.
 */
export class SyncEngine {
  private master: MasterSide | null = null;
  private backup: BackupSide | null = null;
  private peerUuid: string | null = null;

  private constructor(
    private readonly o: SyncEngineOptions,
    readonly state: SyncStateStore,
  ) {}

  static async create(o: SyncEngineOptions): Promise<SyncEngine> {
    return new SyncEngine(o, await SyncStateStore.open(o.varDir));
  }

  attachLink(link: SyncLinkPort): void {
    const send = (m: SyncMessage): boolean => link.send(m);
    link.on('up', (peer) => {
      this.detach();
      const role = this.o.role();
      this.peerUuid = peer.uuid;
      void this.state.update({ lastPeer: peer.uuid }).catch((err: unknown) => this.o.logger.warn({ err }, 'could not write the sync state'));
      const common = { peerUuid: peer.uuid, store: this.o.store, events: this.o.events, logger: this.o.logger, send };
      if (role === 'Master' && peer.role === 'Backup') {
        this.master = new MasterSide({
          ...common,
          sendChunk: (chunk, payload, room) => link.sendBinaryInPlace({ type: 'sync.snapshotChunk', chunk }, payload, room),
          paced: (bytes) => link.queuedAtMost(bytes),
          nodeId: this.o.nodeId,
          coreDir: this.o.coreDir,
        });
      } else if (role === 'Backup' && peer.role === 'Master') {
        this.backup = new BackupSide({
          ...common,
          state: this.state,
          coreDir: this.o.coreDir,
          varDir: this.o.varDir,
          timeoutSecs: this.o.syncTimeoutSecs,
          archiveKeep: this.o.syncArchiveKeep,
          retryMs: this.o.retryMs,
        });
        this.backup.request();
        // The master takes a while to answer (it reads its whole core for a snapshot): a good
        // moment for one-time work the answer would otherwise wait for.
        const warm = this.o.warm;
        if (warm) {
          setImmediate(() => {
            try {
              warm();
            } catch (err) {
              // Only a head start: the same work happens on first use anyway.
              this.o.logger.warn({ err }, 'could not prepare for the sync ahead of time');
            }
          });
        }
      }
    });
    link.on('down', () => this.detach());
    link.on('message', (message) => {
      if (!message.type.startsWith('sync.')) return;
      const m = message as unknown as SyncMessage;
      if (this.master) {
        if (m.type === 'sync.request') void this.master.onRequest(m).catch((err: unknown) => this.o.logger.error({ err }, 'sync: answering a request failed'));
        else if (m.type === 'sync.ack') this.master.onAck(m.revision);
        else if (m.type === 'sync.snapshotReceived') this.master.onReceived(m.id, m.bytes);
        else this.o.logger.warn({ type: m.type }, 'sync: ignoring a message a backup does not send');
      } else if (this.backup) {
        this.backup.receive(m);
      }
    });
  }

  /**
   * `gwctl redundancy resync`: a backup asks for a full snapshot, a master pushes one. Resolves once
   * it is under way; completion is the sync.completed event.
   */
  resync(): { kind: 'full'; side: 'master' | 'backup' } {
    const role = this.o.role();
    if (role === 'Independent') throw new GwError('GW_ERR_SYNC_NOT_APPLICABLE', { role });
    if (this.backup) {
      this.backup.request(true);
      return { kind: 'full', side: 'backup' };
    }
    if (this.master) {
      void this.master.pushFull().catch((err: unknown) => this.o.logger.error({ err }, 'sync: pushing a snapshot failed'));
      return { kind: 'full', side: 'master' };
    }
    throw new GwError('GW_ERR_SYNC_NO_PEER', {});
  }

  summary(): SyncSummary {
    const role = this.o.role();
    const store = this.o.store;
    if (role === 'Master') {
      const m = this.master;
      if (!m) return { state: this.state.lastPeer ? 'OutOfDate' : 'NotApplicable', revision: store.revision, peerRevision: null };
      const state = m.transferring || m.peerRevision === null || m.peerRevision < store.revision ? 'Syncing' : 'InSync';
      return { state, revision: store.revision, peerRevision: m.peerRevision };
    }
    if (role === 'Backup') {
      const b = this.backup;
      const revision = store.syncedRevision;
      if (!b) {
        const ever = this.state.lastPeer !== null || this.state.holder !== null;
        return { state: ever ? 'OutOfDate' : 'NotApplicable', revision, peerRevision: null };
      }
      const latest = b.latest;
      let state: SyncSummary['state'];
      if (b.syncing) state = 'Syncing';
      else if (b.failed !== null || this.state.holder !== this.peerUuid) state = 'OutOfDate';
      else state = latest === null || revision < latest ? 'Syncing' : 'InSync';
      return { state, revision, peerRevision: latest };
    }
    // Independent: nothing to synchronize, and no master revision to count in.
    return { state: 'NotApplicable', revision: 0, peerRevision: null };
  }

  /** Detach from the link; resolves once var/sync-state.json has every change asked for. */
  stop(): Promise<void> {
    this.detach();
    return this.state.flush();
  }

  private detach(): void {
    this.master?.close();
    this.backup?.close();
    this.master = null;
    this.backup = null;
  }
}

