import type { CertEntry, ConnectionEntry, TrustDirection, TrustState } from '../../core/wire.js';
import type { GatewayNetwork } from '../gan/gateway-network.js';

type Decision = Extract<TrustState, 'approved' | 'denied'>;

/**
 * Who may join the pair, over the local API: the trusted certificates (pki/trust) and the approvals
 * of incoming connections. `id` is a fingerprint, connection id or uuid, or an unambiguous prefix.
 */
export interface TrustService {
  listCertificates(filter: { state?: TrustState; direction?: TrustDirection }): CertEntry[];
  trustCertificate(direction: TrustDirection, pem: string): Promise<CertEntry>;
  decideCertificate(id: string, state: Decision, direction?: TrustDirection): Promise<CertEntry[]>;
  removeCertificate(id: string, direction?: TrustDirection): Promise<CertEntry[]>;
  listConnections(): ConnectionEntry[];
  decideConnection(id: string, state: Decision): Promise<ConnectionEntry>;
}

/** The Gateway Network holds both stores: the service is its trust half, nothing more. */
export function ganTrustService(gan: GatewayNetwork): TrustService {
  return {
    listCertificates: (filter) => gan.listCertificates(filter),
    trustCertificate: (direction, pem) => gan.trustCertificate(direction, pem),
    decideCertificate: (id, state, direction) => gan.decideCertificate(id, state, direction),
    removeCertificate: (id, direction) => gan.removeCertificate(id, direction),
    listConnections: () => gan.listConnections(),
    decideConnection: (id, state) => gan.decideConnection(id, state),
  };
}
