/**
 * The node label on one daemon (issue 19): set from --system-name on first start, changed by
 * PUT /v0/node (checked, written to node.json atomically, announced once), kept across restarts, a
 * node.json from before labels showing the system name of its first start, a bad label refused by
 * code with nothing written, and the label in the metrics.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { EventRecord, NodeInfo } from '../../src/core/wire.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { rawRequest } from '../helpers/raw-http.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const temp = makeTempDir('gwd-label-');
let running: TestDaemon | null = null;
afterAll(async () => {
  await running?.stop();
  temp.cleanup();
});

const nodeFile = (): Record<string, unknown> => JSON.parse(readFileSync(path.join(temp.dir, 'node.json'), 'utf8')) as Record<string, unknown>;

async function start(systemName: string): Promise<TestDaemon> {
  running = await startTestDaemon({ systemName }, temp.dir);
  return running;
}

async function stop(): Promise<void> {
  await running?.stop();
  running = null;
}

interface Answer {
  code?: string;
  label?: string;
  details?: { problems?: { pointer: string; message: string }[] };
}

async function put(t: TestDaemon, body: string): Promise<{ status: number; json: Answer }> {
  const r = await rawRequest(t.socketPath, 'PUT', '/v0/node', { headers: { 'content-type': 'application/json' }, body });
  return { status: r.status, json: r.json as Answer };
}

function labelEvents(t: TestDaemon): EventRecord[] {
  return t.daemon.events.since(0, 1000).filter((e) => e.type === 'node.settings.changed');
}

describe('node label', () => {
  it('starts as the system name of the first start, changes by PUT /v0/node once, and survives a restart', async () => {
    let t = await start('Plant Hall 2');
    expect((await t.client.node()).label).toBe('Plant Hall 2');
    expect(nodeFile().label).toBe('Plant Hall 2');

    const info: NodeInfo = await t.client.configureNode({ label: 'hall-2' });
    expect(info).toMatchObject({ label: 'hall-2', systemName: 'Plant Hall 2' });
    expect(nodeFile()).toMatchObject({ label: 'hall-2', version: 1, uuid: info.uuid });
    expect((await t.client.status()).node.label).toBe('hall-2');
    await t.client.configureNode({ label: 'hall-2' });
    expect(labelEvents(t).map((e) => e.data)).toEqual([{ changed: ['label'], label: 'hall-2', previous: 'Plant Hall 2' }]);

    const metrics = await rawRequest(t.socketPath, 'GET', '/metrics');
    expect(metrics.text).toMatch(new RegExp(`^gwd_node_info\\{uuid="${info.uuid}",label="hall-2",system_name="Plant Hall 2"\\} 1$`, 'm'));
    // No peer: the family is declared with no sample.
    expect(metrics.text).toContain('# TYPE gwd_peer_info gauge');
    expect(metrics.text).not.toMatch(/^gwd_peer_info\{/m);

    await stop();
    t = await start('another-name');
    expect((await t.client.node()).label).toBe('hall-2');
    await stop();
  });

  it('refuses a bad label by code and writes nothing', async () => {
    const t = await start('ignored');
    const before = readFileSync(path.join(temp.dir, 'node.json'), 'utf8');
    for (const label of ['', 'a|b', 'x'.repeat(65), ' lead', 'tab\there', 'nul\u0000']) {
      const r = await put(t, JSON.stringify({ label }));
      expect(r.status, label).toBe(400);
      expect(r.json.code, label).toBe('GW_ERR_NODE_LABEL_INVALID');
      // By field, so gwctl names the flag (--label) in its usage error.
      expect(r.json.details?.problems?.[0]?.pointer, label).toBe('/label');
    }
    for (const body of ['{}', '{"label": 5}', '{"label": "ok", "systemName": "x"}']) {
      const r = await put(t, body);
      expect(r.status, body).toBe(400);
      expect(r.json.code, body).toBe('GW_ERR_API_INVALID_BODY');
    }
    expect(readFileSync(path.join(temp.dir, 'node.json'), 'utf8')).toBe(before);
    expect((await t.client.node()).label).toBe('hall-2');
    await stop();
  });

  it('a node.json from before labels shows the system name of its first start (its certificate CN), whatever --system-name says now', async () => {
    const legacy = nodeFile();
    delete legacy.label;
    writeFileSync(path.join(temp.dir, 'node.json'), `${JSON.stringify(legacy, null, 2)}\n`);
    let t = await start('renamed-since');
    expect((await t.client.node()).label).toBe('Plant Hall 2');
    expect(nodeFile().label).toBeUndefined();
    // Its first change writes the label into the file, the rest of the file as it was.
    await t.client.configureNode({ label: 'Plant Hall 2' });
    expect(nodeFile()).toEqual({ ...legacy, label: 'Plant Hall 2' });
    // Not a change of label: nothing announced (the event log also holds the earlier runs' events).
    expect(labelEvents(t).filter((e) => e.data.label === e.data.previous)).toEqual([]);
    await stop();

    // A hand-edited label that breaks the rules stops the start, named by file and field.
    writeFileSync(path.join(temp.dir, 'node.json'), JSON.stringify({ ...legacy, label: 'a|b' }));
    await expect(start('x')).rejects.toMatchObject({ code: 'GW_ERR_SETTINGS_INVALID', message: expect.stringContaining('/label') });
    running = null;
    writeFileSync(path.join(temp.dir, 'node.json'), JSON.stringify({ ...legacy, label: 'ok again' }));
    t = await start('x');
    expect((await t.client.node()).label).toBe('ok again');
    await stop();
  });
});
