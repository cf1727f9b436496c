import type { ConnectionStatus } from '../wire.js';

/** The status a connection shows after a refusal or failure with this code. */
export function statusForCode(code: string): ConnectionStatus {
  switch (code) {
    case 'GW_ERR_GAN_CERT_NOT_APPROVED':
    case 'GW_ERR_GAN_CERT_DENIED':
      return 'CertificateNotApproved';
    case 'GW_ERR_GAN_CONNECTION_NOT_APPROVED':
      return 'PendingApproval';
    case 'GW_ERR_GAN_INCOMPATIBLE_PROTOCOL':
    case 'GW_ERR_GAN_INCOMPATIBLE_EDITION':
    case 'GW_ERR_GAN_INCOMPATIBLE_ROLE':
    case 'GW_ERR_REDUNDANCY_WITNESS_MISMATCH':
      return 'Incompatible';
    default:
      return 'Faulted';
  }
}
