import path from 'node:path';

import { GwError } from '../../core/errors.js';
import { connectionId } from '../../core/gan/connection-policy.js';
import { findConnection } from '../../core/gan/peer-lookup.js';
import type { RedundancySettings } from '../../core/settings/types.js';
import type { CertEntry, ConnectionEntry, PeerRef, PeerSummary, StatusResponse, TrustDirection, TrustState } from '../../core/wire.js';
import { formatHostPort } from '../../core/gan/address.js';
import type { DataDir } from '../data-dir.js';
import { Acceptor } from './acceptor.js';
import { ConnectionStore } from './connection-store.js';
import { Dialer } from './dialer.js';
import { effectiveListenerConfig, type GanHost } from './gan-host.js';
import { handleHealthRequest } from './health-routes.js';
import { GanListeners, type ListenFailure } from './listeners.js';
import { MessageTypes } from './message-types.js';
import { readPeerCertificate } from './peer-certificate.js';
import { PeerLink } from './peer-link.js';
import { TrustStore } from './trust-store.js';

/**
 * The Gateway Network of one node: listeners, the acceptor (master side), the dialer (backup
 * side), the trust stores, connection approvals and the PeerLink the engines use. Settings are
 * read live from the host; `applyNetwork` and `applyRedundancy` are called after a change.
 */
export class GatewayNetwork {
  readonly types: MessageTypes;
  readonly link: PeerLink;
  readonly trust: TrustStore;
  readonly connections: ConnectionStore;
  private readonly acceptor: Acceptor;
  private readonly listeners: GanListeners;
  private dialer: Dialer | null = null;
  /** Labels heard in hellos this run, by peer UUID. */
  private readonly labels = new Map<string, string>();

  constructor(
    private readonly host: GanHost,
    dataDir: DataDir,
    status: () => StatusResponse,
  ) {
    this.types = new MessageTypes(host.schemas);
    this.link = new PeerLink(this.types, (event, err) =>
      host.logger.error({ event, err: err instanceof Error ? err.message : String(err) }, 'a PeerLink listener threw'),
    );
    this.trust = new TrustStore(path.join(dataDir.pkiDir, 'trust'), host.schemas, host.logger);
    this.connections = new ConnectionStore(dataDir.connectionsFile, host.schemas);
    this.acceptor = new Acceptor(host, this.trust, this.connections, this.types, this.link);
    this.listeners = new GanListeners(
      () => ({ key: host.identity.keyPem, cert: host.identity.certPem }),
      {
        onConnection: (ws, req, ssl) => this.acceptor.onConnection(ws, req, ssl),
        onHttp: (req, res) => handleHealthRequest(req, res, status),
      },
      host.logger,
    );
    this.link.on('up', (peer) => {
      host.logger.info({ peer: peer.systemName, label: peer.label, uuid: peer.uuid, address: peer.address, direction: peer.direction }, 'peer connected');
      host.events.emit('peer.connected', { ...peer });
      this.rememberLabel(peer.uuid, peer.label);
    });
    this.link.on('down', ({ error, byeReason, byeActive, selfBye, peer }) => {
      host.logger.info({ peer: peer.systemName, code: error.code, byeReason, byeActive, selfBye }, 'peer disconnected');
      host.events.emit('peer.disconnected', {
        uuid: peer.uuid,
        systemName: peer.systemName,
        label: peer.label,
        address: peer.address,
        direction: peer.direction,
        code: error.code,
        message: error.message,
        byeReason,
        // Rule 10: whether the peer's goodbye said it was still Active; whether this node closed.
        byeActive,
        selfBye,
      });
    });
  }

  async start(): Promise<void> {
    await this.trust.load();
    await this.connections.load();
    await this.applyNetwork();
    this.syncDialer();
  }

  async stop(reason: string): Promise<void> {
    // The peer hears `bye` first: a clean stop is not a lost peer (DESIGN.md section 4, rule 6).
    await this.link.closeAndWait(reason);
    this.dialer?.stop(reason);
    this.dialer = null;
    await this.listeners.close();
  }

  /** Rebind the listeners to the (possibly changed) settings; answers those that moved and did not bind. */
  applyNetwork(): Promise<ListenFailure[]> {
    return this.listeners.apply(effectiveListenerConfig(this.host));
  }

  /** After redundancy.json changed: a link that no longer fits the role is closed, the dialer follows. */
  applyRedundancy(previous: RedundancySettings): void {
    const now = this.host.redundancy;
    if (previous.role !== now.role) this.link.close('role-changed');
    // Section 9: the hello says which witness this node uses; the peer must check the new one.
    else if (witnessKey(previous) !== witnessKey(now)) this.link.close('witness-changed');
    this.syncDialer();
    // Timers armed at the old timings must not outlast the new ones (found by the explorer).
    if (now.master.reconnectPeriod < previous.master.reconnectPeriod) this.dialer?.retime();
    if (now.master.pingRate < previous.master.pingRate) this.link.currentConnection()?.retimePing();
  }

