import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';

import { GwError } from '../../core/errors.js';
import { labelFromSystemName, labelProblem } from '../../core/node-label.js';
import type { Edition } from '../../core/wire.js';
import type { DataDir } from '../data-dir.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { loadSettingsFile } from '../settings/settings-file.js';
import { readOptional, writeFileAtomic } from '../storage/atomic-write.js';
import { describeCertificate, generateSelfSigned, type CertificateInfo } from './certificate.js';
import type { KeyPair } from './key-pair.js';

export interface NodeFile {
  version: 1;
  uuid: string;
  edition: Edition;
  createdAt: string;
  /** The local name of this machine (never synced); absent in files from before labels. */
  label?: string;
}

export interface Identity {
  node: NodeFile;
  keyPem: string;
  certPem: string;
  cert: CertificateInfo;
  /** The label in effect at start: node.json's, else the system name of the first start. */
  label: string;
  /** What this start created, for the startup log. */
  created: { node: boolean; certificate: boolean };
}

/**
 * Load this node's identity, creating what is missing: node.json (UUID, edition) and the key pair
 * with its self-signed certificate. An existing key is never replaced: a key whose certificate is
 * missing is reported, because peers have approved that certificate and would see a new one.
 */
export async function loadOrCreateIdentity(
  dataDir: DataDir,
  schemas: SchemaRegistry,
  /** `keyPair`: one main.ts began before the modules loaded (pregenerateKeyPair), used if a key is made. */
  opts: { edition: Edition; systemName: string; keyPair?: Promise<KeyPair> },
): Promise<Identity> {
  await fsp.mkdir(dataDir.pkiDir, { recursive: true, mode: 0o700 });
  const { value: node, created: nodeCreated } = await loadSettingsFile<NodeFile>(
    dataDir.nodeFile,
    'gwd:settings/node',
    schemas,
    () => ({
      version: 1,
      uuid: randomUUID(),
      edition: opts.edition,
      createdAt: new Date().toISOString(),
      label: labelFromSystemName(opts.systemName),
    }),
  );
  const problem = node.label === undefined ? null : labelProblem(node.label);
  if (problem) throw new GwError('GW_ERR_SETTINGS_INVALID', { file: dataDir.nodeFile, field: '/label', detail: problem });

  let keyPem = await readOptional(dataDir.keyFile);
  let certPem = await readOptional(dataDir.certFile);
  let certCreated = false;
  if (keyPem === undefined) {
    const generated = await generateSelfSigned({ systemName: opts.systemName, uuid: node.uuid }, new Date(), opts.keyPair);
    keyPem = generated.keyPem;
    certPem = generated.certPem;
    await writeFileAtomic(dataDir.keyFile, keyPem, { mode: 0o600 });
    await writeFileAtomic(dataDir.certFile, certPem, { mode: 0o644 });
    certCreated = true;
  } else if (certPem === undefined) {
    throw new GwError('GW_ERR_SETTINGS_UNREADABLE', {
      file: dataDir.certFile,
      detail: 'the private key exists but its certificate is missing; restore pki/gwd.crt from a backup, or remove pki/gwd.key to create a new identity certificate (peers must approve it again)',
    });
  } else {
    await tightenKeyMode(dataDir.keyFile);
  }

  let cert: CertificateInfo;
  try {
    cert = describeCertificate(certPem!);
  } catch (err) {
    throw new GwError('GW_ERR_SETTINGS_INVALID', {
      file: dataDir.certFile,
      field: '/',
      detail: `not a PEM certificate (${(err as Error).message})`,
    });
  }
  const label = node.label ?? defaultLabel(node, cert);
  return { node, keyPem, certPem: certPem!, cert, label, created: { node: nodeCreated, certificate: certCreated } };
}

/**
 * The label of a node.json written before labels existed: the system name of its first start, which
 * its own certificate's CN holds (the CN of a certificate it did not make says nothing of it), else
 * the host name.
 */
function defaultLabel(node: NodeFile, cert: CertificateInfo): string {
  const own = cert.unit === node.uuid && cert.commonName ? cert.commonName : null;
  return labelFromSystemName(own ?? hostname());
}

/** A key restored from a backup may come back world-readable; the key file is 0600, always. */
async function tightenKeyMode(file: string): Promise<void> {
  const st = await fsp.stat(file);
  if ((st.mode & 0o077) !== 0) await fsp.chmod(file, 0o600);
}
