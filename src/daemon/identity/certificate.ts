import { createHash, createPublicKey, randomBytes, sign, X509Certificate } from 'node:crypto';

import { normalizeFingerprint } from '../../core/fingerprint.js';
import * as der from './der.js';
import { generateRsaKeyPair, type KeyPair } from './key-pair.js';

export interface CertificateSubject {
  systemName: string;
  uuid: string;
}

export interface GeneratedIdentity {
  keyPem: string;
  certPem: string;
}

const VALIDITY_YEARS = 10;

const OID = {
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

/**
 * A fresh RSA-2048 key pair and a self-signed SHA-256 certificate. Node's crypto does the expensive
 * parts natively: key generation (on the thread pool, so the rest of the first start goes on) and
 * the signature. `keyPair`: one already under way (main.ts starts it before the modules load). The
 * node's UUID is in the subject so an operator approving a certificate can tell which node it
 * belongs to.
 */
export async function generateSelfSigned(
  subject: CertificateSubject,
  now: Date = new Date(),
  keyPair: Promise<KeyPair> = generateRsaKeyPair(),
): Promise<GeneratedIdentity> {
  const key = await keyPair;
  // Positive serial: the high bit of the first byte cleared.
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  return { keyPem: key.privateKey, certPem: selfSignedCertificate(key, subject, now, serial) };
}

/**
 * The certificate, as PEM: the same bytes node-forge laid out before (PrintableString names, forge's
 * order of fields and extensions, CRLF line ends), so certificates made before and after are alike.
 * One difference: the serial is always in DER's shortest form, where forge dropped one leading zero
 * octet only (a serial beginning 00 00 00-7f made a certificate node refused: 'illegal padding').
 */
export function selfSignedCertificate(key: KeyPair, subject: CertificateSubject, now: Date, serial: Buffer): string {
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime());
  notAfter.setUTCFullYear(now.getUTCFullYear() + VALIDITY_YEARS);
  const name = der.sequence(
    ...[
      [OID.commonName, subject.systemName.slice(0, 64) || 'gwd'],
      [OID.organizationName, 'gwd'],
      [OID.organizationalUnitName, subject.uuid],
    ].map(([type, value]) => der.set(der.sequence(der.oid(type!), der.printableString(value!)))),
  );
  const extension = (id: string, value: Buffer): Buffer => der.sequence(der.oid(id), der.octetString(value));
  // The key identifier (RFC 5280 4.2.1.2, method 1): SHA-1 of the RSAPublicKey, as forge made it.
  const rsaPublicKey = createPublicKey({ key: key.publicKeyDer, format: 'der', type: 'spki' }).export({ type: 'pkcs1', format: 'der' });
  const signatureAlgorithm = der.sequence(der.oid(OID.sha256WithRSAEncryption), der.nullValue());
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)), // v3
    der.unsignedInteger(serial),
    signatureAlgorithm,
    name, // issuer: self-signed
    der.sequence(der.time(notBefore), der.time(notAfter)),
    name,
    key.publicKeyDer,
    der.explicit(
      3,
      der.sequence(
        extension(OID.basicConstraints, der.sequence()), // cA FALSE: the default, left out
        extension(OID.keyUsage, der.bitStringUnused(5, Buffer.from([0xa0]))), // digitalSignature, keyEncipherment
        extension(OID.extKeyUsage, der.sequence(der.oid(OID.serverAuth), der.oid(OID.clientAuth))),
        extension(OID.subjectKeyIdentifier, der.octetString(createHash('sha1').update(rsaPublicKey).digest())),
      ),
    ),
  );
  const certificate = der.sequence(tbs, signatureAlgorithm, der.bitString(sign('sha256', tbs, key.privateKey)));
  const lines = certificate.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\r\n${lines.join('\r\n')}\r\n-----END CERTIFICATE-----\r\n`;
}

export interface CertificateInfo {
  fingerprint: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  /** CN: the system name this node had when its certificate was made (its first start). */
  commonName: string | null;
  /** OU: the UUID of the node that made it. */
  unit: string | null;
}

export function describeCertificate(pem: string): CertificateInfo {
  const x = new X509Certificate(pem);
  return {
    fingerprint: normalizeFingerprint(x.fingerprint256),
    subject: x.subject.replace(/\n/g, ', '),
    commonName: subjectField(x.subject, 'CN'),
    unit: subjectField(x.subject, 'OU'),
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: new Date(x.validTo).toISOString(),
  };
}

function subjectField(subject: string, name: string): string | null {
  return subject.split('\n').find((l) => l.startsWith(`${name}=`))?.slice(name.length + 1) ?? null;
}
