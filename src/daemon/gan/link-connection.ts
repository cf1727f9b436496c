import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';

import type { WebSocket, RawData } from 'ws';

import { GwError, type ErrorRecord } from '../../core/errors.js';
import {
  binaryFrameInPlace,
  CLOSE,
  encodeBinaryFrame,
  HELLO_TIMEOUT_MS,
  MAX_FRAME_BYTES,
  splitBinaryFrame,
  type GanMessage,
  type HelloMessage,
} from '../../core/gan/protocol.js';
import { linkErrorKind } from '../../core/redundancy/peer-gone.js';
import { describeProblems } from '../../core/schema-errors.js';
import type { TrustDirection } from '../../core/wire.js';
import type { Logger } from '../logger.js';
import type { SchemaRegistry } from '../schema-registry.js';
import type { MessageTypes } from './message-types.js';
import { noteOwnedFrame } from './owned-frames.js';
import type { PeerCertificate } from './peer-certificate.js';

export interface PingSettings {
  pingRate: number;
  pingTimeout: number;
  pingMaxMissed: number;
}

export interface LinkConnectionOptions {
  direction: TrustDirection;
  ssl: boolean;
  address: string;
  peerCert: PeerCertificate | null;
  schemas: SchemaRegistry;
  types: MessageTypes;
  logger: Logger;
  ping: () => PingSettings;
  /** Whether this node is Active right now, for the goodbye (rule 10); null: not known. */
  active?: () => boolean | null;
}

export interface LinkClosed {
  /** Why, as a connection's `lastError` shows it: this side's GwError, or the code the peer gave. */
  error: ErrorRecord;
  /** The peer said `bye` with this reason before closing. */
  byeReason: string | null;
  /** The peer's goodbye said whether it was still Active (rule 10); null: it did not say. */
  byeActive: boolean | null;
  /** This side said goodbye first: the close says nothing about the peer. */
  selfBye: boolean;
  /** True when the link was Running (handshake done) before it closed. */
  wasRunning: boolean;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * One WebSocket of the Gateway Network, either direction: frames in and out as validated JSON (or
 * a validated JSON header and its payload, in a binary frame), the hello exchange, pings, and a
 * single coded reason when it closes. It decides nothing about trust or policy: the acceptor and
 * the dialer do, then call `run()`.
 *
 * Events: `hello` (HelloMessage), `message` (GanMessage, app types only, once running),
 * `frame` (ms time of any valid frame once running), `closed` (LinkClosed).
 */
export class LinkConnection extends EventEmitter {
  peer: HelloMessage | null = null;
  state: 'handshake' | 'running' | 'closed' = 'handshake';
  lastMessageAt: number | null = null;
  pingMs: number | null = null;
  private localError: ErrorRecord | null = null;
  private peerRefusal: ErrorRecord | null = null;
  private byeReason: string | null = null;
  private byeActive: boolean | null = null;
  private selfBye = false;
  private helloTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private pingAt: number | null = null;
  private pongTimer: NodeJS.Timeout | null = null;
  private pingSeq = 0;
  /** sentAt: wall clock (the ping time shown); monoAt: the monotonic clock the redundancy engine uses. */
  private pingOutstanding: { id: number; sentAt: number; monoAt: number } | null = null;
  private missed = 0;
  /** Set once this side decided to close: nothing the peer sends after that is acted on. */
  private closing = false;
  /** Senders waiting for the queue to the peer to shrink (queuedAtMost). */
  private drainWaiters: Array<{ bytes: number; resolve: () => void }> = [];

  constructor(
    readonly ws: WebSocket,
    readonly options: LinkConnectionOptions,
  ) {
    super();
    codeOversizeClose(ws);
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('error', (err: NodeJS.ErrnoException) => {
      const detail = err.message;
      this.options.logger.warn({ peer: this.label, err: detail }, 'gateway network connection error');
      // Fast failover must see a lost socket as such (linkErrorKind says which errors are).
      const kind = linkErrorKind(err.code);
      if (kind === 'tooLarge') {
        this.fail(new GwError('GW_ERR_GAN_FRAME_TOO_LARGE', { peer: this.label, limit: MAX_FRAME_BYTES }), CLOSE.TOO_LARGE);
      } else if (kind === 'lost') {
        this.fail(new GwError('GW_ERR_GAN_CONNECTION_CLOSED', { peer: this.label, detail: String(err.code) }), null);
      } else {
        this.fail(new GwError('GW_ERR_GAN_PROTOCOL_VIOLATION', { peer: this.label, detail }), null);
      }
    });
    ws.on('close', (code, reason) => {
      // Nobody waits for a closed link to drain.
      for (const w of this.drainWaiters.splice(0)) w.resolve();
      this.onClose(code, reason.toString('utf8'));
    });
    this.helloTimer = setTimeout(() => {
      this.fail(new GwError('GW_ERR_GAN_HANDSHAKE_TIMEOUT', { peer: this.label, timeout: HELLO_TIMEOUT_MS }), CLOSE.PROTOCOL_VIOLATION);
    }, HELLO_TIMEOUT_MS);
  }

