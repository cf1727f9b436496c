/**
 * Rule 12, pause (maintenance): the pair-wide pause record, its protocol message and the rule that
 * decides which of two records holds. Pure: times are passed in (wall-clock ms, because `until` is
 * an instant both nodes and a restart must agree on), nothing here reads a clock or a file.
 *
 * A record is the last operator decision, pause or resume, made on either node. Each node keeps its
 * own copy (var/redundancy-pause.json), puts it in its hello and sends it (`pause.record`) when an
 * operator changes it; a node that learns a record merges it with its own by `newerPauseRecord`:
 *
 *   the record with the later `changedAt` wins; on equal `changedAt` the one whose `changedBy`
 *   (node UUID) sorts last wins; equal in both is the same decision.
 *
 * So the last operator decision wins on both nodes whichever order the records travel in, and a
 * node that was away adopts what was decided meanwhile. Expiry is not a decision: a pause whose
 * `until` has passed is simply no longer in force (`pauseInForce`); it is never turned into a new
 * record, which could otherwise outrank a newer pause made on the peer. Both nodes compare `until`
 * with their own clocks, so the pair's clocks should agree (NTP), as for the event times.
 */
import { keysOf, schemaOf } from '../schema-type.js';

/** Default `gwctl redundancy pause` duration. */
export const DEFAULT_PAUSE_MS = 60 * 60 * 1000;
/** Longest pause with an end: 30 days (`forMs` 0 is "until resumed"). */
export const MAX_PAUSE_MS = 30 * 24 * 60 * 60 * 1000;
/** Longest reason kept. */
export const MAX_PAUSE_REASON = 200;

/** The node where an operator ran the command: its label or system name, and its UUID. */
export interface PauseActor {
  uuid: string;
  name: string;
}

export interface PauseRecord {
  /** true: an operator paused the pair; false: an operator resumed it. */
  paused: boolean;
  /** ISO time the pause began (kept when a pause in force is changed); null for a resume. */
  since: string | null;
  /** ISO time the pause ends by itself; null: until resumed (or a resume record). */
  until: string | null;
  /** Who paused (a pause) or resumed (a resume). */
  by: PauseActor;
  /** The operator's reason for the pause; null when none was given (and for a resume). */
  reason: string | null;
  /** Wall-clock ms of the decision: the merge order. Strictly increasing on one node. */
  changedAt: number;
  /** UUID of the node that made the decision: breaks a tie of `changedAt`. */
  changedBy: string;
}

/** What status shows (`redundancy.paused`) and what the pause routes answer. */
export interface PauseSummary {
  since: string;
  until: string | null;
  by: PauseActor;
  reason: string | null;
}

/** The record that holds of two (either may be absent). */
export function newerPauseRecord(a: PauseRecord | null, b: PauseRecord | null): PauseRecord | null {
  if (a === null) return b;
  if (b === null) return a;
  if (a.changedAt !== b.changedAt) return a.changedAt > b.changedAt ? a : b;
  return b.changedBy > a.changedBy ? b : a;
}

/** The two records are the same decision (nothing to adopt, nothing to send). */
export function samePauseDecision(a: PauseRecord | null, b: PauseRecord | null): boolean {
  if (a === null || b === null) return a === b;
  return a.changedAt === b.changedAt && a.changedBy === b.changedBy;
}

/** The record pauses the pair at wall-clock time `nowMs`. */
export function pauseInForce(record: PauseRecord | null, nowMs: number): boolean {
  if (record === null || !record.paused) return false;
  return record.until === null || Date.parse(record.until) > nowMs;
}

export function pauseSummary(record: PauseRecord | null, nowMs: number): PauseSummary | null {
  if (record === null || !pauseInForce(record, nowMs)) return null;
  return { since: record.since ?? new Date(record.changedAt).toISOString(), until: record.until, by: record.by, reason: record.reason };
}

/** When the record's pause ends by itself (wall-clock ms), or null when it does not. */
export function pauseEndsAt(record: PauseRecord | null): number | null {
  if (record === null || !record.paused || record.until === null) return null;
  return Date.parse(record.until);
}