  listenerViews(): ReturnType<GanListeners['views']> {
    return this.listeners.views();
  }

  private syncDialer(): void {
    const r = this.host.redundancy;
    const wanted = r.role === 'Backup' && r.master.host !== '' ? { host: r.master.host, port: r.master.port, ssl: r.master.enableSsl } : null;
    const t = this.dialer?.target;
    if (wanted && t && t.host === wanted.host && t.port === wanted.port && t.ssl === wanted.ssl) return;
    // The goodbye names what changed; the peer reads it with the sender's activity (rule 10).
    const why = !wanted ? 'role-changed' : t && t.host === wanted.host && t.port === wanted.port ? 'link-settings-changed' : 'master-address-changed';
    this.dialer?.stop(why);
    this.dialer = null;
    if (wanted) {
      this.dialer = new Dialer(wanted, this.host, this.trust, this.types, this.link);
      this.dialer.start();
    }
  }

  // ---- status ----

  peerSummary(): PeerSummary | null {
    const p = this.link.peer;
    if (p) return { connected: true, uuid: p.uuid, systemName: p.systemName, label: p.label, address: p.address, activity: null };
    const last = this.link.lastKnownPeer;
    const r = this.host.redundancy;
    if (r.role === 'Backup' && r.master.host !== '') {
      const address = formatHostPort(r.master.host, r.master.port);
      const same = last && last.direction === 'outgoing' && last.address === address;
      const uuid = same ? last.uuid : null;
      return { connected: false, uuid, systemName: same ? last.systemName : null, label: this.labelOf(uuid), address, activity: null };
    }
    if (last && r.role !== 'Independent') {
      return { connected: false, uuid: last.uuid, systemName: last.systemName, label: this.labelOf(last.uuid), address: last.address, activity: null };
    }
    return null;
  }

  /**
   * A peer's label as far as this node knows it: the last hello heard from that UUID (this run, or
   * kept in connections.json or with its certificate). Labels are never synced: only a hello tells.
   */
  labelOf(uuid: string | null | undefined): string | null {
    if (!uuid) return null;
    const known = this.labels.get(uuid) ?? this.acceptor.incoming.get(uuid)?.peer.label ?? this.connections.get(uuid)?.label;
    if (known) return known;
    return this.trust.list().find((e) => e.peer?.uuid === uuid && e.peer.label)?.peer?.label ?? null;
  }

  private withLabel<P extends PeerRef>(peer: P): P & { label: string | null } {
    return { ...peer, label: this.labelOf(peer.uuid) ?? peer.label ?? null };
  }

  /** A label heard in a hello is kept with the peer's connection record and certificates. */
  private rememberLabel(uuid: string, label: string | null): void {
    if (label === null) return;
    this.labels.set(uuid, label);
    const record = this.connections.get(uuid);
    const saves: Promise<unknown>[] = [this.trust.relabel(uuid, label)];
    if (record && record.label !== label) saves.push(this.connections.upsert(uuid, { systemName: record.systemName, label }));
    Promise.all(saves).catch((err: unknown) => this.host.logger.warn({ err: (err as Error).message, uuid }, "could not keep the peer's label"));
  }

  /** Certificates and connections waiting for an operator (the gwd_pending_approvals metric). */
  pendingApprovals(): number {
    const certs = this.trust.list({ state: 'pending' }).length;
    const conns = this.connections.all().filter((r) => r.state === 'pending').length;
    return certs + conns;
  }

  // ---- connections ----

  listConnections(): ConnectionEntry[] {
    const out: ConnectionEntry[] = [];
    if (this.dialer) {
      const view = this.dialer.view();
      out.push({ ...view, peer: this.withLabel(view.peer) });
    }
    const policy = this.host.network.securityPolicy;
    const seen = new Set<string>();
    for (const [uuid, s] of this.acceptor.incoming) {
      seen.add(uuid);
      const record = this.connections.get(uuid);
      const running = s.conn?.state === 'running' ? s.conn : null;
      out.push({
        id: connectionId(s.peer.systemName ?? '', uuid),
        direction: 'incoming',
        state: record?.state ?? (policy === 'ApprovedOnly' ? 'pending' : 'approved'),
        status: s.status,
        peer: this.withLabel(s.peer),
        lastError: s.lastError,
        pingMs: running?.pingMs ?? null,
        ssl: s.ssl,
        since: s.since.toISOString(),
      });
    }
    for (const r of this.connections.all()) {
      if (seen.has(r.uuid)) continue;
      out.push({
        id: connectionId(r.systemName, r.uuid),
        direction: 'incoming',
        state: r.state,
        status: 'Disconnected',
        peer: this.withLabel({ uuid: r.uuid, systemName: r.systemName, label: r.label, address: r.address, role: null }),
        lastError: null,
        pingMs: null,
        ssl: null,
        since: r.updatedAt,
      });
    }
    return out;
  }

