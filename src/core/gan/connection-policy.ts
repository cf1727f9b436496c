import type { SecurityPolicy } from '../settings/types.js';
import type { TrustState } from '../wire.js';

export type PolicyVerdict =
  | { kind: 'accept' }
  | { kind: 'not-approved'; storePending: boolean }
  | { kind: 'denied' }
  | { kind: 'not-whitelisted' };

/**
 * The connection policy check for an incoming peer (DESIGN.md section 3), separate from the
 * certificate check: both must pass. Under ApprovedOnly the approval is bound to the peer's UUID
 * (`approval` is the record for that UUID), so a backup renamed by a sync stays approved.
 */
export function decidePolicy(
  policy: SecurityPolicy,
  whitelist: readonly string[],
  systemName: string,
  approval: TrustState | null,
): PolicyVerdict {
  switch (policy) {
    case 'Unrestricted':
      return { kind: 'accept' };
    case 'SpecifiedList': {
      const wanted = systemName.toLowerCase();
      return whitelist.some((n) => n.trim().toLowerCase() === wanted) ? { kind: 'accept' } : { kind: 'not-whitelisted' };
    }
    case 'ApprovedOnly':
      if (approval === 'approved') return { kind: 'accept' };
      if (approval === 'denied') return { kind: 'denied' };
      return { kind: 'not-approved', storePending: approval === null };
  }
}

/** `<systemname>|<uuid>`, lower case: how an incoming connection is named in lists and commands. */
export function connectionId(systemName: string, uuid: string): string {
  return `${systemName}|${uuid}`.toLowerCase();
}
