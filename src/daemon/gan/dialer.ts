import type { ClientRequest } from 'node:http';
import type { TLSSocket } from 'node:tls';

import { WebSocket } from 'ws';

import { GwError, type ErrorRecord } from '../../core/errors.js';
import { connectionId } from '../../core/gan/connection-policy.js';
import { statusForCode } from '../../core/gan/connection-status.js';
import { checkHello } from '../../core/gan/hello-compat.js';
import { sslMismatchHint } from '../../core/gan/ssl-mismatch.js';
import { GAN_PATH, MAX_FRAME_BYTES, type HelloMessage } from '../../core/gan/protocol.js';
import { decideTrust, trustRefusal } from '../../core/gan/trust-decision.js';
import { formatHostPort } from '../../core/gan/address.js';
import { redialAtOnce, socketErrno } from '../../core/redundancy/peer-gone.js';
import type { ConnectionEntry, ConnectionStatus, PeerRef } from '../../core/wire.js';
import { ownHello, type GanHost } from './gan-host.js';
import { LinkConnection } from './link-connection.js';
import type { MessageTypes } from './message-types.js';
import { readPeerCertificate, type PeerCertificate } from './peer-certificate.js';
import type { PeerLink } from './peer-link.js';
import type { TrustStore } from './trust-store.js';

export interface DialTarget {
  host: string;
  port: number;
  ssl: boolean;
}

/**
 * The backup's side of the link: dial the master, check its certificate against the outgoing trust
 * store before a single byte of the protocol is sent, exchange hellos, and redial every
 * `reconnectPeriod` ms whatever happened. Its state is what `connections list` shows as outgoing.
 */
export class Dialer {
  status: ConnectionStatus = 'Connecting';
  lastError: ErrorRecord | null = null;
  peer: PeerRef;
  since = new Date();
  private conn: LinkConnection | null = null;
  private ws: WebSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private redialAt: number | null = null;
  private stopped = false;

  constructor(
    readonly target: DialTarget,
    private readonly host: GanHost,
    private readonly trust: TrustStore,
    private readonly types: MessageTypes,
    private readonly link: PeerLink,
  ) {
    this.peer = { uuid: null, systemName: null, address: formatHostPort(target.host, target.port), role: null };
  }

  get address(): string {
    return formatHostPort(this.target.host, this.target.port);
  }

  start(): void {
    this.dial();
  }

  /** Redial at once (after an approval), instead of waiting for the next period. */
  kick(): void {
    if (this.stopped || this.conn || this.ws) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.dial();
  }

