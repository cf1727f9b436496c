import { generateKeyPair, randomBytes, sign, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';

import forge from 'node-forge';

import { normalizeFingerprint } from '../../core/fingerprint.js';

export interface CertificateSubject {
  systemName: string;
  uuid: string;
}

export interface GeneratedIdentity {
  keyPem: string;
  certPem: string;
}

const VALIDITY_YEARS = 10;

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * A fresh RSA-2048 key pair and a self-signed SHA-256 certificate. Node's crypto does the expensive
 * parts natively: key generation (on the thread pool, so the rest of the first start goes on) and
 * the signature; node-forge only lays out the certificate, which node has no API for. The node's
 * UUID is in the subject so an operator approving a certificate can tell which node it belongs to.
 */
export async function generateSelfSigned(subject: CertificateSubject, now: Date = new Date()): Promise<GeneratedIdentity> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  // Positive serial: the high bit of the first byte cleared.
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime());
  cert.validity.notAfter.setUTCFullYear(now.getUTCFullYear() + VALIDITY_YEARS);
  const attrs = [
    { name: 'commonName', value: subject.systemName.slice(0, 64) || 'gwd' },
    { name: 'organizationName', value: 'gwd' },
    { shortName: 'OU', value: subject.uuid },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  // What forge's cert.sign() does, with node's native RSA instead of forge's JavaScript one (~70 ms).
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  // getTBSCertificate is public in forge but missing from its type definitions.
  const tbs = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  (cert as unknown as { tbsCertificate: forge.asn1.Asn1 }).tbsCertificate = tbs;
  const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  cert.signature = sign('sha256', tbsDer, privateKey).toString('binary');
  return { keyPem: privateKey, certPem: forge.pki.certificateToPem(cert) };
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
