/**
 * Messages of the synchronization protocol (DESIGN.md section 6) and their JSON Schemas, which tsc
 * keeps equal to the types (schemaOf; schemas/protocol/sync-*.schema.json are generated from them).
 * Pure: the daemon registers the schemas and the types with the PeerLink, which validates every
 * frame before the sync engine sees it.
 *
 * Backup → master: sync.request, sync.ack.
 * Master → backup: sync.begin, then either sync.entries (incremental) or a full snapshot in its one
 * wire form, sent while the master reads it: sync.snapshotStream, then sync.snapshotFiles (manifest
 * entries) each followed by the binary sync.snapshotChunk frames of their bytes, and
 * sync.snapshotEnd with the totals (or sync.snapshotAbort when the master could not read it all).
 * Afterwards live sync.entries as changes commit. A peer of another protocol version is refused
 * at the hello, so no other form is ever spoken.
 *
 * Revisions are always the master's.
 */

import { messageTypesOf } from '../gan/protocol.js';
import type { JournalEntry } from '../config-model.js';
import { keysOf, messageSchema, schemaOf } from '../schema-type.js';
import type { ManifestTotals, SnapshotFile } from './snapshot-manifest.js';

export type SyncKind = 'full' | 'incremental';

/** The backup asks to be brought up to date. */
export interface SyncRequest {
  type: 'sync.request';
  /** UUID of the master whose configuration this backup holds (from a full snapshot), or null. */
  holder: string | null;
  /** The master's revision this backup has applied up to. */
  revision: number;
  /** Ask for a full snapshot whatever the journal holds (gwctl redundancy resync). */
  full: boolean;
}

/** The master's answer: what kind of sync follows, and the master revision it brings the backup to. */
export interface SyncBegin {
  type: 'sync.begin';
  /** Ties the answer to the request it answers (a later request supersedes an earlier one). */
  op: number;
  kind: SyncKind;
  revision: number;
}

/**
 * A journal entry as it travels: core only (local resources are never replicated, and the schema
 * refuses a local entry, so the type says so too).
 */
export interface ReplicatedEntry extends Omit<JournalEntry, 'collection'> {
  collection: 'core';
}

/** Entries of the master's journal covering master revisions (from, upTo], core only, in order. */
export interface SyncEntries {
  type: 'sync.entries';
  from: number;
  upTo: number;
  /** The master's latest revision when this was sent. */
  latest: number;
  entries: ReplicatedEntry[];
}

/**
 * A full snapshot sent while the master still reads it: the manifest comes in parts
 * (sync.snapshotFiles), each before the bytes of its files (binary frames), and its totals at the end.
 */
export interface SyncSnapshotStream {
  type: 'sync.snapshotStream';
  op: number;
  id: string;
  revision: number;
}

/** The next entries of a streamed snapshot's manifest, in ascending path order. */
export interface SyncSnapshotFiles {
  type: 'sync.snapshotFiles';
  id: string;
  files: SnapshotFile[];
}

/**
 * The master could not finish reading a streamed snapshot (an I/O error): the backup drops it at
 * once, reporting the master's reason, instead of waiting out its sync timeout.
 */
export interface SyncSnapshotAbort {
  type: 'sync.snapshotAbort';
  id: string;
  reason: string;
}

/**
 * Bytes of files, in a binary frame: the files' bytes in manifest order, from the byte at `offset` of
 * the file at index `file` of the manifest on; the backup cuts them by the manifest's sizes, so the
 * header names no file (a header per file cost as much to parse and check as the bytes to write).
 */
export interface SyncSnapshotChunk {
  type: 'sync.snapshotChunk';
  chunk: { id: string; seq: number; file: number; offset: number };
  payload: Uint8Array;
}

export interface SyncSnapshotEnd {
  type: 'sync.snapshotEnd';
  id: string;
  /** The snapshot's totals, checked against the entries announced. */
  totals: ManifestTotals;
}

/** The backup has applied every master change up to `revision`. */
export interface SyncAck {
  type: 'sync.ack';
  revision: number;
}

/**
 * The backup has taken `bytes` of snapshot `id`'s chunk payloads (handed them to its writer): the
 * master sends at most SNAPSHOT_WINDOW_BYTES beyond that, so a backup whose disk is slower than
 * the network holds a bounded part of the snapshot, not all of it.
 */
export interface SyncSnapshotReceived {
  type: 'sync.snapshotReceived';
  id: string;
  bytes: number;
}

export type SyncMessage =
  | SyncRequest
  | SyncBegin
  | SyncEntries
  | SyncSnapshotStream
  | SyncSnapshotFiles
  | SyncSnapshotAbort
  | SyncSnapshotChunk
  | SyncSnapshotEnd
  | SyncAck
  | SyncSnapshotReceived;

/**
 * Snapshot payload bytes the master sends beyond what the backup reported taken
 * (sync.snapshotReceived). Each is a byte of the backup's memory while it waits in its inbox: at
 * 32 MiB they were ~35 MB of a backup's 291 MB peak for 100,000 resources. 16 MiB is still four
 * reports (SNAPSHOT_RECEIVED_EVERY_BYTES) and, at 1 Gbit/s, over 100 ms of round trip in flight.
 */
export const SNAPSHOT_WINDOW_BYTES = 16 * 1024 * 1024;
/** The backup reports what it has taken each time this much more is taken. */
export const SNAPSHOT_RECEIVED_EVERY_BYTES = 4 * 1024 * 1024;

