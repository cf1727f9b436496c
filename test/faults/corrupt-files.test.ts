import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GwError } from '../../src/core/errors.js';
import { generateSelfSigned } from '../../src/daemon/identity/certificate.js';
import { resourcePath } from '../helpers/config-files.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { spawnGwd } from '../helpers/processes.js';
import { Prng } from '../helpers/prng.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// Corruptions of every settings and resource file; each case runs on a copy of one template data dir.
const HUGE_BYTES = 20 * 1024 * 1024;
const EXIT_CONFIG = 78;

type Corruption = 'truncated' | 'binary' | 'wrong-types' | 'huge';
const CORRUPTIONS: Corruption[] = ['truncated', 'binary', 'wrong-types', 'huge'];

/** Valid JSON of the wrong shape, and the field the refusal must name. */
const WRONG_TYPES: Record<string, { content: (orig: Record<string, unknown>) => unknown; field: string }> = {
  'node.json': { content: (o) => ({ ...o, uuid: 42 }), field: '/uuid' },
  'redundancy.json': { content: (o) => ({ ...o, failoverTimeout: 'soon' }), field: '/failoverTimeout' },
  'gateway-network.json': { content: (o) => ({ ...o, port: -1 }), field: '/port' },
  'connections.json': { content: (o) => ({ ...o, connections: { uuid: 'x' } }), field: '/connections' },
};

let template: { dir: string; cleanup: () => void };
const cleanups: Array<() => void> = [];
const rng = new Prng(9);

beforeAll(async () => {
  template = makeTempDir('gwd-tpl-');
  const t = await startTestDaemon({ logLevel: 'warn' }, template.dir);
  await t.client.configSet('opc-connection/plc1', { endpointUrl: 'opc.tcp://10.0.1.5:4840' });
  await t.client.configBackupAdd('opc-connection/plc1', { endpointUrl: 'opc.tcp://10.0.2.5:4840' });
  await t.client.configSet('opc-connection/plc2', { endpointUrl: 'opc.tcp://10.0.1.6:4840' });
  const peer = await generateSelfSigned({ systemName: 'peer', uuid: '11111111-2222-4333-8444-555555555555' });
  await t.client.trustCert('incoming', peer.certPem);
  await t.stop();
}, 60_000);

afterAll(() => {
  for (const c of cleanups) c();
  template.cleanup();
});

function copyTemplate(): string {
  const temp = makeTempDir('gwd-cor-');
  cleanups.push(temp.cleanup);
  cpSync(template.dir, temp.dir, { recursive: true });
  return temp.dir;
}

function corrupt(file: string, how: Corruption, wrongTypes?: (orig: Record<string, unknown>) => unknown): Buffer {
  const orig = readFileSync(file);
  let bytes: Buffer;
  switch (how) {
    case 'truncated':
      bytes = orig.subarray(0, Math.max(1, Math.floor(orig.length / 2)));
      break;
    case 'binary':
      bytes = rng.bytes(512);
      break;
    case 'wrong-types':
      bytes = Buffer.from(JSON.stringify(wrongTypes ? wrongTypes(JSON.parse(orig.toString('utf8')) as Record<string, unknown>) : { endpointUrl: 7, enabled: 'yes' }));
      break;
    case 'huge': {
      // Valid JSON, 20 MB: refused for its shape, never truncated or rewritten.
      const obj = JSON.parse(orig.toString('utf8')) as Record<string, unknown>;
      bytes = Buffer.from(JSON.stringify({ ...obj, padding: 'x'.repeat(HUGE_BYTES) }));
      break;
    }
  }
  writeFileSync(file, bytes);
  return bytes;
}

