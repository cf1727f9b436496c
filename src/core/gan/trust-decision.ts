import type { ErrorSpec, ParamsOf } from '../errors.js';
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

/** What refusing a certificate means, the same for a listener and for a dialer. */
export type TrustRefusal = ErrorSpec<'GW_ERR_GAN_CERT_DENIED' | 'GW_ERR_GAN_CERT_NOT_APPROVED' | 'GW_ERR_GAN_CERT_CHANGED'> & {
  /** Store the certificate as pending (for an operator to approve), with this flag; null: do not. */
  pending: { flag: 'CertificateChanged' | null } | null;
};

/** What the messages of a refused certificate name (the denied one names the same). */
export type TrustParams = ParamsOf<'GW_ERR_GAN_CERT_NOT_APPROVED'>;

/** The refusal of a verdict (null when it accepts), with `params` for the error message. */
export function trustRefusal(verdict: TrustVerdict, params: TrustParams): TrustRefusal | null {
  switch (verdict.kind) {
    case 'accept':
      return null;
    case 'denied':
      return { code: 'GW_ERR_GAN_CERT_DENIED', params, pending: null };
    case 'not-approved':
      return { code: 'GW_ERR_GAN_CERT_NOT_APPROVED', params, pending: verdict.storePending ? { flag: null } : null };
    case 'changed':
      return {
        code: 'GW_ERR_GAN_CERT_CHANGED',
        params: { peer: params.peer, fingerprint: params.fingerprint, node: params.node, known: verdict.knownFingerprint },
        pending: verdict.storePending ? { flag: 'CertificateChanged' } : null,
      };
  }
}