/** The next decision's time on this node: never equal to or before the one it replaces. */
function nextChangeAt(previous: PauseRecord | null, nowMs: number): number {
  return previous === null ? nowMs : Math.max(nowMs, previous.changedAt + 1);
}

/**
 * A pause decided now. `forMs` 0: until resumed. A pause in force that is paused again keeps its
 * `since` (the maintenance began then) and takes the new end and reason.
 */
export function makePause(
  previous: PauseRecord | null,
  args: { nowMs: number; forMs: number; reason: string | null; by: PauseActor },
): PauseRecord {
  const changedAt = nextChangeAt(previous, args.nowMs);
  const since = pauseInForce(previous, args.nowMs) && previous!.since !== null ? previous!.since : new Date(args.nowMs).toISOString();
  return {
    paused: true,
    since,
    until: args.forMs === 0 ? null : new Date(args.nowMs + args.forMs).toISOString(),
    by: args.by,
    reason: args.reason,
    changedAt,
    changedBy: args.by.uuid,
  };
}

export function makeResume(previous: PauseRecord | null, args: { nowMs: number; by: PauseActor }): PauseRecord {
  return {
    paused: false,
    since: null,
    until: null,
    by: args.by,
    reason: null,
    changedAt: nextChangeAt(previous, args.nowMs),
    changedBy: args.by.uuid,
  };
}

const uuid = { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' } as const;
const isoTime = { type: 'string', minLength: 1, maxLength: 64 } as const;

const PAUSE_RECORD_PROPERTIES = {
  paused: { type: 'boolean' },
  since: { anyOf: [isoTime, { type: 'null' }] },
  until: { anyOf: [isoTime, { type: 'null' }] },
  by: {
    type: 'object',
    additionalProperties: false,
    required: ['uuid', 'name'],
    properties: { uuid, name: { type: 'string', maxLength: 256 } },
  },
  reason: { anyOf: [{ type: 'string', maxLength: MAX_PAUSE_REASON }, { type: 'null' }] },
  changedAt: { type: 'integer', minimum: 0 },
  changedBy: uuid,
} as const;

/** A pause record as it travels (hello field `pause`, message `pause.record`) and as it is stored. */
export const PAUSE_RECORD_SCHEMA = schemaOf<PauseRecord>()({
  $id: 'gwd:protocol/pause-record',
  type: 'object',
  additionalProperties: false,
  required: keysOf(PAUSE_RECORD_PROPERTIES),
  properties: PAUSE_RECORD_PROPERTIES,
});

/** The type of each `$ref` target of the schemas below. */
type PauseRefs = { 'gwd:protocol/pause-record': PauseRecord };

/**
 * `pause.record {record}`: an operator changed the pause on the sender. Only sent to a peer whose
 * hello carries the `pause` field (an older peer closes the link on a type it does not know).
 * Not a `redundancy.*` type: the redundancy engine hands those to the state machine.
 */
export const PAUSE_MESSAGE_TYPE = 'pause.record';

export const PAUSE_MESSAGE_SCHEMA = schemaOf<PauseMessage, PauseRefs>()({
  $id: 'gwd:protocol/pause-message',
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'record'],
      properties: { type: { const: PAUSE_MESSAGE_TYPE }, record: { $ref: 'gwd:protocol/pause-record' } },
    },
  ],
});

export interface PauseMessage {
  type: typeof PAUSE_MESSAGE_TYPE;
  record: PauseRecord;
}

/** var/redundancy-pause.json. `endReported`: the end of the pause in it was announced already. */
export const PAUSE_FILE_SCHEMA = schemaOf<PauseFile, PauseRefs>()({
  $id: 'gwd:var/redundancy-pause',
  type: 'object',
  additionalProperties: false,
  required: ['version', 'record', 'endReported'],
  properties: {
    version: { const: 1 },
    record: { $ref: 'gwd:protocol/pause-record' },
    endReported: { type: 'boolean' },
  },
});

export interface PauseFile {
  version: 1;
  record: PauseRecord;
  endReported: boolean;
}