/** Every file of the data dir except var/ (logs and journal) and the socket, byte for byte. */
function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const rel = path.relative(dir, p);
      if (rel === 'var' || name.endsWith('.sock')) continue;
      if (statSync(p).isDirectory()) walk(p);
      else out.set(rel, readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

function expectSame(a: Map<string, Buffer>, b: Map<string, Buffer>, where: string): void {
  expect([...b.keys()], where).toEqual([...a.keys()]);
  for (const [k, v] of a) expect(b.get(k)!.equals(v), `${where}: ${k} changed`).toBe(true);
}

describe('corrupted settings files: the real gwd refuses to start (exit 78), names file and field, writes nothing', () => {
  for (const name of Object.keys(WRONG_TYPES)) {
    for (const how of CORRUPTIONS) {
      it(`${name}, ${how}`, async () => {
        const dir = copyTemplate();
        const file = path.join(dir, name);
        corrupt(file, how, WRONG_TYPES[name]!.content);
        const before = snapshot(dir);
        const proc = spawnGwd(dir, ['--port', '0', '--ssl-port', '0', '--bind', '127.0.0.1']);
        const timer = setTimeout(() => proc.child.kill('SIGKILL'), 20_000);
        const code = await proc.exited;
        clearTimeout(timer);
        const out = proc.output();
        expect(code, out.slice(-2000)).toBe(EXIT_CONFIG);
        expect(out).toContain(file);
        expect(out).toMatch(/\[GW_ERR_SETTINGS_INVALID\]/);
        if (how === 'wrong-types') expect(out).toContain(`invalid at ${WRONG_TYPES[name]!.field}`);
        expectSame(before, snapshot(dir), `${name} ${how}`);
      }, 30_000);
    }
  }
});

const RESOURCE_FILES = ['config.json', 'backupConfig.json', 'resource.json'];

async function expectReported(t: TestDaemon, file: string, where: string): Promise<void> {
  const check = await t.client.configCheck();
  expect(check.ok, where).toBe(false);
  expect(check.invalid.map((p) => p.path), where).toContain(file);
  const status = await t.client.status();
  expect(status.daemon.ready, where).toBe(true);
  expect(JSON.stringify(status), where).toContain(file);
  // The other resources are still served, and a write to the broken one is refused without touching it.
  expect((await t.client.configGet('opc-connection/plc2')).content).toMatchObject({ endpointUrl: 'opc.tcp://10.0.1.6:4840' });
  const err = await t.client.configSet('opc-connection/plc1', { endpointUrl: 'opc.tcp://10.9.9.9:4840' }).catch((e: unknown) => e);
  expect((err as GwError).code, where).toBe('GW_ERR_CONFIG_FILE_INVALID');
}

describe('corrupted resource files: the daemon runs, reports them in config check and status, leaves them untouched', () => {
  for (const name of RESOURCE_FILES) {
    for (const how of CORRUPTIONS) {
      it(`${name}, ${how}: at startup and at config rescan`, async () => {
        // At startup.
        const dir = copyTemplate();
        const file = resourcePath(dir, 'core', 'opcua', 'opc-connection', 'plc1', name);
        const original = readFileSync(file);
        corrupt(file, how);
        const before = snapshot(dir);
        const t = await startTestDaemon({ logLevel: 'warn' }, dir);
        try {
          const revision = t.daemon.config.revision;
          await expectReported(t, file, `${name} ${how} at startup`);
          expectSame(before, snapshot(dir), `${name} ${how} at startup`);
          // Repaired by hand: rescan loads it again, with no change to journal.
          writeFileSync(file, original);
          const fixed = await t.client.configRescan();
          expect(fixed.invalid).toEqual([]);
          expect(fixed.revision).toBe(revision);

          // At rescan.
          corrupt(file, how);
          const before2 = snapshot(dir);
          const rescan = await t.client.configRescan();
          expect(rescan.invalid.map((p) => p.path)).toContain(file);
          expect(rescan.changes).toEqual([]);
          await expectReported(t, file, `${name} ${how} at rescan`);
          expectSame(before2, snapshot(dir), `${name} ${how} at rescan`);
          expect(t.daemon.config.revision).toBe(revision);
        } finally {
          await t.stop();
        }
      }, 30_000);
    }
  }
});

describe('corrupted trust store entries: skipped with a warning naming the file, left untouched, never trusted', () => {
  for (const ext of ['pem', 'json']) {
    for (const how of CORRUPTIONS) {
      it(`approved incoming .${ext}, ${how}`, async () => {
        const dir = copyTemplate();
        const approvedDir = path.join(dir, 'pki', 'trust', 'incoming', 'approved');
        const entry = readdirSync(approvedDir).find((f) => f.endsWith(`.${ext}`))!;
        const file = path.join(approvedDir, entry);
        if (ext === 'pem' && (how === 'wrong-types' || how === 'huge')) {
          // A PEM of the wrong kind (a private key), or a 20 MB certificate block of junk.
          const body = how === 'huge' ? rng.bytes(HUGE_BYTES * 0.75).toString('base64').replace(/.{64}/g, '$&\n') : (await generateSelfSigned({ systemName: 'k', uuid: '11111111-2222-4333-8444-555555555556' })).keyPem;
          writeFileSync(file, how === 'huge' ? `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n` : body);
        } else {
          corrupt(file, how, (o) => ({ ...o, fingerprint: 12, peer: 'x' }));
        }
        const before = snapshot(dir);
        const t = await startTestDaemon({ logLevel: 'warn' }, dir);
        try {
          expect((await t.client.status()).daemon.ready).toBe(true);
          const approved = await t.client.certs({ state: 'approved', direction: 'incoming' });
          if (ext === 'pem') {
            // The certificate cannot be read: it is not trusted, and the operator is told which file.
            expect(approved).toEqual([]);
            expect(t.logs.join('')).toContain(file);
          } else {
            // Only the metadata is damaged: the certificate stays approved, by its own fingerprint.
            expect(approved.map((c) => `${entry.slice(0, -5)}`)).toEqual([entry.slice(0, -5)]);
            expect(approved[0]!.fingerprint).toBe(entry.slice(0, -5));
          }
          expectSame(before, snapshot(dir), `trust ${ext} ${how}`);
        } finally {
          await t.stop();
        }
      }, 30_000);
    }
  }
});
