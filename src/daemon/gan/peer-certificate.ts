import { X509Certificate } from 'node:crypto';

import { GwError } from '../../core/errors.js';
import { normalizeFingerprint } from '../../core/fingerprint.js';

export interface PeerCertificate {
  fingerprint: string;
  pem: string;
  subject: string;
  notAfter: string;
  /** What the certificate claims: gwd puts the system name in CN and the node UUID in OU. */
  claimedUuid: string | null;
  claimedName: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Read a certificate given as PEM text or DER bytes (as a TLS socket hands it over). */
export function readPeerCertificate(input: string | Buffer): PeerCertificate {
  let x: X509Certificate;
  try {
    x = new X509Certificate(input);
  } catch (err) {
    throw new GwError('GW_ERR_GAN_CERT_INVALID', { detail: `not an X.509 certificate (${(err as Error).message})` });
  }
  const fields = new Map<string, string>();
  for (const line of x.subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const ou = fields.get('OU')?.toLowerCase() ?? null;
  return {
    fingerprint: normalizeFingerprint(x.fingerprint256),
    pem: x.toString(),
    subject: x.subject.replace(/\n/g, ', '),
    notAfter: new Date(x.validTo).toISOString(),
    claimedUuid: ou && UUID.test(ou) ? ou : null,
    claimedName: fields.get('CN') ?? null,
  };
}