  /** True once this side refused, failed or said bye: the socket is on its way down. */
  get isClosing(): boolean {
    return this.closing || this.state === 'closed';
  }

  get direction(): TrustDirection {
    return this.options.direction;
  }

  get ssl(): boolean {
    return this.options.ssl;
  }

  get address(): string {
    return this.options.address;
  }

  get label(): string {
    return this.peer ? `${this.peer.systemName} (${this.options.address})` : this.options.address;
  }

  /** Send a message; false when the link is not open. */
  send(message: { type: string; [field: string]: unknown } | HelloMessage): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Send a message with a binary payload in one binary frame; false when the link is not open. */
  sendBinary(header: { type: string; [field: string]: unknown }, payload: readonly Uint8Array[]): boolean {
    return this.sendFrame(() => encodeBinaryFrame(header, payload));
  }

  /**
   * sendBinary() for a payload with `room` free bytes before it in its buffer: the frame is built
   * there (the payload is not copied; neither may change until it is sent). Copied when the header
   * does not fit.
   */
  sendBinaryInPlace(header: { type: string; [field: string]: unknown }, payload: Buffer, room: number): boolean {
    return this.sendFrame(() => binaryFrameInPlace(header, payload, room) ?? encodeBinaryFrame(header, [payload]));
  }

  /** A binary frame, built only when the link is open (false when not). */
  private sendFrame(build: () => Buffer): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    this.ws.send(build(), { binary: true }, () => this.onFrameWritten());
    return true;
  }

