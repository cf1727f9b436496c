import { parseAddress } from '../../core/config-address.js';
import type { JournalEntry, ResourceTypeInfo } from '../../core/config-model.js';
import { GwError } from '../../core/errors.js';
import type { Draft } from './entry-draft.js';
import { contentSignature } from './signature.js';

/**
 * Check an entry from the master before it becomes a draft of this store (see draftOfReplayed). The
 * entry names files to write, so anything that does not look exactly like what this build writes
 * itself is refused.
 */
export function checkReplayed(entry: JournalEntry, types: ReadonlyMap<string, ResourceTypeInfo>): void {
  if (entry.collection !== 'core') {
    throw new GwError('GW_ERR_CONFIG_INVALID', { resource: entry.address, version: entry.version, detail: 'local resources are never synced' });
  }
  // The entry names files to write: its address must be one this build would accept from gwctl,
  // so a malformed or hostile entry can never point outside config/resources.
  const addr = parseAddress(entry.address, types);
  if (addr.type.type !== entry.type || addr.name !== entry.name || addr.type.module !== entry.module) {
    throw new GwError('GW_ERR_CONFIG_BAD_ADDRESS', {
      address: entry.address,
      detail: `type ${entry.type}, name ${String(entry.name)} and module ${entry.module} do not match it`,
    });
  }
  if (!entry.deleted && (!entry.content || !entry.meta || entry.signature !== contentSignature(entry.content))) {
    throw new GwError('GW_ERR_CONFIG_INVALID', {
      resource: entry.address,
      version: entry.version,
      detail: 'the signature does not match the content',
    });
  }
  if (entry.deleted && entry.version === 'backup' && !entry.meta) {
    throw new GwError('GW_ERR_CONFIG_INVALID', { resource: entry.address, version: entry.version, detail: 'a Backup version removal carries no resource.json' });
  }
}

/** An entry from the master as a draft of this store: its revision kept as `sourceRevision`. */
export function draftOfReplayed(entry: JournalEntry): Draft {
  const { revision: sourceRevision, ...draft } = entry;
  return { ...draft, sourceRevision };
}
