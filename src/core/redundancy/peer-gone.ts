/**
 * Fast failover's policy in one place: how the end of a link, or a failed redial, is read as
 * evidence about the peer. The daemon's socket code only reports what happened (an errno, the
 * coded reason a connection closed with, the peer's goodbye); these functions say what it means,
 * and the machine (peer.ts, rules 5, 6 and 10) acts on that.
 *
 * The reasons:
 *
 * - ECONNREFUSED on a redial: the peer's host answered the SYN with a reset. The host is up and
 *   reachable, but nothing listens on gwd's port: the process is gone (killed, crashed, stopped
 *   without a goodbye). That is proof, so a backup need not wait out failoverTimeout (rule 6). It
 *   counts only after the running link closed without a goodbye, and only with fastFailover: the
 *   machine checks both (onRedialRefused).
 * - ECONNRESET on a redial, before any byte of the protocol: the connect raced the dying process's
 *   listening socket (the kernel accepted it into the backlog, then reset it as the process exited;
 *   seen in 1 of 20 kill -9 runs). The host answered: same meaning as a refusal.
 * - Everything else on a redial is silence, not proof: ETIMEDOUT, EHOSTUNREACH, ENETUNREACH,
 *   EHOSTDOWN, a handshake timeout, a TLS or HTTP failure. A lost host, a cut cable and a frozen
 *   process all look like that from here, and a cut between two live nodes must not make both
 *   Active; only failoverTimeout of silence decides (rule 5). No errno at all (a failure after the
 *   TCP connect) says nothing either.
 *
 * How a link closes (the coded reason LinkConnection gives it; a peer's close reason that is a
 * catalogue code is adopted as that code):
 *
 * - 1000 after the peer's `bye`: it left on purpose. Its goodbye says whether it is still Active
 *   (rule 10) and whether it is stopping (`shutdown`); `replaced` is a newer connection of the same
 *   peer taking over, not a departure, and reads as a plain close.
 * - No close frame (1006: the peer's process died and its kernel closed the socket, or a socket
 *   error such as ECONNRESET or EPIPE): GW_ERR_GAN_CONNECTION_CLOSED, `closed`. Not proof yet: the
 *   backup redials at once, and the redial's refusal (above) is the proof.
 * - 4008 (GW_ERR_GAN_PING_TIMEOUT, either side stopped hearing the other's pongs) or this node's
 *   own abort for a silence of failoverTimeout (GW_ERR_GAN_PEER_SILENT): `timeout`, silence. The
 *   backup also redials at once: a master that was frozen answers the moment it resumes, and the
 *   pair must meet again then.
 * - 4003 (refused: trust, policy, compatibility), 4000 (protocol violation), 1009 (frame too large)
 *   and any other code: `error`, which proves nothing about the peer's process.
 * - This node's own goodbye (a settings change, a revoked certificate): `local`, no evidence.
 */
import type { ErrorCode } from '../errors.js';
import type { DisconnectReason } from './types.js';

/** Node's socket errors are errno names (ECONNRESET, EPIPE, ...); ws's own are WS_ERR_*. */
const ERRNO = /^E[A-Z]+$/;

/** The errno of a socket error's code, or null when the error is not the socket's (ws, TLS, HTTP). */
export function socketErrno(code: unknown): string | null {
  return typeof code === 'string' && ERRNO.test(code) ? code : null;
}

/**
 * A failed redial that proves the peer's process is gone while its host is up: it refused the
 * connection, or reset it before any byte of the protocol.
 */
export function isRefusedRedial(errno: string | null): boolean {
  return errno === 'ECONNREFUSED' || errno === 'ECONNRESET';
}

/**
 * How an error on an open connection ends it. A socket error (ECONNRESET when the peer's process
 * died, EPIPE, ...) is a lost connection, which fast failover must see as such (`lost`); ws's
 * refusal of an oversized frame is `tooLarge`; any other error of ws's framing is a violation.
 */
export type LinkErrorKind = 'lost' | 'tooLarge' | 'violation';

export function linkErrorKind(code: unknown): LinkErrorKind {
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 'tooLarge';
  return socketErrno(code) !== null ? 'lost' : 'violation';
}

/** Closes of a running link (their coded reasons) after which the backup redials the master at once. */
const REDIAL_AT_ONCE: ReadonlySet<string> = new Set(['GW_ERR_GAN_CONNECTION_CLOSED', 'GW_ERR_GAN_PEER_SILENT', 'GW_ERR_GAN_PING_TIMEOUT'] satisfies ErrorCode[]);

/**
 * A running link that closed without a goodbye, or for silence, is redialled at once: a refusal then
 * tells within milliseconds that the master's process is gone, and a master that was frozen is met
 * the moment it resumes. Only this one redial is immediate (the caller's next ones wait
 * reconnectPeriod), so a flapping master cannot spin the backup.
 */
export function redialAtOnce(code: string, wasRunning: boolean): boolean {
  return wasRunning && REDIAL_AT_ONCE.has(code);
}

/** What the link knows about how it went down. */
export interface LinkDown {
  /** The coded reason the connection closed with. */
  error: { code: string };
  /** The peer's goodbye reason (`shutdown`, `role-changed`, `replaced`, ...); null: no goodbye. */
  byeReason: string | null;
  /** Whether the peer's goodbye said it was still Active; null: no goodbye or not said. */
  byeActive: boolean | null;
  /** This node said goodbye first. */
  selfBye: boolean;
}

export interface Disconnect {
  reason: DisconnectReason;
  peerActive?: boolean;
  peerStopping?: boolean;
}

/**
 * How the machine reads a link that went down. Only a goodbye received from the peer is evidence
 * about the peer (rule 10), and it says whether the peer stood down first; this node's own goodbye
 * is `local` and says nothing. A connection replaced by a newer one of the same peer is not a
 * departure.
 */
export function disconnectOf(down: LinkDown): Disconnect {
  if (down.selfBye) return { reason: 'local' };
  if (down.byeReason !== null) {
    if (down.byeReason === 'replaced') return { reason: 'closed' };
    const stopping = down.byeReason === 'shutdown' ? { peerStopping: true } : {};
    return down.byeActive === null ? { reason: 'bye', ...stopping } : { reason: 'bye', peerActive: down.byeActive, ...stopping };
  }
  const code = down.error.code;
  if (code === 'GW_ERR_GAN_PING_TIMEOUT' || code === 'GW_ERR_GAN_PEER_SILENT') return { reason: 'timeout' };
  if (code === 'GW_ERR_GAN_CONNECTION_CLOSED') return { reason: 'closed' };
  return { reason: 'error' };
}
