import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage } from 'node:http';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { Collection, VersionQuery } from '../../src/core/config-model.js';
import type { ConfigExportDocument, ConfigExportEntry } from '../../src/core/config-wire.js';
import { GwClient } from '../../src/cli/client.js';
import { GwError } from '../../src/core/errors.js';
import { writeStreamed } from '../../src/daemon/api/streaming.js';
import { PLC1_BACKUP, PLC1_PRIMARY } from '../helpers/config-files.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { rawRequest } from '../helpers/raw-http.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const running: TestDaemon[] = [];
const cleanups: Array<() => void> = [];

afterEach(async (ctx) => {
  for (const d of running.splice(0)) {
    if (ctx.task.result?.state === 'fail') process.stderr.write(d.logs.join(''));
    await d.stop();
  }
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function start(dir?: string): Promise<TestDaemon> {
  const d = await startTestDaemon({}, dir);
  running.push(d);
  return d;
}

/**
 * plc1 with a Backup version, plc2 without, plc3 in core and overridden by a local one (that has a
 * Backup version of its own), plc4 only in local, and a Backup version of gateway-settings
 * (protected: stored, never applied).
 */
async function populated(): Promise<TestDaemon> {
  const d = await start();
  await d.client.configSet('opc-connection/plc1', PLC1_PRIMARY);
  await d.client.configBackupAdd('opc-connection/plc1', PLC1_BACKUP);
  await d.client.configSet('opc-connection/plc2', { endpointUrl: 'opc.tcp://10.0.1.6:4840' });
  await d.client.configSet('opc-connection/plc3', { endpointUrl: 'opc.tcp://10.0.1.7:4840' });
  await d.client.configBackupAdd('opc-connection/plc3', { endpointUrl: 'opc.tcp://10.0.2.7:4840' });
  await d.client.configSet('opc-connection/plc3', { endpointUrl: 'opc.tcp://127.0.0.7:4840' }, { collection: 'local' });
  await d.client.configSet('opc-connection/plc4', { endpointUrl: 'opc.tcp://127.0.0.8:4840' }, { collection: 'local' });
  await d.client.configBackupAdd('opc-connection/plc4', { endpointUrl: 'opc.tcp://127.0.1.8:4840' }, 'local');
  await d.client.configBackupAdd('gateway-settings', { systemName: 'never-applied' });
  return d;
}

function exportPath(query: Record<string, string> = {}): string {
  const q = new URLSearchParams(query).toString();
  return `/v0/config/export${q ? `?${q}` : ''}`;
}

function lines(text: string): ConfigExportEntry[] {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ConfigExportEntry);
}

async function exportNdjson(d: TestDaemon, query: Record<string, string> = {}): Promise<ConfigExportEntry[]> {
  const r = await rawRequest(d.socketPath, 'GET', exportPath(query));
  expect(r.status, r.text).toBe(200);
  expect(r.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
  return r.text === '' ? [] : lines(r.text);
}

/** What config get answers for each resource that has the version, as an export entry. */
async function viaGet(d: TestDaemon, version: VersionQuery, collection?: Collection): Promise<ConfigExportEntry[]> {
  const out: ConfigExportEntry[] = [];
  for (const row of (await d.client.configList()).resources) {
    let got;
    try {
      got = await d.client.configGet(row.resource, version, collection);
    } catch (err) {
      expect(err).toBeInstanceOf(GwError);
      expect((err as GwError).code).toBe('GW_ERR_CONFIG_NOT_FOUND');
      continue;
    }
    out.push({ resource: got.resource, type: got.type, name: got.name, collection: got.collection, version: got.version, content: got.content });
  }
  return out;
}

describe('GET /v0/config/export', () => {
  it('NDJSON by default: one line per resource, in config list order, each what config get answers (effective)', async () => {
    const d = await populated();
    const entries = await exportNdjson(d);
    expect(entries.map((e) => e.resource)).toEqual((await d.client.configList()).resources.map((r) => r.resource));
    expect(entries.map((e) => e.resource)).toEqual(['gateway-settings', 'opc-connection/plc1', 'opc-connection/plc2', 'opc-connection/plc3', 'opc-connection/plc4']);
    expect(entries).toEqual(await viaGet(d, 'effective'));
    // Independent: Primary everywhere, local over core.
    expect(entries.map((e) => [e.resource, e.collection, e.version])).toEqual([
      ['gateway-settings', 'core', 'primary'],
      ['opc-connection/plc1', 'core', 'primary'],
      ['opc-connection/plc2', 'core', 'primary'],
      ['opc-connection/plc3', 'local', 'primary'],
      ['opc-connection/plc4', 'local', 'primary'],
    ]);
    expect(entries[3]!.content.endpointUrl).toBe('opc.tcp://127.0.0.7:4840');
    expect(Object.keys(entries[1]!)).toEqual(['resource', 'type', 'name', 'collection', 'version', 'content']);
    expect(entries[1]).toMatchObject({ type: 'opc-connection', name: 'plc1' });
    expect(entries[0]).toMatchObject({ type: 'gateway-settings', name: null });
  });

  it('version=primary: every resource; version=backup: only those with a Backup version (protected types too)', async () => {
    const d = await populated();
    const primary = await exportNdjson(d, { version: 'primary' });
    expect(primary).toEqual(await viaGet(d, 'primary'));
    expect(primary).toHaveLength(5);
    expect(primary.every((e) => e.version === 'primary')).toBe(true);

    const backup = await exportNdjson(d, { version: 'backup' });
    expect(backup).toEqual(await viaGet(d, 'backup'));
    // plc2 has none; plc3's local resource (the one in effect here) has none either, as config get says.
    expect(backup.map((e) => [e.resource, e.collection, e.version])).toEqual([
      ['gateway-settings', 'core', 'backup'],
      ['opc-connection/plc1', 'core', 'backup'],
      ['opc-connection/plc4', 'local', 'backup'],
    ]);
    expect(backup[0]!.content.systemName).toBe('never-applied');
    expect(backup[1]!.content.endpointUrl).toBe(PLC1_BACKUP.endpointUrl);
  });

  it('collection=core|local: that collection only, as config get --collection', async () => {
    const d = await populated();
    for (const collection of ['core', 'local'] as const) {
      for (const version of ['effective', 'primary', 'backup'] as const) {
        expect(await exportNdjson(d, { version, collection }), `${version} ${collection}`).toEqual(await viaGet(d, version, collection));
      }
    }
    const coreBackups = await exportNdjson(d, { version: 'backup', collection: 'core' });
    expect(coreBackups.map((e) => e.resource)).toEqual(['gateway-settings', 'opc-connection/plc1', 'opc-connection/plc3']);
    expect((await exportNdjson(d, { collection: 'local' })).map((e) => e.resource)).toEqual(['opc-connection/plc3', 'opc-connection/plc4']);
  });

  it('on a node whose role is Backup, effective is the Backup version where there is one, never for a protected type', async () => {
    const d = await populated();
    await d.client.configureRedundancy({ role: 'Backup', master: { host: 'master.plant' } });
    const entries = await exportNdjson(d);
    expect(entries).toEqual(await viaGet(d, 'effective'));
    expect(entries.map((e) => [e.resource, e.collection, e.version])).toEqual([
      ['gateway-settings', 'core', 'primary'],
      ['opc-connection/plc1', 'core', 'backup'],
      ['opc-connection/plc2', 'core', 'primary'],
      ['opc-connection/plc3', 'local', 'primary'],
      ['opc-connection/plc4', 'local', 'backup'],
    ]);
    expect(entries[1]!.content.endpointUrl).toBe(PLC1_BACKUP.endpointUrl);
    const doc = JSON.parse((await rawRequest(d.socketPath, 'GET', exportPath({ format: 'json' }))).text) as ConfigExportDocument;
    expect(doc.role).toBe('Backup');
    expect(doc.resources).toEqual(entries);
  });

  it('format=json: one document {revision, role, requested, resources}, one resource a line', async () => {
    const d = await populated();
    for (const version of ['effective', 'primary', 'backup'] as const) {
      const r = await rawRequest(d.socketPath, 'GET', exportPath({ version, format: 'json' }));
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      const doc = r.json as ConfigExportDocument;
      const list = await d.client.configList();
      expect(Object.keys(doc)).toEqual(['revision', 'role', 'requested', 'resources']);
      expect(doc).toMatchObject({ revision: list.revision, role: 'Independent', requested: version });
      expect(doc.resources).toEqual(await exportNdjson(d, { version }));
      expect(r.text.split('\n')).toHaveLength(doc.resources.length + 3); // head, one a line, `]}`, and the final newline
    }
  });

  it('an empty selection is a valid empty answer in both forms', async () => {
    const d = await start();
    expect((await rawRequest(d.socketPath, 'GET', exportPath({ version: 'backup' }))).text).toBe('');
    const doc = (await rawRequest(d.socketPath, 'GET', exportPath({ version: 'backup', format: 'json' }))).json as ConfigExportDocument;
    expect(doc).toEqual({ revision: 1, role: 'Independent', requested: 'backup', resources: [] });
  });

  it('a bad version, collection or format is the coded 400 body naming the parameter and its choices', async () => {
    const d = await start();
    for (const [name, value, choices] of [
      ['version', 'x', 'primary, backup, effective'],
      ['version', 'Backup', 'primary, backup, effective'],
      ['collection', 'both', 'core, local'],
      ['format', 'yaml', 'ndjson, json'],
    ] as const) {
      const r = await rawRequest(d.socketPath, 'GET', exportPath({ [name]: value }));
      expect(r.status).toBe(400);
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(r.json).toEqual({
        statusCode: 400,
        code: 'GW_ERR_API_INVALID_QUERY',
        error: 'Bad Request',
        message: `query parameter ${name} is invalid: "${value}" is not one of ${choices}`,
      });
    }
    expect((await rawRequest(d.socketPath, 'POST', exportPath())).status).toBe(405);
  });

  it('the typed client hands the body over piece by piece; its refusal is the daemon coded error', async () => {
    const d = await populated();
    let text = '';
    await d.client.configExport({ version: 'backup' }, (piece) => {
      text += piece;
    });
    expect(lines(text)).toEqual(await exportNdjson(d, { version: 'backup' }));
    const err = await d.client.configExport({ version: 'x' as VersionQuery }, () => undefined).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(GwError);
    expect((err as GwError).code).toBe('GW_ERR_API_INVALID_QUERY');
  });
});

describe('GET /v0/config/export on a large store, read slowly or cut off', () => {
  const COUNT = 3000;
  /** ~450 bytes a line: 1.3 MB, far more than the socket buffers between a paused reader and gwd. */
  const PAD = 'x'.repeat(240);
  const temp = makeTempDir();
  let d: TestDaemon;

  // One node for the three (its startup scan of 3,000 resources takes seconds); the test that
  // changes the store comes last.
  beforeAll(async () => {
    const dir = path.join(temp.dir, 'config', 'resources', 'core', 'opcua', 'opc-connection');
    for (let i = 0; i < COUNT; i++) {
      const res = path.join(dir, `plc-${String(i).padStart(5, '0')}`);
      mkdirSync(res, { recursive: true });
      writeFileSync(path.join(res, 'config.json'), JSON.stringify({ endpointUrl: `opc.tcp://10.0.${i >> 8}.${i & 255}:4840`, username: `${PAD}${i}` }));
    }
    d = await startTestDaemon({ logLevel: 'info' }, temp.dir);
  }, 60_000);

  afterAll(async () => {
    await d?.stop();
    temp.cleanup();
  });

  /** A GET whose body is not read until the test says so. */
  function pausedGet(socketPath: string, p: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath, path: p, agent: false }, (res) => {
        res.pause();
        resolve(res);
      });
      req.on('error', reject);
      req.end();
    });
  }

  async function readRest(res: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    expect(res.complete).toBe(true);
    return Buffer.concat(chunks).toString('utf8');
  }

  it('every line arrives whole through a reader that pauses; the same bytes as a fast read', async () => {
    const fast = await rawRequest(d.socketPath, 'GET', exportPath());
    expect(fast.text.length).toBeGreaterThan(COUNT * 400);
    const res = await pausedGet(d.socketPath, exportPath());
    await new Promise((r) => setTimeout(r, 100));
    expect(await readRest(res)).toBe(fast.text);
    expect(lines(fast.text)).toHaveLength(COUNT + 1);
  });

  it('a reader that goes away mid-way does not hurt the daemon: the next export is whole', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await pausedGet(d.socketPath, exportPath());
      res.destroy();
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(await exportNdjson(d)).toHaveLength(COUNT + 1);
    expect(d.logs.join('')).not.toMatch(/unhandled error/);
  });

  it('is the store at the revision it started at, though changed while a slow reader reads it', async () => {
    const before = (await d.client.configList()).revision;
    const res = await pausedGet(d.socketPath, exportPath({ format: 'json' }));
    await new Promise((r) => setTimeout(r, 100)); // the daemon fills the socket and waits for it to drain
    const last = `opc-connection/plc-${String(COUNT - 1).padStart(5, '0')}`;
    await d.client.configSet(last, { endpointUrl: 'opc.tcp://10.9.9.9:4840' });
    await d.client.configSet('opc-connection/zz-new', { endpointUrl: 'opc.tcp://10.9.9.8:4840' });
    const doc = JSON.parse(await readRest(res)) as ConfigExportDocument;
    expect(doc.revision).toBe(before);
    expect(doc.resources).toHaveLength(COUNT + 1);
    expect(doc.resources.at(-1)).toMatchObject({ resource: last, content: { endpointUrl: 'opc.tcp://10.0.11.183:4840' } });
    // A new export has both changes.
    const now = await exportNdjson(d);
    expect(now).toHaveLength(COUNT + 2);
    expect(now.find((e) => e.resource === last)!.content.endpointUrl).toBe('opc.tcp://10.9.9.9:4840');
  });
});