  stop(reason: string): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.conn) this.conn.bye(reason);
    else this.ws?.terminate();
  }

  view(): ConnectionEntry {
    const p = this.peer;
    return {
      id: p.uuid && p.systemName ? connectionId(p.systemName, p.uuid) : `outgoing|${this.address}`.toLowerCase(),
      direction: 'outgoing',
      state: 'approved',
      status: this.status,
      peer: { ...p },
      lastError: this.lastError,
      pingMs: this.status === 'Running' ? (this.conn?.pingMs ?? null) : null,
      ssl: this.target.ssl,
      since: this.since.toISOString(),
    };
  }

  private setStatus(status: ConnectionStatus, error: ErrorRecord | null): void {
    if (status !== this.status) this.since = new Date();
    this.status = status;
    if (error) this.lastError = error;
    else if (status === 'Running') this.lastError = null;
  }

  private dial(): void {
    this.timer = null;
    if (this.stopped) return;
    const { host, port, ssl } = this.target;
    const address = this.address;
    const url = `${ssl ? 'wss' : 'ws'}://${formatHostPort(host, port)}${GAN_PATH}`;
    let preError: ErrorRecord | null = null;
    let errno: string | null = null;
    let peerCert: PeerCertificate | null = null;

    const finishRequest = (req: ClientRequest): void => {
      if (!ssl) {
        req.end();
        return;
      }
      req.on('socket', (socket) => {
        const sock = socket as TLSSocket;
        const check = (): void => {
          const verdict = this.checkServerCertificate(sock);
          if (verdict.error) {
            preError = verdict.error;
            req.destroy(new Error(verdict.error.code));
          } else {
            peerCert = verdict.cert;
            req.end();
          }
        };
        sock.once('secureConnect', check);
      });
    };

    const ws = new WebSocket(url, {
      key: this.host.identity.keyPem,
      cert: this.host.identity.certPem,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
      // UTF-8 is checked by LinkConnection, which refuses bad text with a coded close (ws would send 1007).
      skipUTF8Validation: true,
      handshakeTimeout: 5000,
      finishRequest,
    } as ConstructorParameters<typeof WebSocket>[2]);
    this.ws = ws;

    ws.on('unexpected-response', (_req, res) => {
      const header = res.headers['x-gwd-port'];
      const mismatch = sslMismatchHint({ ssl, code: null, message: null, gwdPort: typeof header === 'string' ? header : null });
      preError ??= new GwError('GW_ERR_GAN_UNREACHABLE', {
        address,
        detail: mismatch ?? `HTTP ${res.statusCode} on ${GAN_PATH}: is that a gwd Gateway Network port?`,
      }).toRecord();
      ws.terminate();
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      if (this.conn) return;
      errno = socketErrno(err.code);
      const mismatch = sslMismatchHint({ ssl, code: err.code ?? null, message: err.message, gwdPort: null });
      preError ??= new GwError('GW_ERR_GAN_UNREACHABLE', { address, detail: mismatch ?? (err.code ? `${err.code}` : err.message) }).toRecord();
    });
    ws.on('close', () => {
      if (this.conn) return; // the LinkConnection reports its own end
      this.ws = null;
      const error = preError ?? new GwError('GW_ERR_GAN_UNREACHABLE', { address, detail: 'the connection closed during the handshake' }).toRecord();
      this.setStatus(statusForCode(error.code), error);
      this.host.logger.debug({ code: error.code, errno }, 'dial failed');
      this.link.reportDialFailure({ error, errno, address });
      this.scheduleRedial();
    });
    ws.on('open', () => {
      const conn = new LinkConnection(ws, {
        direction: 'outgoing',
        ssl,
        address,
        peerCert,
        schemas: this.host.schemas,
        types: this.types,
        logger: this.host.logger,
        ping: () => this.host.redundancy.master,
        active: () => this.link.selfActive(),
      });
      this.conn = conn;
      conn.once('hello', (hello: HelloMessage) => this.onHello(conn, hello));
      conn.once('closed', ({ error, wasRunning }: { error: ErrorRecord; wasRunning: boolean }) => {
        this.conn = null;
        this.ws = null;
        const status = wasRunning && error.code === 'GW_ERR_GAN_PEER_LEFT' ? 'Disconnected' : statusForCode(error.code);
        this.setStatus(status, error);
        if (!wasRunning) this.link.reportDialFailure({ error, errno: null, address });
        // A close without a goodbye, or for silence, is redialled at once: the answer is the
        // evidence fast failover needs (rule 6; peer-gone.ts).
        this.scheduleRedial(redialAtOnce(error.code, wasRunning) ? 0 : undefined);
      });
      this.link.reportConnecting(address);
      conn.send(this.link.buildHello(ownHello(this.host)));
    });
  }

  private onHello(conn: LinkConnection, hello: HelloMessage): void {
    this.peer = { uuid: hello.uuid, systemName: hello.systemName, label: hello.label ?? null, address: this.address, role: hello.role };
    const problem = checkHello(this.link.buildHello(ownHello(this.host)), hello, 'dialer');
    if (problem) {
      conn.refuse(GwError.from(problem));
      return;
    }
    conn.run();
    this.setStatus('Running', null);
    this.link.attach(conn);
  }

  /** The outgoing trust decision on the master's certificate, before the upgrade request is sent. */
  private checkServerCertificate(sock: TLSSocket): { error: ErrorRecord; cert?: undefined } | { error: null; cert: PeerCertificate } {
    const raw = sock.getPeerCertificate(true)?.raw;
    if (!raw) return { error: new GwError('GW_ERR_GAN_CERT_INVALID', { detail: 'the master presented no certificate' }).toRecord() };
    let cert: PeerCertificate;
    try {
      cert = readPeerCertificate(raw);
    } catch (err) {
      return { error: new GwError('GW_ERR_GAN_CERT_INVALID', { detail: (err as Error).message }).toRecord() };
    }
    const peer: PeerRef = { uuid: cert.claimedUuid, systemName: cert.claimedName, address: this.address, role: null };
    this.peer = { ...this.peer, uuid: cert.claimedUuid ?? this.peer.uuid, systemName: cert.claimedName ?? this.peer.systemName };
    const verdict = decideTrust(this.trust.records('outgoing'), cert.fingerprint, cert.claimedUuid);
    const params = {
      fingerprint: cert.fingerprint,
      short: cert.fingerprint.slice(0, 16),
      peer: `${cert.claimedName ?? 'the master'} (${this.address})`,
      node: 'this node',
      direction: 'outgoing',
    };
    const refusal = trustRefusal(verdict, params);
    if (!refusal) return { error: null, cert };
    // Not awaited: this runs inside the TLS handshake callback; the refusal does not wait for the disk.
    if (refusal.pending) this.storePending(cert, peer, refusal.pending.flag);
    return { error: GwError.from(refusal).toRecord() };
  }

  private storePending(cert: PeerCertificate, peer: PeerRef, flag: 'CertificateChanged' | null): void {
    this.trust.remember('outgoing', cert, peer, { flag }).then(
      (entry) => this.host.events.emit('cert.pending', { fingerprint: entry.fingerprint, direction: 'outgoing', peer, flag }),
      (err: unknown) => this.host.logger.error({ err: (err as Error).message }, 'could not store a pending certificate'),
    );
  }

  private scheduleRedial(delayMs: number = this.host.redundancy.master.reconnectPeriod): void {
    this.host.logger.debug({ delayMs, pending: this.timer !== null, stopped: this.stopped }, 'redial scheduled');
    if (this.stopped || this.timer) return;
    this.redialAt = Date.now() + delayMs;
    this.timer = setTimeout(() => this.dial(), delayMs);
  }

  /**
   * reconnectPeriod changed live: a redial pending at the old period comes no later than one new
   * period from now. A master restarted meanwhile waits only its own reconnectPeriod + 500 ms for
   * this redial (its join wait); one old, longer period could leave both Active until it came.
   */
  retime(): void {
    if (this.stopped || this.timer === null || this.redialAt === null) return;
    const period = this.host.redundancy.master.reconnectPeriod;
    if (this.redialAt - Date.now() <= period) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.scheduleRedial(period);
  }
}
