import { EventEmitter } from 'node:events';

import type { GanMessage } from '../../core/gan/protocol.js';
import type { CodedError, Edition, Role, TrustDirection } from '../../core/wire.js';
import type { LinkConnection } from './link-connection.js';
import type { MessageTypes } from './message-types.js';

export interface PeerInfo {
  uuid: string;
  systemName: string;
  edition: Edition;
  role: Role;
  version: string;
  address: string;
  direction: TrustDirection;
  ssl: boolean;
}

export interface PeerDown {
  /** Coded reason: GW_ERR_GAN_PEER_LEFT (the peer said bye), GW_ERR_GAN_PING_TIMEOUT, ... */
  error: CodedError;
  /** The `bye` reason when the peer closed on purpose (`shutdown`, `role-changed`, ...); else null. */
  byeReason: string | null;
  peer: PeerInfo;
}

export interface DialFailure {
  error: CodedError;
  /** errno of a failed TCP connect (ECONNREFUSED: nothing listens at the master's address). */
  errno: string | null;
  address: string;
}

export interface PeerLinkEvents {
  up: [peer: PeerInfo];
  down: [down: PeerDown];
  message: [message: GanMessage, peer: PeerInfo];
  dialFailed: [failure: DialFailure];
}

/**
 * The one link to the peer, whichever side dialled: what the redundancy and sync engines use.
 *
 *   link.registerMessageType('redundancy.state', 'gwd:protocol/redundancy-state');
 *   link.on('up', (peer) => ...);                 // handshake done, approved, Running
 *   link.on('message', (msg, peer) => ...);       // app messages only, already schema-validated
 *   link.on('down', ({ error, byeReason }) => ...);
 *   link.on('dialFailed', ({ errno }) => ...);    // backup side: a dial did not reach a Running link
 *   link.send({ type: 'redundancy.state', ... }); // false when not connected
 *
 * Ping, hello, trust and approval are handled below this interface.
 */
export class PeerLink extends EventEmitter<PeerLinkEvents> {
  private current: LinkConnection | null = null;
  private info: PeerInfo | null = null;
  private lastPeer: PeerInfo | null = null;

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

  registerMessageType(type: string, schemaId: string): void {
    this.types.register(type, schemaId);
  }

  /** Close the link on purpose with a bye; the peer sees `byeReason`. */
  close(reason: string): void {
    this.current?.bye(reason);
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
    if (this.current && this.current !== conn) this.current.bye('replaced');
    const hello = conn.peer!;
    const info: PeerInfo = {
      uuid: hello.uuid,
      systemName: hello.systemName,
      edition: hello.edition,
      role: hello.role,
      version: hello.version,
      address: conn.address,
      direction: conn.direction,
      ssl: conn.ssl,
    };
    this.current = conn;
    this.info = info;
    this.lastPeer = info;
    conn.on('message', (msg: GanMessage) => {
      if (this.current === conn) this.safeEmit('message', msg, info);
    });
    conn.once('closed', ({ error, byeReason }: { error: CodedError; byeReason: string | null }) => {
      if (this.current !== conn) return;
      this.current = null;
      this.info = null;
      this.safeEmit('down', { error, byeReason, peer: info });
    });
    this.safeEmit('up', info);
  }

  /** @internal the dialer reports a dial that did not reach Running. */
  reportDialFailure(failure: DialFailure): void {
    this.safeEmit('dialFailed', failure);
  }

  /** @internal */
  isCurrent(conn: LinkConnection): boolean {
    return this.current === conn;
  }

  /** @internal */
  currentConnection(): LinkConnection | null {
    return this.current;
  }
}
