import { EventEmitter } from 'node:events';

import { GwError, type ErrorRecord } from '../../core/errors.js';

import type { GanMessage, HelloMessage } from '../../core/gan/protocol.js';
import type { Edition, Role, TrustDirection } from '../../core/wire.js';
import type { LinkClosed, LinkConnection } from './link-connection.js';
import type { MessageTypes } from './message-types.js';

export interface PeerInfo {
  uuid: string;
  systemName: string;
  /** The peer's label, from its hello; null when it sent none. */
  label: string | null;
  edition: Edition;
  role: Role;
  version: string;
  address: string;
  direction: TrustDirection;
  ssl: boolean;
  /** The peer's whole hello, with the fields its engines added (see `setHelloExtra`). */
  hello: HelloMessage & Record<string, unknown>;
}

export interface PeerDown {
  /** Coded reason: GW_ERR_GAN_PEER_LEFT (the peer said bye), GW_ERR_GAN_PING_TIMEOUT, ... */
  error: ErrorRecord;
  /** The `bye` reason when the peer closed on purpose (`shutdown`, `role-changed`, ...); else null. */
  byeReason: string | null;
  /** Whether the peer's goodbye said it was still Active (rule 10); null: no goodbye or not said. */
  byeActive: boolean | null;
  /** This node closed the link itself with its own goodbye: no evidence about the peer. */
  selfBye: boolean;
  peer: PeerInfo;
}

export interface DialFailure {
  error: ErrorRecord;
  /** errno of a failed TCP connect (ECONNREFUSED: nothing listens at the master's address). */
  errno: string | null;
  address: string;
}

export interface PeerLinkEvents {
  /** Backup side: a connection is open and our hello is about to be built and sent. */
  connecting: [attempt: { address: string }];
  up: [peer: PeerInfo];
  down: [down: PeerDown];
  message: [message: GanMessage, peer: PeerInfo];
  /** Any frame from the connected peer (pings and pongs included): proof of life. */
  alive: [at: number];
  /** The peer answered our ping sent at `sentAt` (performance.now()): it hears us. */
  acked: [sentAt: number];
  dialFailed: [failure: DialFailure];
}

/** Reserved hello fields: an extra provider cannot override them. */
const HELLO_FIELDS = new Set(['type', 'protocol', 'uuid', 'systemName', 'label', 'edition', 'role', 'version']);

/**
 * The one link to the peer, whichever side dialled: what the redundancy and sync engines use.
 *
 *   schemas.add(REDUNDANCY_MESSAGE_SCHEMA);
 *   link.registerMessageTypes(['redundancy.state', ...], 'gwd:protocol/redundancy-message');
 *   link.setHelloExtra(() => ({ state: machine.report() }));  // merged into every hello we send
 *   link.on('connecting', () => ...);             // backup: our hello is about to go out
 *   link.on('up', (peer) => ...);                 // handshake done, approved, Running; peer.hello has the extras
 *   link.on('message', (msg, peer) => ...);       // app messages only, already schema-validated
 *   link.on('alive', (at) => ...);                // any frame, pings included
 *   link.on('acked', (sentAt) => ...);            // the peer answered our ping sent at sentAt (performance.now())
 *   link.on('down', ({ error, byeReason }) => ...);
 *   link.on('dialFailed', ({ errno }) => ...);    // backup side: an attempt that never came up
 *   link.send({ type: 'redundancy.state', ... }); // false when not connected
 *
 * Order: a connection's `down` always comes before the next `up`, and no `message` of a connection
 * is delivered after its `down`. Ping, hello, trust and approval are handled below this interface.
 */
export class PeerLink extends EventEmitter<PeerLinkEvents> {
  private current: LinkConnection | null = null;
  private info: PeerInfo | null = null;
  private lastPeer: PeerInfo | null = null;
  private readonly helloExtras = new Map<string, () => Record<string, unknown>>();
  private activeNow: () => boolean | null = () => null;

  constructor(
    private readonly types: MessageTypes,
    private readonly onListenerError: (event: string, err: unknown) => void = () => undefined,
  ) {
    super();
    this.setMaxListeners(50);
  }

  /**
   * Each listener runs on its own: one that throws is logged and the others still run; nothing
   * unwinds into the socket code (and the daemon).
   */
  private safeEmit<K extends keyof PeerLinkEvents>(event: K, ...args: PeerLinkEvents[K]): void {
    for (const listener of this.rawListeners(event) as Array<(...a: unknown[]) => void>) {
      try {
        listener.apply(this, args);
      } catch (err) {
        this.onListenerError(event, err);
      }
    }
  }

  get connected(): boolean {
    return this.current !== null;
  }

  /** The connected peer, or null. */
  get peer(): PeerInfo | null {
    return this.info;
  }

  /** The last peer this node was connected to (kept after it goes down). */
  get lastKnownPeer(): PeerInfo | null {
    return this.lastPeer;
  }

  /** ms epoch of the last frame received from the peer (any type, pings included). */
  get lastMessageAt(): number | null {
    return this.current?.lastMessageAt ?? null;
  }

  get pingMs(): number | null {
    return this.current?.pingMs ?? null;
  }

  send(message: GanMessage): boolean {
    if (!this.current) return false;
    if (!this.types.schemaOf(message.type)) throw new Error(`message type ${message.type} is not registered`);
    return this.current.send(message);
  }