  /**
   * Resolves once at most `bytes` are queued for the peer (at once when that is so now, or when the
   * link closes): a sender of bulk data (a full snapshot) waits here, so what it has read but the
   * network has not yet taken stays bounded instead of growing to the whole snapshot.
   */
  queuedAtMost(bytes: number): Promise<void> {
    if (this.ws.readyState !== this.ws.OPEN || this.ws.bufferedAmount <= bytes) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push({ bytes, resolve }));
  }

  private onFrameWritten(): void {
    if (this.drainWaiters.length === 0) return;
    const open = this.ws.readyState === this.ws.OPEN;
    const queued = this.ws.bufferedAmount;
    this.drainWaiters = this.drainWaiters.filter((w) => {
      if (open && queued > w.bytes) return true;
      w.resolve();
      return false;
    });
  }

  /** Tell the peer why, then close: the dialer shows the code as its connection's last error. */
  refuse(error: GwError): ErrorRecord {
    const record = error.toRecord();
    this.localError ??= record;
    this.send({ type: 'refused', code: error.code, message: error.message });
    this.closeWith(CLOSE.REFUSED, error.code);
    return record;
  }

  /** Handshake passed: start pinging and deliver app messages. */
  run(): void {
    if (this.state !== 'handshake') return;
    this.state = 'running';
    this.schedulePing(0);
  }

  /**
   * Close on purpose, saying why (`shutdown`, `role-changed`, ...) and whether this node is still
   * Active: the peer takes over at once only from a node that stood down (rule 10).
   */
  bye(reason: string): void {
    if (!this.closing && this.state !== 'closed') this.selfBye = true;
    this.localError ??= new GwError('GW_ERR_GAN_PEER_LEFT', { peer: 'this node', reason }).toRecord();
    const active = this.options.active?.() ?? null;
    this.send(active === null ? { type: 'bye', reason } : { type: 'bye', reason, active });
    this.closeWith(CLOSE.NORMAL, reason);
  }

  /**
   * Drop the connection at once, without a closing handshake: the peer is already judged gone (a
   * silence of failoverTimeout), and a link that looks up to one side must not outlive that judgment.
   */
  abort(error: GwError): void {
    this.localError ??= error.toRecord();
    this.stopTimers();
    this.ws.terminate();
  }

  /** Close because of a local failure with this code. */
  fail(error: GwError, closeCode: number | null = CLOSE.PROTOCOL_VIOLATION): void {
    this.localError ??= error.toRecord();
    if (closeCode === null) return;
    this.closeWith(closeCode, error.code);
  }

  private closeWith(closeCode: number, reason: string): void {
    this.closing = true;
    this.stopTimers();
    const ws = this.ws;
    if (ws.readyState === ws.CLOSED) return;
    try {
      ws.close(closeCode, reason.slice(0, 120));
    } catch {
      ws.terminate();
    }
    // A peer that never completes the closing handshake must not hold the socket.
    setTimeout(() => ws.terminate(), 1000).unref();
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    // Frames already in the socket buffer when this side decided to close are not acted on: a
    // valid message right behind an invalid one must not reach the engines.
    if (this.state === 'closed' || this.closing) return;
    this.lastMessageAt = Date.now();
    // ws gives a Buffer (or fragments); Buffer.from() of it was a copy of every frame.
    const bytes = Array.isArray(data) ? Buffer.concat(data) : (data as Buffer);
    let payload: Buffer | undefined;
    let headerBytes = bytes;
    if (isBinary) {
      if (this.state !== 'running') return this.violation('a binary frame before the handshake');
      const split = splitBinaryFrame(bytes);
      if ('problem' in split) return this.violation(split.problem);
      noteOwnedFrame(bytes);
      headerBytes = split.header;
      payload = split.payload;
    }
    let text: string;
    try {
      // The listener skips ws's own UTF-8 check (which closes with a bare 1007) so that this
      // refusal carries the protocol's code like every other.
      text = UTF8.decode(headerBytes);
    } catch {
      return this.violation(isBinary ? 'the binary frame header is not UTF-8 text' : 'the frame is not UTF-8 text');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.violation(isBinary ? 'the binary frame header is not JSON' : 'the frame is not JSON');
    }
    const envelope = this.options.schemas.validate<GanMessage>('gwd:protocol/envelope', parsed);
    if (!envelope.ok) return this.violation(`not a message: ${describeProblems(envelope.problems)}`);
    const type = envelope.value.type;
    const schemaId = payload ? this.options.types.binarySchemaOf(type) : this.options.types.schemaOf(type);
    if (!schemaId) {
      const known = payload && this.options.types.schemaOf(type);
      return this.violation(known ? `${type.slice(0, 64)} is not sent in a binary frame` : `unknown message type "${type.slice(0, 64)}"`);
    }
    const checked = this.options.schemas.validate<GanMessage>(schemaId, parsed);
    if (!checked.ok) return this.violation(`invalid ${type}: ${describeProblems(checked.problems)}`);
    const msg = checked.value;
    // A pong's ack goes before the frame's proof of life: at a thaw the engine's first step judges
    // the stall (from the last ping the peer answered), and a pong that waited in the socket
    // proves the peer heard the ping sent just before it.
    if (msg.type === 'pong' && !payload) this.onPong(msg.id as number);
    if (this.state === 'running') this.emit('frame', this.lastMessageAt);
    if (payload) {
      // Only app types are ever binary (the link's own are not registered as such).
      this.emit('message', { ...msg, payload });
      return;
    }
    switch (msg.type) {
      case 'hello':
        if (this.peer) return this.violation('a second hello');
        this.peer = msg as unknown as HelloMessage;
        if (this.helloTimer) clearTimeout(this.helloTimer);
        this.helloTimer = null;
        this.emit('hello', this.peer);
        return;
      case 'refused':
        this.peerRefusal = { code: String(msg.code), message: String(msg.message), time: new Date().toISOString() };
        return;
      case 'bye':
        this.byeReason = String(msg.reason);
        this.byeActive = typeof msg.active === 'boolean' ? msg.active : null;
        return;
      case 'ping':
        if (this.state !== 'running') return this.violation('ping before the handshake');
        this.send({ type: 'pong', id: msg.id as number });
        return;
      case 'pong':
        return; // acked above
      default:
        if (this.state !== 'running') return this.violation(`${type} before the handshake`);
        this.emit('message', msg);
    }
  }

  private violation(detail: string): void {
    this.options.logger.warn({ peer: this.label, detail }, 'invalid gateway network frame; closing that connection');
    this.fail(new GwError('GW_ERR_GAN_PROTOCOL_VIOLATION', { peer: this.label, detail }));
  }

  private schedulePing(delay: number): void {
    this.pingAt = Date.now() + delay;
    this.pingTimer = setTimeout(() => this.sendPing(), delay);
  }

  /**
   * pingRate changed live: the next ping comes no later than one new rate from now (the peer's
   * silence timer may have been shortened with it, and a ping pending at the old rate would leave
   * it nothing to hear for that long).
   */
  retimePing(): void {
    if (this.state !== 'running' || this.pingTimer === null || this.pingAt === null) return;
    const rate = this.options.ping().pingRate;
    if (this.pingAt - Date.now() <= rate) return;
    clearTimeout(this.pingTimer);
    this.schedulePing(rate);
  }

  private sendPing(): void {
    if (this.state !== 'running') return;
    const s = this.options.ping();
    // One ping in flight at a time: a slow answer is a miss, not a pile-up.
    if (!this.pingOutstanding) {
      const id = ++this.pingSeq;
      this.pingOutstanding = { id, sentAt: Date.now(), monoAt: performance.now() };
      this.send({ type: 'ping', id });
      this.pongTimer = setTimeout(() => {
        this.pingOutstanding = null;
        this.missed += 1;
        if (this.missed >= s.pingMaxMissed) {
          this.options.logger.warn({ peer: this.label, missed: this.missed }, 'peer stopped answering pings');
          this.fail(new GwError('GW_ERR_GAN_PING_TIMEOUT', { peer: this.label, missed: this.missed, timeout: s.pingTimeout }), CLOSE.FAULTED);
        }
      }, s.pingTimeout);
    }
    this.schedulePing(s.pingRate);
  }

  private onPong(id: number): void {
    if (!this.pingOutstanding || this.pingOutstanding.id !== id) return;
    this.pingMs = Date.now() - this.pingOutstanding.sentAt;
    // The peer heard our ping: proof that it hears us (hearing it is not, behind a one-way cut).
    if (this.state === 'running') this.emit('acked', this.pingOutstanding.monoAt);
    this.pingOutstanding = null;
    this.missed = 0;
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.pongTimer = null;
  }

  private stopTimers(): void {
    for (const t of [this.helloTimer, this.pingTimer, this.pongTimer]) if (t) clearTimeout(t);
    this.helloTimer = this.pingTimer = this.pongTimer = null;
  }

  private onClose(code: number, reason: string): void {
    if (this.state === 'closed') return;
    const wasRunning = this.state === 'running';
    this.state = 'closed';
    this.stopTimers();
    let error = this.localError ?? this.peerRefusal;
    if (!error && /^GW_ERR_[A-Z0-9_]+$/.test(reason)) {
      error = { code: reason, message: `${this.label} closed the connection: ${reason}`, time: new Date().toISOString() };
    }
    if (!error && this.byeReason !== null) error = new GwError('GW_ERR_GAN_PEER_LEFT', { peer: this.label, reason: this.byeReason }).toRecord();
    error ??= new GwError('GW_ERR_GAN_CONNECTION_CLOSED', {
      peer: this.label,
      detail: `websocket close ${code}${reason ? ` ${reason.slice(0, 120)}` : ''}`,
    }).toRecord();
    const closed: LinkClosed = { error, byeReason: this.byeReason, byeActive: this.byeActive, selfBye: this.selfBye, wasRunning };
    this.emit('closed', closed);
  }
}

/**
 * ws refuses a frame over maxPayload by itself: it sends the close frame (1009, no reason) before it
 * emits the 'error' the connection could act on, and has no option to change that
 * (websockets/ws#2224). It does so through the socket's own close(), so wrapping close() on this
 * instance gives that close the reason every other close of the link has: the catalogue code.
 * Only ws sends 1009 without a reason; the link's own closes always give one.
 */
function codeOversizeClose(ws: WebSocket): void {
  const close = ws.close.bind(ws);
  ws.close = ((code?: number, reason?: string | Buffer) =>
    close(code, code === CLOSE.TOO_LARGE && reason === undefined ? 'GW_ERR_GAN_FRAME_TOO_LARGE' : reason)) as WebSocket['close'];
}
