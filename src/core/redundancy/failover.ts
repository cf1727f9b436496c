/**
 * Rule 7: `gwctl redundancy failover` on either node. On the Active node it becomes a request to
 * the peer to take over; on a standing-by node it is an activation through the usual handshake.
 * Without a connected peer only `--force` on a standing-by node activates.
 */
import { Ctx, peerPresent } from './context.js';
import { abortAcquire, startAcquire } from './handshake.js';
import type { FailoverReject, FailoverRequest } from './messages.js';
import type { ErrorSpec } from '../errors.js';

export interface FailoverOutcome {
  error: ErrorSpec | null;
  id: string | null;
}

function refused(error: ErrorSpec): FailoverOutcome {
  return { error, id: null };
}

export function requestFailover(c: Ctx, force: boolean): FailoverOutcome {
  const s = c.s;
  if (s.settings.role === 'Independent') {
    return refused({ code: 'GW_ERR_REDUNDANCY_NOT_REDUNDANT', params: {} });
  }
  if (s.phase === 'stopping') return refused({ code: 'GW_ERR_API_SHUTTING_DOWN', params: {} });
  const pending = s.give?.id ?? (s.acquire?.operator ? (s.acquire.localFailoverId ?? s.acquire.peerFailoverIds[0]) : null);
  if (pending !== null && pending !== undefined) {
    return refused({ code: 'GW_ERR_REDUNDANCY_FAILOVER_IN_PROGRESS', params: { id: pending } });
  }
  const present = peerPresent(s);
  if (!present && !(force && s.activity !== 'Active')) {
    return refused({ code: 'GW_ERR_REDUNDANCY_NO_PEER', params: { activity: s.activity } });
  }
  const id = c.failoverId();
  c.emit({ type: 'failover.requested', data: { id, origin: 'local', force } });
  if (present && s.activity === 'Active') {
    // Enough for the peer's preActivate plus its handshake; then the request has failed.
    s.give = { id, deadline: c.now + s.settings.hooks.timeoutMs + 2 * s.settings.failoverTimeout };
    const message: FailoverRequest = { type: 'redundancy.failoverRequest', id };
    c.send(message);
    return { error: null, id };
  }
  // The operator overrides whatever kept this node standing by (Manual recovery, an earlier
  // handover, a veto backoff, a pairing never made when forced).
  s.holdOff = false;
  s.promise = null;
  s.retryAt = null;
  abortAcquire(c, 'superseded by a failover request');
  startAcquire(c, present ? 'requested' : 'forced', { operator: true, forced: !present, localFailoverId: id });
  return { error: null, id };
}

export function onFailoverRequest(c: Ctx, msg: FailoverRequest): void {
  const s = c.s;
  const reject = (reason: FailoverReject['reason']): void =>
    c.send({ type: 'redundancy.failoverReject', id: msg.id, reason });
  if (s.phase === 'stopping') return reject('stopping');
  if (s.activity === 'Active') return reject('already-active');
  c.emit({ type: 'failover.requested', data: { id: msg.id, origin: 'peer', force: false } });
  s.holdOff = false;
  s.promise = null;
  s.retryAt = null;
  const a = s.acquire;
  if (a !== null) {
    // Already on our way to Active (e.g. automatic recovery crossing the request): join it.
    a.operator = true;
    a.peerFailoverIds.push(msg.id);
    return;
  }
  startAcquire(c, 'requested', { operator: true, peerFailoverIds: [msg.id] });
}

export function onFailoverReject(c: Ctx, msg: FailoverReject): void {
  const s = c.s;
  if (s.give === null || s.give.id !== msg.id) return;
  c.emit({ type: 'failover.failed', data: { id: msg.id, reason: `the peer refused: ${msg.reason}` } });
  s.give = null;
}

export function expireFailover(c: Ctx): void {
  const s = c.s;
  if (s.give !== null && c.now >= s.give.deadline) {
    c.emit({ type: 'failover.failed', data: { id: s.give.id, reason: 'the peer did not take over in time' } });
    s.give = null;
  }
}