  /** A message and its payload in one binary frame; false when not connected. */
  sendBinary(message: GanMessage, payload: readonly Uint8Array[]): boolean {
    return this.binaryLink(message.type)?.sendBinary(message, payload) ?? false;
  }

  /** sendBinary() without copying the payload: see LinkConnection.sendBinaryInPlace. */
  sendBinaryInPlace(message: GanMessage, payload: Buffer, room: number): boolean {
    return this.binaryLink(message.type)?.sendBinaryInPlace(message, payload, room) ?? false;
  }

  /** Resolves once at most `bytes` are queued for the peer (see LinkConnection.queuedAtMost); at once when not connected. */
  queuedAtMost(bytes: number): Promise<void> {
    return this.current?.queuedAtMost(bytes) ?? Promise.resolve();
  }

  /** The connection to send a binary message of `type` on: null when not connected. */
  private binaryLink(type: string): LinkConnection | null {
    if (!this.current) return null;
    if (!this.types.binarySchemaOf(type)) throw new Error(`message type ${type} is not registered as binary`);
    return this.current;
  }

  registerMessageType(type: string, schemaId: string): void {
    this.types.register(type, schemaId);
  }

  /** Several types validated by one schema (a `oneOf` on `type`); `binary`: as headers of binary frames. */
  registerMessageTypes(types: readonly string[], schemaId: string, options: { binary?: boolean } = {}): void {
    for (const t of types) this.types.register(t, schemaId, options);
  }

  /**
   * Fields added to every hello this node sends, computed when it is sent (e.g. the redundancy
   * state report). One provider per owner (a later one of the same owner replaces it); the link's
   * own fields cannot be overridden.
   */
  setHelloExtra(provider: () => Record<string, unknown>, owner = 'redundancy'): void {
    this.helloExtras.set(owner, provider);
  }

  /** Whether this node is Active, for the goodbyes of its connections (rule 10). */
  setActiveProvider(provider: () => boolean): void {
    this.activeNow = provider;
  }

  /** @internal for LinkConnection's `active` option. */
  selfActive(): boolean | null {
    try {
      return this.activeNow();
    } catch (err) {
      this.onListenerError('activeProvider', err);
      return null;
    }
  }

  /** @internal our hello: the link's fields plus the engines' extras. */
  buildHello(base: HelloMessage): HelloMessage & Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const provider of this.helloExtras.values()) {
      let extra: Record<string, unknown> = {};
      try {
        extra = provider();
      } catch (err) {
        this.onListenerError('helloExtra', err);
      }
      for (const [k, v] of Object.entries(extra)) if (!HELLO_FIELDS.has(k)) out[k] = v;
    }
    return { ...out, ...base };
  }

  /** @internal the dialer is about to send its hello. */
  reportConnecting(address: string): void {
    this.safeEmit('connecting', { address });
  }

  /** Close the link on purpose with a bye; the peer sees `byeReason`. */
  close(reason: string): void {
    this.current?.bye(reason);
  }

  /** Drop the current connection at once with this coded reason (no bye: the peer is not listening). */
  abort(error: GwError): void {
    this.current?.abort(error);
  }

  /** Close with a bye and wait (bounded) until the socket is closed, so the bye reaches the peer. */
  async closeAndWait(reason: string, timeoutMs = 1000): Promise<void> {
    const conn = this.current;
    if (!conn) return;
    const closed = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      conn.once('closed', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    conn.bye(reason);
    await closed;
  }

  /** @internal the network service attaches the connection that passed every check. */
  attach(conn: LinkConnection): void {
    if (this.current && this.current !== conn) {
      // The old connection is reported down before the new one is up, and says nothing more.
      const old = this.current;
      const oldInfo = this.info!;
      this.current = null;
      this.info = null;
      old.bye('replaced');
      this.safeEmit('down', {
        error: new GwError('GW_ERR_GAN_CONNECTION_CLOSED', { peer: oldInfo.systemName, detail: 'replaced by a new connection of the same peer' }).toRecord(),
        byeReason: null,
        byeActive: null,
        selfBye: false,
        peer: oldInfo,
      });
    }
    const hello = conn.peer! as HelloMessage & Record<string, unknown>;
    const info: PeerInfo = {
      uuid: hello.uuid,
      systemName: hello.systemName,
      label: hello.label ?? null,
      edition: hello.edition,
      role: hello.role,
      version: hello.version,
      address: conn.address,
      direction: conn.direction,
      ssl: conn.ssl,
      hello,
    };
    this.current = conn;
    this.info = info;
    this.lastPeer = info;
    conn.on('message', (msg: GanMessage) => {
      if (this.current === conn) this.safeEmit('message', msg, info);
    });
    conn.on('frame', (at: number) => {
      if (this.current === conn) this.safeEmit('alive', at);
    });
    conn.on('acked', (sentAt: number) => {
      if (this.current === conn) this.safeEmit('acked', sentAt);
    });
    conn.once('closed', ({ error, byeReason, byeActive, selfBye }: LinkClosed) => {
      if (this.current !== conn) return;
      this.current = null;
      this.info = null;
      this.safeEmit('down', { error, byeReason, byeActive, selfBye, peer: info });
    });
    this.safeEmit('up', info);
  }

  /** @internal the dialer reports a dial that did not reach Running. */
  reportDialFailure(failure: DialFailure): void {
    this.safeEmit('dialFailed', failure);
  }

  /** @internal */
  currentConnection(): LinkConnection | null {
    return this.current;
  }
}
