/**
 * `gwctl config check` reads the store and the settings files from disk (DESIGN.md section 8): a
 * file broken by hand after the daemon's last scan is named with exit 1 before any rescan, and the
 * check changes nothing on disk nor in the daemon.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { ConfigCheckResponse, ConfigListResponse } from '../../src/core/config-wire.js';
import { dumpLogsOnFailure, startGwd, type CtlResult, type GwdProcess } from '../helpers/gwd-process.js';
import { resourcePath } from '../helpers/config-files.js';

/** Every regular file under the data directory with its bytes (the socket and the event log aside). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      const st = statSync(full);
      if (st.isDirectory()) walk(full);
      else if (st.isFile() && name !== 'events.ndjson') out[path.relative(dir, full)] = readFileSync(full, 'base64');
    }
  };
  walk(dir);
  return out;
}

describe('gwctl config check reads from disk', () => {
  let node: GwdProcess;
  let state: string | undefined;

  beforeAll(async () => {
    node = await startGwd({ systemName: 'plant-check' });
  });
  afterEach((ctx) => {
    state = ctx.task.result?.state;
    dumpLogsOnFailure(state, [node]);
  });
  afterAll(async () => {
    await node?.stop();
  });

  const expectCode = (r: CtlResult, code: number): void => {
    expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  };

  it('a healthy node passes: every settings file read, nothing a rescan would journal', async () => {
    const r = await node.ctl('config', 'check');
    expectCode(r, 0);
    expect(r.stdout).toContain('no invalid files');
    expect(r.stdout).toContain('# a rescan would journal nothing');
    const json = await node.json<ConfigCheckResponse>('config', 'check');
    expect(json).toMatchObject({ ok: true, invalid: [], changes: [] });
    expect(json.settings.map((s) => s.file)).toEqual([
      'node.json',
      'redundancy.json',
      'gateway-network.json',
      'connections.json',
      'pki/gwd.key',
      'pki/gwd.crt',
      'pki/trust',
    ]);
    expect(json.settings.filter((s) => s.state === 'invalid')).toEqual([]);
  });

  it('a config.json broken by hand after the last scan is named with exit 1 before any rescan; nothing on disk changes', async () => {
    const dir = resourcePath(node.dataDir, 'core', 'opcua', 'opc-connection', 'plc1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ endpointUrl: 'opc.tcp://10.0.1.5:4840' }));
    expectCode(await node.ctl('config', 'rescan'), 0);
    expectCode(await node.ctl('config', 'check'), 0);

    const file = path.join(dir, 'config.json');
    writeFileSync(file, '{"endpointUrl": "opc.tcp://10.0.1.5:4840", "securityMode": "Loud"}');
    const before = snapshot(node.dataDir);
    const r = await node.ctl('config', 'check');
    expectCode(r, 1);
    expect(r.stdout).toContain(file);
    expect(r.stdout).toContain('/securityMode');
    const json = await node.ctl('--json', 'config', 'check');
    expectCode(json, 1);
    const body = JSON.parse(json.stdout) as ConfigCheckResponse;
    expect(body.ok).toBe(false);
    expect(body.invalid).toEqual([
      expect.objectContaining({ path: file, collection: 'core', resource: 'opc-connection/plc1', problems: [expect.objectContaining({ pointer: '/securityMode' })] }),
    ]);
    expect(snapshot(node.dataDir)).toEqual(before);
    // The daemon's memory is untouched too: no scan happened, the resource is still the good one.
    const list = await node.json<ConfigListResponse>('config', 'list');
    expect(list.invalid).toEqual([]);
    expect(list.resources.find((x) => x.resource === 'opc-connection/plc1')?.invalid).toBe(false);

    writeFileSync(file, JSON.stringify({ endpointUrl: 'opc.tcp://10.0.1.6:4840' }));
    const fixed = await node.json<ConfigCheckResponse>('config', 'check');
    expect(fixed.ok).toBe(true);
    expect(fixed.changes).toEqual([{ op: 'update', collection: 'core', resource: 'opc-connection/plc1', version: 'primary' }]);
    // rescan keeps its behaviour: it journals what the check announced.
    const rescan = await node.ctl('config', 'rescan');
    expectCode(rescan, 0);
    expect(rescan.stdout).toMatch(/update\s+opc-connection\/plc1/);
    expect((await node.json<ConfigCheckResponse>('config', 'check')).changes).toEqual([]);
  });

  it('a broken redundancy.json (bad JSON, then a rule the schema cannot say) is named with exit 1; nothing changes', async () => {
    const file = path.join(node.dataDir, 'redundancy.json');
    const good = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, '{"role": "Master",');
      const before = snapshot(node.dataDir);
      const r = await node.ctl('config', 'check');
      expectCode(r, 1);
      expect(r.stdout).toContain(file);
      expect(r.stdout).toContain('is not valid JSON');
      expect(snapshot(node.dataDir)).toEqual(before);

      writeFileSync(file, JSON.stringify({ ...JSON.parse(good), failoverTimeout: 500 }));
      const body = JSON.parse((await node.ctl('--json', 'config', 'check')).stdout) as ConfigCheckResponse;
      expect(body.ok).toBe(false);
      expect(body.invalid).toEqual([{ path: file, collection: null, resource: null, problems: [expect.objectContaining({ pointer: '/failoverTimeout' })] }]);
      expect(body.settings.find((s) => s.file === 'redundancy.json')?.state).toBe('invalid');
    } finally {
      writeFileSync(file, good);
    }
    expectCode(await node.ctl('config', 'check'), 0);
  });

  it('a node.json whose label the next start would refuse (the schema allows it) is named at /label with exit 1', async () => {
    const file = path.join(node.dataDir, 'node.json');
    const good = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, JSON.stringify({ ...JSON.parse(good), label: ' padded ' }));
      const body = JSON.parse((await node.ctl('--json', 'config', 'check')).stdout) as ConfigCheckResponse;
      expect(body.ok).toBe(false);
      expect(body.invalid).toEqual([{ path: file, collection: null, resource: null, problems: [{ pointer: '/label', message: 'a label neither starts nor ends with a space' }] }]);
      expect(body.settings.find((s) => s.file === 'node.json')?.state).toBe('invalid');
    } finally {
      writeFileSync(file, good);
    }
    expectCode(await node.ctl('config', 'check'), 0);
  });

  it('trust store files gwd would skip or misread, and gateway-network.json with an unknown field, are named', async () => {
    const pem = path.join(node.dataDir, 'pki', 'trust', 'incoming', 'pending', `${'ab'.repeat(32)}.pem`);
    const net = path.join(node.dataDir, 'gateway-network.json');
    const good = readFileSync(net, 'utf8');
    // A certificate pre-approved the usual way, whose metadata is then edited to name another one.
    const cert = await node.json<{ fingerprint: string; path: string }>('node', 'cert');
    expectCode(await node.ctl('certs', 'trust', '--direction', 'outgoing', '--file', cert.path), 0);
    const meta = path.join(node.dataDir, 'pki', 'trust', 'outgoing', 'approved', `${cert.fingerprint}.json`);
    writeFileSync(meta, JSON.stringify({ ...JSON.parse(readFileSync(meta, 'utf8')), fingerprint: 'cd'.repeat(32) }));
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
    writeFileSync(net, JSON.stringify({ ...JSON.parse(good), sslPrt: 8061 }));
    try {
      const r = await node.ctl('--json', 'config', 'check');
      expectCode(r, 1);
      const body = JSON.parse(r.stdout) as ConfigCheckResponse;
      expect(body.invalid.map((p) => [p.path, p.problems[0]!.pointer])).toEqual([
        [net, '/sslPrt'],
        [pem, ''],
        [meta, '/fingerprint'],
      ]);
    } finally {
      writeFileSync(net, good);
      rmSync(pem);
      expectCode(await node.ctl('certs', 'remove', cert.fingerprint), 0);
    }
    expectCode(await node.ctl('config', 'check'), 0);
  });
});
