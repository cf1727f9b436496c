import type { Collection, JournalOp, ResourceMeta, ResourceTypeInfo } from '../../core/config-model.js';
import type { ScanResult, ScannedContent, ScannedResource } from './disk-scan.js';
import { draftEntry, nextMeta, type Draft } from './entry-draft.js';
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
}

/**
 * The scan visitor that diffs each resource against what was last committed (`index`) as it is
 * read, so only the changes keep their content (see scanStore's `visit`).
 */
export function diffVisitor(index: Readonly<Record<string, IndexEntry>>, options: DiffOptions): (r: ScannedResource, content: ScannedContent) => Draft[] {
  return (r, content) => diffResource(r, content, index[indexKey(r.collection, r.address)], options);
}

/**
 * The changes that turn what was last committed (`index`) into what is on disk (`scan`, made with
 * diffVisitor over the same index), in the order they must be journaled. Resources with an invalid
 * file are not in `scan.resources` and produce nothing: what was loaded stays, nothing is journaled
 * until the file is fixed. A type this build does not know (a removed module) is never deleted on
 * its behalf.
 */
export function diffDisk(
  scan: ScanResult<Draft>,
  index: Readonly<Record<string, IndexEntry>>,
  types: ReadonlyMap<string, ResourceTypeInfo>,
  options: DiffOptions,
): Draft[] {
  const drafts = [...scan.visited];
  const seen = new Set<string>();
  for (const r of scan.resources) seen.add(indexKey(r.collection, r.address));
  for (const d of removedDrafts(index, (key) => seen.has(key) || scan.invalidKeys.has(key), types, options)) drafts.push(d);
  return drafts;
}

/**
 * The deletes of diffDisk: a resource of `index` the scan did not find (`found`: valid or with an
 * invalid file) is gone from the disk. A type this build does not know is never deleted.
 */
export function removedDrafts(
  index: Readonly<Record<string, IndexEntry>>,
  found: (key: string) => boolean,
  types: ReadonlyMap<string, ResourceTypeInfo>,
  options: DiffOptions,
): Draft[] {
  const drafts: Draft[] = [];
  for (const key of Object.keys(index)) {
    if (found(key)) continue;
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

/**
 * The changes of one resource. A draft's content is the scanned content, null when the scan did not
 * hold it (a received snapshot: its files are on disk already and are not journaled).
 */
function diffResource(r: ScannedResource, content: ScannedContent, known: IndexEntry | undefined, options: DiffOptions): Draft[] {
  const { actor, timestamp } = options;
  const primarySig = r.primarySignature;
  const backupSig = r.backupSignature;
  const enabled = r.meta?.enabled ?? true;
  const knownBackup = known?.backup ?? null;
  // resource.json that does not match its files (missing, or edited by hand) is rewritten through
  // a journaled change too, so the peer gets the same metadata.
  const primaryChanged =
    !known || known.primary !== primarySig || known.enabled !== enabled || r.meta === null || r.meta.signature !== primarySig;
  const backupChanged = knownBackup !== backupSig || (r.meta?.backupSignature ?? null) !== backupSig;
  const out: Draft[] = [];
  const adopted = options.keepMeta && r.meta && r.meta.signature === primarySig && r.meta.backupSignature === backupSig ? r.meta : null;
  if (adopted) {
    if (primaryChanged) out.push(withSource(draftEntry(r, r.collection, 'primary', known ? 'update' : 'create', content.primary, adopted, actor, timestamp, primarySig), options));
    if (backupChanged) {
      const op: JournalOp = backupSig === null ? 'delete' : knownBackup ? 'update' : 'create';
      out.push(withSource(draftEntry(r, r.collection, 'backup', op, content.backup, adopted, actor, timestamp, backupSig), options));
    }
    return out;
  }
  // Made only here: an adopted snapshot's resources (100,000 of them) need no copy.
  let meta: ResourceMeta | undefined = r.meta ? { ...r.meta, signature: known?.primary ?? '', backupSignature: knownBackup } : undefined;
  if (primaryChanged) {
    meta = { ...nextMeta(meta, actor, timestamp, { signature: primarySig }), enabled };
    out.push(withSource(draftEntry(r, r.collection, 'primary', known ? 'update' : 'create', content.primary, meta, actor, timestamp, primarySig), options));
  }
  if (backupChanged) {
    meta = nextMeta(meta, actor, timestamp, { backupSignature: backupSig });
    const op: JournalOp = backupSig === null ? 'delete' : knownBackup ? 'update' : 'create';
    out.push(withSource(draftEntry(r, r.collection, 'backup', op, content.backup, meta, actor, timestamp, backupSig), options));
  }
  return out;
}

function withSource(draft: Draft, options: DiffOptions): Draft {
  // The draft was just made for this diff: set in place (a copy of each of 20,000 drafts of a
  // snapshot's adoption was ~15 ms).
  if (options.sourceRevision !== undefined && draft.collection === 'core') draft.sourceRevision = options.sourceRevision;
  return draft;
}
