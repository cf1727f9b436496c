import type { SyncKind, SyncRequest } from './messages.js';

/** What the master knows when a backup asks: its own identity, revision and journal. */
export interface MasterFacts {
  nodeId: string;
  /** The master store's revision. */
  revision: number;
  /** The oldest revision its journal still holds, or null when it holds none. */
  journalFirst: number | null;
}

/**
 * The master's answer to a sync.request (DESIGN.md section 6): a catch-up from the journal when the
 * backup holds this master's configuration and the journal still reaches back to the backup's
 * revision; a full snapshot otherwise (asked for, another holder, a backup ahead of the master, or
 * behind the journal's tail).
 */
export function offerFor(request: Pick<SyncRequest, 'holder' | 'revision' | 'full'>, master: MasterFacts): SyncKind {
  if (request.full || request.holder !== master.nodeId || request.revision > master.revision) return 'full';
  const resumable = request.revision >= master.revision || (master.journalFirst !== null && master.journalFirst <= request.revision + 1);
  return resumable ? 'incremental' : 'full';
}
