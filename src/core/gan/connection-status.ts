import { isErrorCode, type ErrorCode } from '../errors.js';
import type { ConnectionStatus } from '../wire.js';

/** The codes that give a connection a status of its own; any other failure is Faulted. */
const STATUS_OF: Partial<Record<ErrorCode, ConnectionStatus>> = {
  GW_ERR_GAN_CERT_NOT_APPROVED: 'CertificateNotApproved',
  GW_ERR_GAN_CERT_DENIED: 'CertificateNotApproved',
  GW_ERR_GAN_CONNECTION_NOT_APPROVED: 'PendingApproval',
  GW_ERR_GAN_INCOMPATIBLE_PROTOCOL: 'Incompatible',
  GW_ERR_GAN_INCOMPATIBLE_EDITION: 'Incompatible',
  GW_ERR_GAN_INCOMPATIBLE_ROLE: 'Incompatible',
  GW_ERR_REDUNDANCY_WITNESS_MISMATCH: 'Incompatible',
};

/**
 * The status a connection shows after a refusal or failure with this code. A string: the code may
 * be the peer's (its `refused` frame), which this build need not know.
 */
export function statusForCode(code: string): ConnectionStatus {
  return (isErrorCode(code) ? STATUS_OF[code] : undefined) ?? 'Faulted';
}
