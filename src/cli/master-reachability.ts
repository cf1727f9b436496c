import { formatHostPort } from '../core/gan/address.js';
import type { RedundancySettings, RedundancyUpdate } from '../core/settings/types.js';
import type { ConnectionEntry } from '../core/wire.js';

/** How long `redundancy configure` waits for a backup's first dial before it answers (bounded). */
const FIRST_DIAL_BUDGET_MS = 2000;
const EVERY_MS = 100;

/** Whether a change can have moved where (or how) a backup dials its master. */
export function changesMasterDial(update: RedundancyUpdate, settings: RedundancySettings): boolean {
  return settings.role === 'Backup' && (update.role !== undefined || update.master?.host !== undefined || update.master?.port !== undefined || update.master?.enableSsl !== undefined);
}

/**
 * After a backup's master changed: the first dial's failure to reach it, if it failed within the
 * budget (the wrong port or --ssl flag, a master not listening), so the operator reads it in the
 * configure answer rather than only in `gwctl connections list`. Null: it connected, is still trying,
 * or failed for another reason (trust, approval), which `gwctl connections list` tells.
 */
export async function firstDialFailure(
  connections: () => Promise<ConnectionEntry[]>,
  settings: RedundancySettings,
  since: number,
  budgetMs = FIRST_DIAL_BUDGET_MS,
): Promise<string | null> {
  const address = formatHostPort(settings.master.host, settings.master.port);
  const deadline = Date.now() + budgetMs;
  for (let i = 0; i < Math.ceil(budgetMs / EVERY_MS) && Date.now() < deadline; i++) {
    const entry = (await connections()).find((c) => c.direction === 'outgoing' && c.peer.address === address);
    if (entry?.status === 'Running') return null;
    const e = entry?.lastError;
    if (e && Date.parse(e.time) >= since) return e.code === 'GW_ERR_GAN_UNREACHABLE' ? e.message : null;
    await new Promise((r) => setTimeout(r, EVERY_MS));
  }
  return null;
}
