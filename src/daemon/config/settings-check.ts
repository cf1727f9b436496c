import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import type { ConfigFileProblem, SettingsFileCheck } from '../../core/config-wire.js';
import { normalizeFingerprint } from '../../core/fingerprint.js';
import { labelProblem } from '../../core/node-label.js';
import type { FieldProblem } from '../../core/schema-errors.js';
import { checkRedundancySettings } from '../../core/settings/redundancy-rules.js';
import type { RedundancySettings } from '../../core/settings/types.js';
import type { DataDir } from '../data-dir.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { describeFsError, readIfExists } from '../storage/atomic-write.js';

export interface SettingsCheck {
  settings: SettingsFileCheck[];
  problems: ConfigFileProblem[];
}

const TRUST_DIRECTIONS = ['incoming', 'outgoing'] as const;
const TRUST_STATES = ['pending', 'approved', 'denied'] as const;

/**
 * Read the node's settings files from disk as the next start would, and change nothing: each is
 * parsed and validated (against its schema, and redundancy.json against the rules of section 4 as
 * well), and every problem is named by path and JSON pointer. A missing settings file is not a
 * problem (the next start creates it with defaults), except a certificate whose key is there.
 * Trust store files the daemon would skip with a warning (a PEM that is no certificate, metadata
 * that does not validate or names another certificate) are problems here: they would vanish from
 * `certs list` without a word.
 */
export async function checkSettingsFiles(dataDir: DataDir, schemas: SchemaRegistry): Promise<SettingsCheck> {
  const out: SettingsCheck = { settings: [], problems: [] };
  const note = (file: string, full: string, problems: FieldProblem[] | null): void => {
    const state = problems === null ? 'missing' : problems.length > 0 ? 'invalid' : 'ok';
    out.settings.push({ file, path: full, state });
    if (problems && problems.length > 0) out.problems.push(settingsProblem(full, problems));
  };

  // The label's rule beyond the schema is the one a start applies (identity.ts): a label the
  // start would refuse must not pass the check.
  note('node.json', dataDir.nodeFile, await checkJsonFile(dataDir.nodeFile, 'gwd:settings/node', schemas, (v) => {
    const label = (v as { label?: string }).label;
    const problem = label === undefined ? null : labelProblem(label);
    return problem ? [{ pointer: '/label', message: problem }] : [];
  }));
  note(
    'redundancy.json',
    dataDir.redundancyFile,
    await checkJsonFile(dataDir.redundancyFile, 'gwd:settings/redundancy', schemas, (v) => checkRedundancySettings(v as RedundancySettings)),
  );
  note('gateway-network.json', dataDir.gatewayNetworkFile, await checkJsonFile(dataDir.gatewayNetworkFile, 'gwd:settings/gateway-network', schemas));
  note('connections.json', dataDir.connectionsFile, await checkJsonFile(dataDir.connectionsFile, 'gwd:settings/connections', schemas));

  const key = await readText(dataDir.keyFile);
  const cert = await readText(dataDir.certFile);
  note('pki/gwd.key', dataDir.keyFile, key.text === undefined ? key.problems : key.problems ?? pemProblems(() => createPrivateKey(key.text!), 'a PEM private key'));
  if (cert.text === undefined && cert.problems === null && key.text !== undefined) {
    note('pki/gwd.crt', dataDir.certFile, [{ pointer: '', message: 'is missing while pki/gwd.key exists: gwd will not start; restore it from a backup' }]);
  } else {
    note('pki/gwd.crt', dataDir.certFile, cert.text === undefined ? cert.problems : cert.problems ?? pemProblems(() => new X509Certificate(cert.text!), 'a PEM certificate'));
  }

  const trustRoot = path.join(dataDir.pkiDir, 'trust');
  const trustProblems = await checkTrustStore(trustRoot, schemas);
  out.settings.push({ file: 'pki/trust', path: trustRoot, state: trustProblems.length > 0 ? 'invalid' : 'ok' });
  out.problems.push(...trustProblems);
  return out;
}

/** null: no such file; [] valid; else its problems. `rules`: checks beyond the schema, on a valid value. */
async function checkJsonFile(
  file: string,
  schemaId: string,
  schemas: SchemaRegistry,
  rules?: (value: unknown) => FieldProblem[],
): Promise<FieldProblem[] | null> {
  const { text, problems } = await readText(file);
  if (text === undefined) return problems;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return [{ pointer: '', message: `is not valid JSON (${(err as Error).message})` }];
  }
  // validate() fills defaults in, as a start would, so the rules see what the daemon would apply.
  const result = schemas.validate(schemaId, parsed);
  if (!result.ok) return result.problems;
  return rules ? rules(result.value) : [];
}

async function readText(file: string): Promise<{ text: string | undefined; problems: FieldProblem[] | null }> {
  try {
    return { text: await readIfExists(file), problems: null };
  } catch (err) {
    return { text: undefined, problems: [{ pointer: '', message: `could not be read (${describeFsError(err)})` }] };
  }
}

function pemProblems(parse: () => unknown, what: string): FieldProblem[] {
  try {
    parse();
    return [];
  } catch (err) {
    return [{ pointer: '', message: `is not ${what} (${(err as Error).message})` }];
  }
}

async function checkTrustStore(root: string, schemas: SchemaRegistry): Promise<ConfigFileProblem[]> {
  const problems: ConfigFileProblem[] = [];
  for (const direction of TRUST_DIRECTIONS) {
    for (const state of TRUST_STATES) {
      const dir = path.join(root, direction, state);
      let entries: Dirent[];
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch {
        continue; // created at the next start
      }
      const names = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
      for (const name of [...names].sort()) {
        if (!name.endsWith('.pem')) continue;
        const pemFile = path.join(dir, name);
        const pem = await readText(pemFile);
        if (pem.text === undefined) {
          if (pem.problems) problems.push(settingsProblem(pemFile, pem.problems));
          continue;
        }
        let fingerprint: string;
        try {
          fingerprint = normalizeFingerprint(new X509Certificate(pem.text).fingerprint256);
        } catch (err) {
          problems.push(settingsProblem(pemFile, [{ pointer: '', message: `is not an X.509 certificate (${(err as Error).message}); gwd skips it` }]));
          continue;
        }
        const metaName = `${name.slice(0, -4)}.json`;
        if (!names.has(metaName)) continue; // a PEM dropped in by hand has no metadata: that is fine
        const metaFile = path.join(dir, metaName);
        const meta = await checkJsonFile(metaFile, 'gwd:settings/trust-entry', schemas, (v) => {
          const fp = (v as { fingerprint: string }).fingerprint;
          return fp === fingerprint ? [] : [{ pointer: '/fingerprint', message: `is ${fp}, but ${name} is the certificate ${fingerprint}` }];
        });
        if (meta && meta.length > 0) problems.push(settingsProblem(metaFile, meta));
      }
    }
  }
  return problems;
}

function settingsProblem(file: string, problems: FieldProblem[]): ConfigFileProblem {
  return { path: file, collection: null, resource: null, problems };
}
