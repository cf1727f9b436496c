import type { Collection, JournalOp, ResourceMeta, ResourceTypeInfo } from '../../core/config-model.js';
import type { ScanResult, ScannedResource } from './disk-scan.js';
import { draftEntry, nextMeta, type Draft } from './entry-draft.js';
import { contentSignature } from './signature.js';
import { indexKey, type IndexEntry } from './store-state.js';

export interface DiffOptions {
  actor: string;
  timestamp: string;
  /** Set on core changes when the disk was filled by a snapshot of the master at this revision. */
  sourceRevision?: number;
  /**
   * Adopting a snapshot: a resource.json that matches its files is the master's and is journaled as
   * it is (not rewritten with this node as the author), so the files stay byte-equal to the master's.
   */
  keepMeta?: boolean;
  /** The content signature of a scanned version (default: computed here). */
  sign?: (content: Record<string, unknown>) => string;
}

/**
 * The changes that turn what was last committed (`index`) into what is on disk (`scan`), in the
 * order they must be journaled. Resources with an invalid file are not in `scan.resources` and
 * produce nothing: what was loaded stays, nothing is journaled until the file is fixed. A type
 * this build does not know (a removed module) is never deleted on its behalf.
 */
export function diffDisk(
  scan: ScanResult,
  index: Readonly<Record<string, IndexEntry>>,
  types: ReadonlyMap<string, ResourceTypeInfo>,
  options: DiffOptions,
): Draft[] {
  const drafts: Draft[] = [];
  const seen = new Set<string>();
  for (const r of scan.resources) {
    const key = indexKey(r.collection, r.address);
    seen.add(key);
    drafts.push(...diffResource(r, index[key], options));
  }
  for (const key of Object.keys(index)) {
    if (seen.has(key) || scan.invalidKeys.has(key)) continue;
    const slash = key.indexOf('/');
    const collection = key.slice(0, slash) as Collection;
    const address = key.slice(slash + 1);
    const typeName = address.split('/')[0]!;
    const type = types.get(typeName);
    if (!type) continue;
    const name = type.singleton ? null : address.slice(typeName.length + 1);
    drafts.push(withSource(draftEntry({ type, name, address }, collection, 'primary', 'delete', null, null, options.actor, options.timestamp), options));
  }
  return drafts;
}

function diffResource(r: ScannedResource, known: IndexEntry | undefined, options: DiffOptions): Draft[] {
  const { actor, timestamp } = options;
  const sign = options.sign ?? contentSignature;
  const primarySig = sign(r.primary);
  const backupSig = r.backup ? sign(r.backup) : null;
  const enabled = r.meta?.enabled ?? true;
  const knownBackup = known?.backup ?? null;
  // resource.json that does not match its files (missing, or edited by hand) is rewritten through
  // a journaled change too, so the peer gets the same metadata.
  const primaryChanged =
    !known || known.primary !== primarySig || known.enabled !== enabled || r.meta === null || r.meta.signature !== primarySig;
  const backupChanged = knownBackup !== backupSig || (r.meta?.backupSignature ?? null) !== backupSig;
  const out: Draft[] = [];
  let meta: ResourceMeta | undefined = r.meta ? { ...r.meta, signature: known?.primary ?? '', backupSignature: knownBackup } : undefined;
  const adopted = options.keepMeta && r.meta && r.meta.signature === primarySig && r.meta.backupSignature === backupSig ? r.meta : null;
  if (adopted) {
    if (primaryChanged) out.push(withSource(draftEntry(r, r.collection, 'primary', known ? 'update' : 'create', r.primary, adopted, actor, timestamp, primarySig), options));
    if (backupChanged) {
      const op: JournalOp = backupSig === null ? 'delete' : knownBackup ? 'update' : 'create';
      out.push(withSource(draftEntry(r, r.collection, 'backup', op, r.backup, adopted, actor, timestamp, backupSig), options));
    }
    return out;
  }
  if (primaryChanged) {
    meta = { ...nextMeta(meta, actor, timestamp, { signature: primarySig }), enabled };
    out.push(withSource(draftEntry(r, r.collection, 'primary', known ? 'update' : 'create', r.primary, meta, actor, timestamp, primarySig), options));
  }
  if (backupChanged) {
    meta = nextMeta(meta, actor, timestamp, { backupSignature: backupSig });
    const op: JournalOp = backupSig === null ? 'delete' : knownBackup ? 'update' : 'create';
    out.push(withSource(draftEntry(r, r.collection, 'backup', op, r.backup, meta, actor, timestamp, backupSig), options));
  }
  return out;
}

function withSource(draft: Draft, options: DiffOptions): Draft {
  // The draft was just made for this diff: set in place (a copy of each of 20,000 drafts of a
  // snapshot's adoption was ~15 ms).
  if (options.sourceRevision !== undefined && draft.collection === 'core') draft.sourceRevision = options.sourceRevision;
  return draft;
}
