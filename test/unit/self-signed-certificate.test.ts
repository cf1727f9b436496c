import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DataDir } from '../../src/daemon/data-dir.js';
import { generateSelfSigned, selfSignedCertificate } from '../../src/daemon/identity/certificate.js';
import { loadOrCreateIdentity } from '../../src/daemon/identity/identity.js';
import { generateRsaKeyPair, pregenerateKeyPair, type KeyPair } from '../../src/daemon/identity/key-pair.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';

const UUID = '3f2b6c1e-8f0a-4d5e-9c1b-2a3b4c5d6e7f';

describe('the self-signed identity certificate', () => {
  let key: KeyPair;
  const dirs: string[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gwd-cert-'));
    dirs.push(dir);
    return dir;
  };
  beforeAll(async () => {
    key = await generateRsaKeyPair();
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('names the node, lasts ten years, is signed by its own key and carries the TLS extensions openssl reads', async () => {
    const now = new Date('2026-12-04T10:20:30.456Z');
    const { keyPem, certPem } = await generateSelfSigned({ systemName: 'Plant A', uuid: UUID }, now, Promise.resolve(key));
    expect(keyPem).toBe(key.privateKey);
    expect(certPem).toMatch(/^-----BEGIN CERTIFICATE-----\r\n([A-Za-z0-9+/=]{64}\r\n)*[A-Za-z0-9+/=]{1,64}\r\n-----END CERTIFICATE-----\r\n$/);

    const x = new X509Certificate(certPem);
    expect(x.subject).toBe(`CN=Plant A\nO=gwd\nOU=${UUID}`);
    expect(x.issuer).toBe(x.subject);
    expect(new Date(x.validFrom).toISOString()).toBe('2026-12-04T10:19:30.000Z');
    expect(new Date(x.validTo).toISOString()).toBe('2036-12-04T10:20:30.000Z');
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(x.ca).toBe(false);
    expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);

    const dir = tempDir();
    writeFileSync(path.join(dir, 'c.pem'), certPem);
    const text = execFileSync('openssl', ['x509', '-in', path.join(dir, 'c.pem'), '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toContain('Version: 3 (0x2)');
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(text).toContain('Public-Key: (2048 bit)');
    expect(text).toMatch(/X509v3 Basic Constraints: *\n *CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: *\n *Digital Signature, Key Encipherment/);
    expect(text).toMatch(/X509v3 Extended Key Usage: *\n *TLS Web Server Authentication, TLS Web Client Authentication/);
    // The key identifier: SHA-1 of the RSAPublicKey (RFC 5280 4.2.1.2, method 1).
    const ski = createHash('sha1').update(createPublicKey(keyPem).export({ type: 'pkcs1', format: 'der' })).digest('hex');
    const shown = /X509v3 Subject Key Identifier: *\n *([0-9A-F:]+)/.exec(text)?.[1]?.replace(/:/g, '').toLowerCase();
    expect(shown).toBe(ski);
  });

  it('writes any random serial in the shortest form, so a serial starting with zero octets still parses', () => {
    const now = new Date('2026-12-04T10:20:30Z');
    for (const [hex, der] of [
      ['0000007f' + '11'.repeat(12), '7f' + '11'.repeat(12)],
      ['00000080' + '11'.repeat(12), '0080' + '11'.repeat(12)],
      ['7f' + 'ab'.repeat(15), '7f' + 'ab'.repeat(15)],
    ] as const) {
      const x = new X509Certificate(selfSignedCertificate(key, { systemName: 'x', uuid: UUID }, now, Buffer.from(hex, 'hex')));
      // Certificate and TBSCertificate headers (4 octets each), the version [0] (5), then the serial.
      const serial = x.raw.subarray(13, 13 + 2 + der.length / 2).toString('hex');
      expect(serial).toBe(`02${(der.length / 2).toString(16).padStart(2, '0')}${der}`);
      expect(BigInt(`0x${x.serialNumber}`)).toBe(BigInt(`0x${hex}`));
    }
  });

  it('falls back to gwd for an empty system name and keeps at most 64 characters of a long one', () => {
    const now = new Date('2026-12-04T10:20:30Z');
    const serial = Buffer.from('01', 'hex');
    expect(new X509Certificate(selfSignedCertificate(key, { systemName: '', uuid: UUID }, now, serial)).subject).toContain('CN=gwd\n');
    const long = new X509Certificate(selfSignedCertificate(key, { systemName: 'n'.repeat(100), uuid: UUID }, now, serial));
    expect(long.subject).toContain(`CN=${'n'.repeat(64)}\n`);
  });

  it('a first start uses the key begun before it; a node that has a key keeps it and begins none', async () => {
    const root = tempDir();
    const dataDir = new DataDir(root);
    const schemas = new SchemaRegistry();
    const pending = pregenerateKeyPair(root);
    expect(pending).toBeDefined();
    const first = await loadOrCreateIdentity(dataDir, schemas, { edition: 'standard', systemName: 'plant-a', keyPair: pending });
    expect(first.created).toEqual({ node: true, certificate: true });
    expect(first.keyPem).toBe((await pending!).privateKey);
    expect(readFileSync(dataDir.keyFile, 'utf8')).toBe(first.keyPem);

    expect(pregenerateKeyPair(root)).toBeUndefined();
    const again = await loadOrCreateIdentity(dataDir, schemas, { edition: 'standard', systemName: 'plant-a', keyPair: Promise.resolve(key) });
    expect(again.created).toEqual({ node: false, certificate: false });
    expect(again.keyPem).toBe(first.keyPem);
    expect(again.cert.fingerprint).toBe(first.cert.fingerprint);
  });
});
