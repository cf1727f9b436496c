import type { TrustState } from '../wire.js';

export interface TrustRecordLike {
  fingerprint: string;
  state: TrustState;
  peerUuid: string | null;
}

export type TrustVerdict =
  | { kind: 'accept' }
  | { kind: 'not-approved'; storePending: boolean }
  | { kind: 'denied' }
  | { kind: 'changed'; knownFingerprint: string; storePending: boolean };

/**
 * The certificate check of one direction's trust store (DESIGN.md section 3). Approved by
 * fingerprint passes; denied is refused for good; a certificate shown under a UUID that already has
 * another approved certificate is a changed certificate: refused and flagged, never re-trusted
 * silently; anything else is unknown and waits (pending) for an operator.
 */
export function decideTrust(
  records: readonly TrustRecordLike[],
  fingerprint: string,
  peerUuid: string | null,
): TrustVerdict {
  const own = records.find((r) => r.fingerprint === fingerprint);
  if (own?.state === 'denied') return { kind: 'denied' };
  if (own?.state === 'approved') return { kind: 'accept' };
  if (peerUuid) {
    const known = records.find((r) => r.state === 'approved' && r.peerUuid === peerUuid && r.fingerprint !== fingerprint);
    if (known) return { kind: 'changed', knownFingerprint: known.fingerprint, storePending: !own };
  }
  return { kind: 'not-approved', storePending: !own };
}
