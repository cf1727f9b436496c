/**
 * Redundancy protocol messages exchanged by the two nodes over the Gateway Network link.
 *
 * Types plus their JSON Schemas, which tsc keeps equal (schemaOf): the link validates frames
 * against REDUNDANCY_MESSAGE_SCHEMA (generated into schemas/protocol too) and hands the parsed
 * object to the machine as a `peerMessage` input. Every message is small and self-describing; ids
 * tie a confirm/reject/cancel to one request so a late answer to an abandoned request is recognised
 * and ignored.
 */
import type { Activity, Role } from '../wire.js';
import { keysOf, messageSchema, schemaOf } from '../schema-type.js';

export type RecoveryMode = 'Automatic' | 'Manual';
export type StandbyLevel = 'Cold' | 'Warm';

/**
 * A node's redundancy state as its peer needs it. Carried in the link hello (so the peer knows it
 * the moment the link is up) and sent again after every change.
 */
export interface StateReport {
  role: Role;
  activity: Activity;
  epoch: number;
  /** The sender's masterRecoveryMode; only the master's value decides anything. */
  recoveryMode: RecoveryMode;
  /** Why the activity last changed (an ActivityReason code). */
  reason: string;
  /** Failovers that this change completes, so the node that asked can report completion. */
  failoverIds: string[];
  /**
   * How long the sender waits in silence before it takes over (its failoverTimeout, ms): an Active
   * node that was frozen for about that long must assume its peer took over. Absent: unknown.
   */
  failoverTimeout?: number;
  /** The epoch of the sender's own last activation (not adopted); absent: unknown. */
  activatedEpoch?: number;
}

export interface StateMessage extends StateReport {
  type: 'redundancy.state';
  /** The stateQuery this answers, else null. */
  replyTo: string | null;
}

/**
 * "Send me your state": after a silence, reports buffered during it may be old, so the peer's
 * state counts again only from the reply (replyTo = id) on; the channel is ordered.
 */
export interface StateQuery {
  type: 'redundancy.stateQuery';
  id: string;
}

/** "Stop being Active (or do not become Active): I want to be Active." */
export interface StandDownRequest {
  type: 'redundancy.standDownRequest';
  id: string;
  /** The ActivityReason the requester will activate with; the confirmer stands down with it too. */
  reason: string;
  /** Requester's epoch, for logs; the activation epoch is max(both) + 1 taken at confirm time. */
  epoch: number;
  /** An operator asked for this handover (failover command), which outranks automatic recovery. */
  operator: boolean;
  failoverIds: string[];
}

/** "I am not Active and will not become Active until you report Active, cancel, or time out." */
export interface StandDownConfirm {
  type: 'redundancy.standDownConfirm';
  id: string;
  epoch: number;
  /** The confirmer's activity now (never Active): supersedes any report of it sent before. */
  activity: StandbyLevel;
}

export interface StandDownReject {
  type: 'redundancy.standDownReject';
  id: string;
  reason: 'contended' | 'stopping' | 'not-redundant' | 'paused';
}

/** The requester gave up (veto, timeout, changed its mind): the promise made by a confirm ends. */
export interface StandDownCancel {
  type: 'redundancy.standDownCancel';
  id: string;
}

/** Sent by the Active node when an operator asks it to hand over: "please take over". */
export interface FailoverRequest {
  type: 'redundancy.failoverRequest';
  id: string;
}

export interface FailoverReject {
  type: 'redundancy.failoverReject';
  id: string;
  reason: 'already-active' | 'vetoed' | 'aborted' | 'stopping' | 'not-redundant';
}

/** Clean stop: the sender is going away now; its peer takes over at once (rule 6). */
export interface SteppingDown {
  type: 'redundancy.steppingDown';
  epoch: number;
}

export type RedundancyMessage =
  | StateMessage
  | StateQuery
  | StandDownRequest
  | StandDownConfirm
  | StandDownReject
  | StandDownCancel
  | FailoverRequest
  | FailoverReject
  | SteppingDown;

export type RedundancyMessageType = RedundancyMessage['type'];

const id = { type: 'string', minLength: 1, maxLength: 128 } as const;
const epoch = { type: 'integer', minimum: 0 } as const;
const ids = { type: 'array', items: id, maxItems: 16 } as const;

export const STATE_REPORT_PROPERTIES = {
  role: { enum: ['Independent', 'Master', 'Backup'] },
  activity: { enum: ['Active', 'Warm', 'Cold'] },
  epoch,
  recoveryMode: { enum: ['Automatic', 'Manual'] },
  reason: { type: 'string', maxLength: 64 },
  failoverIds: ids,
} as const;

/** Optional fields of a StateReport (absent from a report of an earlier build). */
const STATE_REPORT_OPTIONAL = {
  failoverTimeout: { type: 'integer', minimum: 1, maximum: 86_400_000 },
  activatedEpoch: epoch,
} as const;

/** JSON Schema (draft 2020-12 / ajv) of one redundancy message; `type` discriminates. */
export const REDUNDANCY_MESSAGE_SCHEMA = schemaOf<RedundancyMessage>()({
  $id: 'gwd:protocol/redundancy-message',
  oneOf: [
    messageSchema('redundancy.state', { ...STATE_REPORT_PROPERTIES, replyTo: { anyOf: [id, { type: 'null' }] } }, STATE_REPORT_OPTIONAL),
    messageSchema('redundancy.stateQuery', { id }),
    messageSchema('redundancy.standDownRequest', {
      id,
      reason: { type: 'string', maxLength: 64 },
      epoch,
      operator: { type: 'boolean' },
      failoverIds: ids,
    }),
    messageSchema('redundancy.standDownConfirm', { id, epoch, activity: { enum: ['Warm', 'Cold'] } }),
    messageSchema('redundancy.standDownReject', { id, reason: { enum: ['contended', 'stopping', 'not-redundant', 'paused'] } }),
    messageSchema('redundancy.standDownCancel', { id }),
    messageSchema('redundancy.failoverRequest', { id }),
    messageSchema('redundancy.failoverReject', {
      id,
      reason: { enum: ['already-active', 'vetoed', 'aborted', 'stopping', 'not-redundant'] },
    }),
    messageSchema('redundancy.steppingDown', { epoch }),
  ],
});

/** Schema of the StateReport the link carries in its hello (e.g. as `hello.redundancy`). */
export const STATE_REPORT_SCHEMA = schemaOf<StateReport>()({
  $id: 'gwd:protocol/redundancy-state-report',
  type: 'object',
  additionalProperties: false,
  required: keysOf(STATE_REPORT_PROPERTIES),
  properties: { ...STATE_REPORT_PROPERTIES, ...STATE_REPORT_OPTIONAL },
});
