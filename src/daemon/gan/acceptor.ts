import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

import type { WebSocket } from 'ws';

import { GwError, type ErrorRecord } from '../../core/errors.js';
import { connectionId, decidePolicy } from '../../core/gan/connection-policy.js';
import { statusForCode } from '../../core/gan/connection-status.js';
import { checkHello } from '../../core/gan/hello-compat.js';
import type { HelloMessage } from '../../core/gan/protocol.js';
import { decideTrust, trustRefusal } from '../../core/gan/trust-decision.js';
import { formatHostPort } from '../../core/gan/address.js';
import type { ConnectionStatus, PeerRef } from '../../core/wire.js';
import { RepeatFilter } from '../log/repeat-filter.js';
import type { ConnectionStore } from './connection-store.js';
import { effectiveListenerConfig, ownHello, type GanHost } from './gan-host.js';
import { LinkConnection } from './link-connection.js';
import type { MessageTypes } from './message-types.js';
import { readPeerCertificate, type PeerCertificate } from './peer-certificate.js';
import type { PeerLink } from './peer-link.js';
import type { TrustStore } from './trust-store.js';

/** Unknown certificates and connections kept pending at most: a flood of strangers cannot fill the disk. */
export const MAX_PENDING = 100;
/** Connections still in their handshake at most: more are dropped at once. */
export const MAX_HANDSHAKING = 32;

/** What `connections list` shows for an incoming peer that has said hello since this start. */
export interface IncomingState {
  peer: PeerRef;
  status: ConnectionStatus;
  lastError: ErrorRecord | null;
  since: Date;
  ssl: boolean;
  conn: LinkConnection | null;
}

/**
 * The master's side of the link: every incoming WebSocket goes through the checks of DESIGN.md
 * section 3 in order (transport, compatibility, certificate, policy, one peer) and is refused with
 * a coded `refused` frame the dialer can show, or attached to the PeerLink.
 */
export class Acceptor {
  readonly incoming = new Map<string, IncomingState>();
  private handshaking = 0;
  /**
   * A refused peer redials every reconnectPeriod (a second by default) until an operator acts: its
   * refusal is logged once a minute, with how many were held back, keyed by the peer and the
   * reason (not by its address, whose port changes at every dial). `connections list` and the
   * events say it every time.
   */
  private readonly refusalLog = new RepeatFilter(Date.now);

  constructor(
    private readonly host: GanHost,
    private readonly trust: TrustStore,
    private readonly connections: ConnectionStore,
    private readonly types: MessageTypes,
    private readonly link: PeerLink,
  ) {}

  onConnection(ws: WebSocket, req: IncomingMessage, ssl: boolean): void {
    const sock = req.socket;
    if (this.handshaking >= MAX_HANDSHAKING) {
      this.host.logger.warn({ address: sock.remoteAddress }, 'too many connections in their handshake; dropping one');
      ws.terminate();
      return;
    }
    const address = formatHostPort(sock.remoteAddress ?? '?', sock.remotePort ?? 0);
    let peerCert: PeerCertificate | null = null;
    if (ssl) {
      const raw = (sock as TLSSocket).getPeerCertificate(true)?.raw;
      if (raw) {
        try {
          peerCert = readPeerCertificate(raw);
        } catch {
          peerCert = null;
        }
      }
    }
    const conn = new LinkConnection(ws, {
      direction: 'incoming',
      ssl,
      address,
      peerCert,
      schemas: this.host.schemas,
      types: this.types,
      logger: this.host.logger,
      ping: () => this.host.redundancy.master,
      active: () => this.link.selfActive(),
    });
    this.handshaking += 1;
    let counted = true;
    const settled = (): void => {
      if (counted) this.handshaking -= 1;
      counted = false;
    };
    conn.once('closed', settled);
    conn.once('hello', settled);
    const net = this.host.network;
    // Refusals name this machine by its label: after a sync both nodes carry one system name.
    const node = `${this.host.label} (this master)`;
    if (!ssl && net.requireSsl) {
      conn.refuse(new GwError('GW_ERR_GAN_SSL_REQUIRED', { node: this.host.label, sslPort: effectiveListenerConfig(this.host).sslPort }));
      return;
    }
    if (!net.allowIncoming) {
      conn.refuse(new GwError('GW_ERR_GAN_INCOMING_DISABLED', { node }));
      return;
    }
    conn.once('hello', (hello: HelloMessage) => {
      this.admit(conn, hello, peerCert).catch((err: unknown) => {
        this.host.logger.error({ err: (err as Error).message, peer: conn.label }, 'error while admitting a connection');
        conn.fail(new GwError('GW_ERR_GAN_CONNECTION_CLOSED', { peer: conn.label, detail: 'internal error on the master' }));
      });
    });
  }