/** Raw bytes per snapshot chunk when a part is cut (a part larger than a frame should be). */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Manifest entries per sync.snapshotFiles (a streamed snapshot): the master reads this many files at a time. */
export const SNAPSHOT_FILES_PER_PART = 1024;
/** At most this many entries and about this many bytes of them per sync.entries message (frames stop at 8 MiB). */
export const ENTRIES_PER_BATCH = 200;
export const ENTRIES_BATCH_BYTES = 2 * 1024 * 1024;

/**
 * Entries cut into message-sized batches, in order: by count and by serialized size (an entry is
 * at most about the 1 MiB API body limit plus its metadata, so one alone always fits a frame).
 */
export function entryBatches<T>(entries: readonly T[], maxCount = ENTRIES_PER_BATCH, maxBytes = ENTRIES_BATCH_BYTES): T[][] {
  const out: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = JSON.stringify(e).length;
    if (batch.length > 0 && (batch.length >= maxCount || bytes + size > maxBytes)) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(e);
    bytes += size;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

const revision = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const uuid = { type: 'string', pattern: '^[0-9a-fA-F-]{1,64}$' } as const;
const snapshotId = { type: 'string', pattern: '^[0-9a-zA-Z-]{1,64}$' } as const;
const sha256 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const name = { type: 'string', minLength: 1, maxLength: 256 } as const;
/**
 * One file of a manifest. The shape only: the ManifestChecker refuses an unsafe path or a malformed
 * hash with a coded reason, and checking each of 30,000 entries twice (patterns, lengths) cost
 * ~25 ms of every full sync.
 */
const manifestEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'size', 'sha256'],
  properties: { path: { type: 'string' }, size: { type: 'integer', minimum: 0 }, sha256: { type: 'string' } },
} as const;

const resourceMeta = {
  type: 'object',
  required: ['uuid', 'enabled', 'lastModification', 'signature', 'backupSignature'],
  properties: {
    uuid: { type: 'string', maxLength: 64 },
    enabled: { type: 'boolean' },
    lastModification: {
      type: 'object',
      required: ['actor', 'timestamp'],
      properties: { actor: { type: 'string', maxLength: 256 }, timestamp: { type: 'string', maxLength: 64 }, sourceRevision: revision },
    },
    signature: sha256,
    backupSignature: { anyOf: [sha256, { type: 'null' }] },
  },
} as const;

const journalEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['revision', 'op', 'collection', 'address', 'module', 'type', 'name', 'version', 'content', 'signature', 'deleted', 'meta', 'actor', 'timestamp'],
  properties: {
    revision: { ...revision, minimum: 1 },
    op: { enum: ['create', 'update', 'delete'] },
    // Only core is ever replicated; a local entry is refused by the schema already.
    collection: { const: 'core' },
    address: { type: 'string', minLength: 1, maxLength: 600 },
    module: name,
    type: name,
    name: { anyOf: [name, { type: 'null' }] },
    version: { enum: ['primary', 'backup'] },
    content: { anyOf: [{ type: 'object' }, { type: 'null' }] },
    signature: { anyOf: [sha256, { type: 'null' }] },
    deleted: { type: 'boolean' },
    meta: { anyOf: [resourceMeta, { type: 'null' }] },
    actor: { type: 'string', maxLength: 256 },
    timestamp: { type: 'string', maxLength: 64 },
    sourceRevision: revision,
  },
} as const;

/** JSON Schema of every sync message but the binary chunk (its header has its own, below). */
export const SYNC_MESSAGE_SCHEMA = schemaOf<Exclude<SyncMessage, SyncSnapshotChunk>>()({
  $id: 'gwd:protocol/sync-message',
  oneOf: [
    messageSchema('sync.request', { holder: { anyOf: [uuid, { type: 'null' }] }, revision, full: { type: 'boolean' } }),
    messageSchema('sync.begin', { op: revision, kind: { enum: ['full', 'incremental'] }, revision }),
    messageSchema('sync.entries', { from: revision, upTo: revision, latest: revision, entries: { type: 'array', maxItems: 10_000, items: journalEntry } }),
    messageSchema('sync.snapshotStream', { op: revision, id: snapshotId, revision }),
    messageSchema('sync.snapshotFiles', { id: snapshotId, files: { type: 'array', maxItems: 10_000, items: manifestEntry } }),
    messageSchema('sync.snapshotAbort', { id: snapshotId, reason: { type: 'string', maxLength: 4096 } }),
    messageSchema('sync.snapshotEnd', {
      id: snapshotId,
      totals: {
        type: 'object',
        additionalProperties: false,
        required: ['files', 'totalBytes', 'totalSha256'],
        properties: { files: { type: 'integer', minimum: 0 }, totalBytes: { type: 'integer', minimum: 0 }, totalSha256: sha256 },
      },
    }),
    messageSchema('sync.ack', { revision }),
    messageSchema('sync.snapshotReceived', { id: snapshotId, bytes: { type: 'integer', minimum: 0 } }),
  ],
});

/**
 * Headers of binary frames (the link checks the frame, the backup's machine where its bytes go).
 * Only the chunks of a snapshot travel this way, and they travel no other way.
 */
export const SYNC_BINARY_MESSAGE_SCHEMA = schemaOf<Omit<SyncSnapshotChunk, 'payload'>>()({
  $id: 'gwd:protocol/sync-binary-message',
  oneOf: [
    messageSchema('sync.snapshotChunk', {
      chunk: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'seq', 'file', 'offset'],
        properties: { id: snapshotId, seq: { type: 'integer', minimum: 0 }, file: { type: 'integer', minimum: 0 }, offset: { type: 'integer', minimum: 0 } },
      },
    }),
  ],
});

/** Names of the sync message types, from the schema's `oneOf`. */
export const SYNC_MESSAGE_TYPES: string[] = messageTypesOf(SYNC_MESSAGE_SCHEMA);
