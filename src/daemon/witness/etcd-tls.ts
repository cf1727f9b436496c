/**
 * TLS material for the etcd witness: the CA that signed etcd's server certificate, and this node's
 * client certificate and key (for etcd started with --client-cert-auth). The settings give paths to
 * PEM files; this reads and checks them before any connection is made, so a missing, unreadable or
 * garbled file is reported as GW_ERR_WITNESS_TLS naming the file and the reason, not as an opaque
 * handshake failure on every endpoint.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';

import { GwError } from '../../core/errors.js';

/** Paths to PEM files. */
export interface WitnessTlsPaths {
  ca: string;
  cert: string;
  key: string;
}

/** The PEM text, checked: the CA and the certificate parse, the key parses and matches the certificate. */
export interface WitnessTlsMaterial {
  ca: string;
  cert: string;
  key: string;
}

type What = 'ca' | 'cert' | 'key';

function tlsError(what: What, file: string, detail: string): GwError {
  return new GwError('GW_ERR_WITNESS_TLS', { what, file, detail }, { what, file });
}

async function readPem(what: What, file: string): Promise<string> {
  if (typeof file !== 'string' || file === '') throw tlsError(what, String(file), 'no path given');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a directory' : e.message;
    throw tlsError(what, file, why);
  }
  if (!text.includes('-----BEGIN ')) throw tlsError(what, file, 'not a PEM file (no -----BEGIN line)');
  return text;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}

/** Read and check the three files; throws GW_ERR_WITNESS_TLS naming the file at fault. */
export async function loadWitnessTls(paths: WitnessTlsPaths): Promise<WitnessTlsMaterial> {
  const [ca, cert, key] = await Promise.all([readPem('ca', paths.ca), readPem('cert', paths.cert), readPem('key', paths.key)]);
  try {
    new X509Certificate(ca);
  } catch (err) {
    throw tlsError('ca', paths.ca, `not a certificate (${firstLine(err)})`);
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (err) {
    throw tlsError('cert', paths.cert, `not a certificate (${firstLine(err)})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw tlsError('key', paths.key, `not a private key, or an encrypted one (${firstLine(err)})`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw tlsError('key', paths.key, `it is not the key of the certificate in ${paths.cert}`);
  }
  try {
    createSecureContext({ ca, cert, key });
  } catch (err) {
    throw tlsError('cert', paths.cert, firstLine(err));
  }
  return { ca, cert, key };
}
