import { generateKeyPair } from 'node:crypto';
import { existsSync } from 'node:fs';

import { DataDir } from '../data-dir.js';

export interface KeyPair {
  /** PKCS#8 PEM, as pki/gwd.key holds it. */
  privateKey: string;
  /** SubjectPublicKeyInfo, DER: what the certificate carries. */
  publicKeyDer: Buffer;
}

/** A fresh RSA-2048 key pair, generated natively on the thread pool (the main thread goes on). */
export function generateRsaKeyPair(): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'der' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (err, publicKeyDer, privateKey) => (err ? reject(err) : resolve({ privateKey, publicKeyDer })),
    );
  });
}

/**
 * The key pair of a first start, begun before the daemon's modules load (main.ts): key generation
 * (the prime search, 60-400 ms) then runs on the thread pool while the main thread loads and
 * compiles the modules, instead of after them. Only when pki/gwd.key is missing, the case in which
 * loadOrCreateIdentity makes a key; if it turns out not to need one, the pair is dropped unused.
 */
export function pregenerateKeyPair(dataDirRoot: string): Promise<KeyPair> | undefined {
  if (existsSync(new DataDir(dataDirRoot).keyFile)) return undefined;
  const pending = generateRsaKeyPair();
  pending.catch(() => undefined); // awaited where it is used (a failure shows there), if it is used
  return pending;
}