  async decideConnection(input: string, state: Extract<TrustState, 'approved' | 'denied'>): Promise<ConnectionEntry> {
    const entries = this.listConnections();
    const m = findConnection(entries, input);
    if (m.kind === 'none' || m.kind === 'too-short') throw new GwError('GW_ERR_GAN_CONNECTION_NOT_FOUND', { input });
    if (m.kind === 'ambiguous') {
      throw new GwError('GW_ERR_GAN_CONNECTION_AMBIGUOUS', { input, matches: m.keys.join(', ') }, { matches: m.keys });
    }
    const entry = m.items[0]!;
    if (entry.direction !== 'incoming' || !entry.peer.uuid) throw new GwError('GW_ERR_GAN_CONNECTION_NOT_INCOMING', { id: entry.id });
    await this.connections.upsert(entry.peer.uuid, { systemName: entry.peer.systemName ?? entry.peer.uuid, state });
    this.host.events.emit(state === 'approved' ? 'connection.approved' : 'connection.denied', {
      id: entry.id,
      uuid: entry.peer.uuid,
      systemName: entry.peer.systemName,
      label: entry.peer.label ?? null,
    });
    if (state === 'denied' && this.link.peer?.uuid === entry.peer.uuid) this.link.close('connection-denied');
    return this.listConnections().find((e) => e.peer.uuid === entry.peer.uuid && e.direction === 'incoming') ?? entry;
  }

  // ---- certificates ----

  /** The trust stores' entries, each peer with its label as far as this node knows it. */
  listCertificates(filter: { state?: TrustState; direction?: TrustDirection } = {}): CertEntry[] {
    return this.trust.list(filter).map((e) => (e.peer ? { ...e, peer: this.withLabel(e.peer) } : e));
  }

  async decideCertificate(input: string, state: 'approved' | 'denied', direction?: TrustDirection): Promise<CertEntry[]> {
    const matches = this.trust.resolve(input, direction, this.listCertificates(direction ? { direction } : {}));
    const out: CertEntry[] = [];
    for (const m of matches) {
      const entry = await this.trust.setState(m.direction, m.fingerprint, state);
      out.push(entry);
      this.host.events.emit(state === 'approved' ? 'cert.approved' : 'cert.denied', {
        fingerprint: entry.fingerprint,
        direction: entry.direction,
        peer: entry.peer,
      });
    }
    if (state === 'approved') this.dialer?.kick();
    else this.closeLinkUsing(out);
    return out;
  }

  async removeCertificate(input: string, direction?: TrustDirection): Promise<CertEntry[]> {
    const matches = this.trust.resolve(input, direction, this.listCertificates(direction ? { direction } : {}));
    const out: CertEntry[] = [];
    for (const m of matches) {
      out.push(await this.trust.remove(m.direction, m.fingerprint));
      this.host.events.emit('cert.removed', { fingerprint: m.fingerprint, direction: m.direction, peer: m.peer });
    }
    this.closeLinkUsing(out.filter((e) => e.state === 'approved'));
    return out;
  }

  async trustCertificate(direction: TrustDirection, pem: string): Promise<CertEntry> {
    const cert = readPeerCertificate(pem);
    const peer = { uuid: cert.claimedUuid, systemName: cert.claimedName, address: null };
    const entry = await this.trust.remember(direction, cert, peer, { state: 'approved', flag: null });
    this.host.events.emit('cert.approved', { fingerprint: entry.fingerprint, direction, peer: entry.peer, source: 'trust' });
    this.dialer?.kick();
    return entry;
  }

  /** A certificate that is no longer approved stops the link that was admitted with it. */
  private closeLinkUsing(entries: CertEntry[]): void {
    const conn = this.link.currentConnection();
    const fp = conn?.options.peerCert?.fingerprint;
    if (!conn || !fp) return;
    if (entries.some((e) => e.fingerprint === fp && e.direction === conn.direction)) conn.bye('certificate-revoked');
  }
}

/** What of the witness the hello carries (and the peer checks): none, or its prefix and endpoints. */
function witnessKey(s: RedundancySettings): string {
  const w = s.witness ?? null;
  return w === null ? 'none' : `${w.prefix}|${w.endpoints.join(',')}`;
}