describe('GwClient.configExport', () => {
  it('a character split between two chunks arrives whole', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const socketPath = path.join(temp.dir, 'split.sock');
    const line = Buffer.from('{"resource":"gateway-settings","content":{"description":"Wärme 温度 🌡"}}\n', 'utf8');
    const cut = line.indexOf(Buffer.from('🌡', 'utf8')) + 2; // inside the 4-byte character
    const srv = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8' });
      res.write(line.subarray(0, cut));
      setTimeout(() => res.end(line.subarray(cut)), 50);
    });
    await new Promise<void>((r) => srv.listen(socketPath, r));
    try {
      const pieces: string[] = [];
      await new GwClient(socketPath).configExport({}, (t) => void pieces.push(t));
      expect(pieces.length).toBeGreaterThan(1);
      expect(pieces.join('')).toBe(line.toString('utf8'));
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('an answer that breaks off before its end is an error, not a shorter export', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    const socketPath = path.join(temp.dir, 'cut.sock');
    const srv = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8' });
      res.write('{"resource":"gateway-settings","type":"gateway-settings","name":null,"collection":"core","version":"primary","content":{}}\n');
      setTimeout(() => res.destroy(), 50);
    });
    await new Promise<void>((r) => srv.listen(socketPath, r));
    try {
      const client = new GwClient(socketPath);
      let text = '';
      const err = await client.configExport({}, (t) => void (text += t)).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(GwError);
      expect((err as GwError).code).toBe('GW_ERR_CLI_DAEMON_UNREACHABLE');
      expect((err as GwError).message).toContain('the export broke off before its end');
      expect(text).toContain('gateway-settings'); // what came is handed over; the error says it is not all
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

describe('writeStreamed', () => {
  /** A server answering with `total` pieces through writeStreamed; counts the pieces it pulled. */
  async function server(total: number): Promise<{ url: string; pulled: () => number; result: Promise<boolean>; close: () => Promise<void> }> {
    const temp = makeTempDir();
    cleanups.push(temp.cleanup);
    let pulled = 0;
    let settle!: (v: boolean) => void;
    const result = new Promise<boolean>((r) => (settle = r));
    function* pieces(): Generator<string> {
      for (let i = 0; i < total; i++) {
        pulled++;
        yield `${String(i).padStart(8, '0')}${'.'.repeat(1015)}\n`; // 1 KiB a piece
      }
    }
    const srv = createServer((_req, res) => {
      res.writeHead(200);
      void writeStreamed(res, pieces()).then(settle);
    });
    const socketPath = path.join(temp.dir, 's.sock');
    await new Promise<void>((r) => srv.listen(socketPath, r));
    return {
      url: socketPath,
      pulled: () => pulled,
      result,
      close: () => new Promise<void>((r) => srv.close(() => r())),
    };
  }

  function get(socketPath: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath, path: '/', agent: false }, (res) => {
        res.pause();
        resolve(res);
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('pulls pieces only as fast as the reader reads: a paused reader holds it to its buffers', async () => {
    const total = 20_000; // 20 MB
    const s = await server(total);
    const res = await get(s.url);
    await new Promise((r) => setTimeout(r, 200));
    const whilePaused = s.pulled();
    expect(whilePaused).toBeGreaterThan(0);
    expect(whilePaused).toBeLessThan(total / 4);
    await new Promise((r) => setTimeout(r, 100));
    expect(s.pulled()).toBe(whilePaused);
    let bytes = 0;
    let lastLine = '';
    for await (const c of res) {
      bytes += (c as Buffer).length;
      lastLine = (c as Buffer).toString('utf8').trimEnd().split('\n').at(-1)!;
    }
    expect(res.complete).toBe(true);
    expect(bytes).toBe(total * 1024);
    expect(lastLine.slice(0, 8)).toBe(String(total - 1).padStart(8, '0'));
    expect(await s.result).toBe(true);
    await s.close();
  });

  it('stops pulling and resolves false when the reader goes away', async () => {
    const total = 20_000;
    const s = await server(total);
    const res = await get(s.url);
    await new Promise((r) => setTimeout(r, 100));
    res.destroy();
    expect(await s.result).toBe(false);
    const atEnd = s.pulled();
    expect(atEnd).toBeLessThan(total / 4);
    await new Promise((r) => setTimeout(r, 100));
    expect(s.pulled()).toBe(atEnd);
    await s.close();
  });
});
