import { randomUUID } from 'node:crypto';

import type { ResourceAddress } from '../../core/config-address.js';
import type { Collection, JournalEntry, JournalOp, ResourceMeta, VersionName } from '../../core/config-model.js';
import { contentSignature } from './signature.js';

/** A journal entry before the store gives it its revision. */
export type Draft = Omit<JournalEntry, 'revision'>;

/** resource.json after a change by `actor`: the uuid and flags carry over, the change is applied. */
export function nextMeta(previous: ResourceMeta | undefined, actor: string, timestamp: string, change: Partial<ResourceMeta>): ResourceMeta {
  return {
    uuid: previous?.uuid ?? randomUUID(),
    enabled: previous?.enabled ?? true,
    lastModification: { actor, timestamp },
    signature: previous?.signature ?? '',
    backupSignature: previous?.backupSignature ?? null,
    ...change,
  };
}

export function draftEntry(
  addr: Pick<ResourceAddress, 'type' | 'name' | 'address'>,
  collection: Collection,
  version: VersionName,
  op: JournalOp,
  content: Record<string, unknown> | null,
  meta: ResourceMeta | null,
  actor: string,
  timestamp: string,
  /** The content's signature when the caller already computed it (a scan of thousands of resources). */
  signature: string | null = content ? contentSignature(content) : null,
): Draft {
  return {
    op,
    collection,
    address: addr.address,
    module: addr.type.module,
    type: addr.type.type,
    name: addr.name,
    version,
    content,
    signature,
    deleted: op === 'delete',
    meta,
    actor,
    timestamp,
  };
}