  private async admit(conn: LinkConnection, hello: HelloMessage, cert: PeerCertificate | null): Promise<void> {
    const h = this.host;
    const node = h.label;
    const label = hello.label ?? null;
    const peer: PeerRef = { uuid: hello.uuid, systemName: hello.systemName, label, address: conn.address, role: hello.role };
    const id = connectionId(hello.systemName, hello.uuid);
    const state = this.track(hello.uuid, peer, conn);
    const refuse = (error: GwError): void => {
      const record = conn.refuse(error);
      this.setState(state, conn, statusForCode(error.code), record);
      const said = this.refusalLog.check(`${hello.uuid}|${error.code}`);
      if (said.kind === 'log') {
        h.logger.info({ peer: conn.label, uuid: hello.uuid, code: error.code, ...(said.repeated > 0 ? { repeated: said.repeated } : {}) }, 'incoming gateway network connection refused');
      }
    };

    // Our side as our own hello says it (the engines' extras, the witness among them, included).
    const problem = checkHello(this.link.buildHello(ownHello(h)), hello, 'listener');
    if (problem) return refuse(GwError.from(problem));

    if (conn.ssl && h.network.requireTwoWayAuth) {
      if (!cert) return refuse(new GwError('GW_ERR_GAN_CLIENT_CERT_REQUIRED', { node }));
      const verdict = decideTrust(this.trust.records('incoming'), cert.fingerprint, hello.uuid);
      const params = {
        fingerprint: cert.fingerprint,
        short: cert.fingerprint.slice(0, 16),
        peer: `${hello.systemName} (${conn.address})`,
        node,
        direction: 'incoming',
      };
      const refusal = trustRefusal(verdict, params);
      if (refusal) {
        if (refusal.pending) await this.storePending(cert, peer, refusal.pending.flag);
        if (verdict.kind === 'changed') h.logger.warn({ peer: conn.label, fingerprint: cert.fingerprint, known: verdict.knownFingerprint }, 'a known peer shows a different certificate');
        return refuse(GwError.from(refusal));
      }
    }

    const record = this.connections.get(hello.uuid);
    const policy = decidePolicy(h.network.securityPolicy, h.network.whitelist, hello.systemName, record?.state ?? null);
    switch (policy.kind) {
      case 'accept':
        if (record && (record.systemName !== hello.systemName || record.label !== label || record.address !== conn.address)) {
          await this.connections.upsert(hello.uuid, { systemName: hello.systemName, label, address: conn.address });
        }
        break;
      case 'not-approved':
        if (policy.storePending && this.connections.all().filter((r) => r.state === 'pending').length < MAX_PENDING) {
          await this.connections.upsert(hello.uuid, { systemName: hello.systemName, label, address: conn.address, state: 'pending' });
          h.events.emit('connection.pending', { id, uuid: hello.uuid, systemName: hello.systemName, label, address: conn.address });
        }
        return refuse(new GwError('GW_ERR_GAN_CONNECTION_NOT_APPROVED', { id, node }));
      case 'denied':
        return refuse(new GwError('GW_ERR_GAN_CONNECTION_DENIED', { id, node }));
      case 'not-whitelisted':
        return refuse(new GwError('GW_ERR_GAN_NOT_WHITELISTED', { systemName: hello.systemName, node }));
    }

    const current = this.link.currentConnection();
    if (current && current.peer && current.peer.uuid !== hello.uuid) {
      return refuse(new GwError('GW_ERR_GAN_PEER_IN_USE', { node, current: `${current.peer.systemName}|${current.peer.uuid}` }));
    }
    // The peer gave up, or sent something invalid, while the checks ran.
    if (conn.isClosing) return;
    conn.send(this.link.buildHello(ownHello(h)));
    conn.run();
    state.conn = conn;
    this.setState(state, conn, 'Running', null);
    this.link.attach(conn);
  }

  private track(uuid: string, peer: PeerRef, conn: LinkConnection): IncomingState {
    const state: IncomingState = this.incoming.get(uuid) ?? {
      peer,
      status: 'Connecting',
      lastError: null,
      since: new Date(),
      ssl: conn.ssl,
      conn: null,
    };
    // A refused dial must not hide the peer's Running connection, which stays the one shown.
    if (!(state.conn && state.conn.state === 'running')) {
      state.conn = conn;
      state.peer = peer;
      state.ssl = conn.ssl;
    }
    this.incoming.set(uuid, state);
    // Peers that only ever said hello are forgotten first when there are too many to show.
    if (this.incoming.size > MAX_PENDING * 2) {
      for (const [key, st] of this.incoming) {
        if (st.conn?.state !== 'running' && key !== uuid) {
          this.incoming.delete(key);
          break;
        }
      }
    }
    conn.once('closed', ({ error, wasRunning }: { error: ErrorRecord; wasRunning: boolean }) => {
      if (state.conn !== conn || !wasRunning) return;
      this.setState(state, conn, error.code === 'GW_ERR_GAN_PEER_LEFT' ? 'Disconnected' : statusForCode(error.code), error);
    });
    return state;
  }

  /** A refused second dial records its error but leaves a Running connection's status alone. */
  private setState(state: IncomingState, conn: LinkConnection, status: ConnectionStatus, error: ErrorRecord | null): void {
    if (error) state.lastError = error;
    const runningOther = state.conn !== null && state.conn !== conn && state.conn.state === 'running';
    if (runningOther) return;
    if (state.status !== status) state.since = new Date();
    state.status = status;
    if (status === 'Running') state.lastError = null;
  }

  private async storePending(cert: PeerCertificate, peer: PeerRef, flag: 'CertificateChanged' | null): Promise<void> {
    if (this.trust.list({ state: 'pending', direction: 'incoming' }).length >= MAX_PENDING) {
      this.host.logger.warn({ fingerprint: cert.fingerprint }, `more than ${MAX_PENDING} pending certificates; not storing another`);
      return;
    }
    const entry = await this.trust.remember('incoming', cert, peer, { flag });
    this.host.events.emit('cert.pending', { fingerprint: entry.fingerprint, direction: 'incoming', peer, flag });
  }
}

