import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { durableBaseline, entryFiles, inBatches } from '../lib/durable-baseline.mjs';
import { ROOT, startGwd, tempDir } from '../lib/procs.mjs';
import { summarize } from '../lib/stats.mjs';

const dist = (p) => path.join(ROOT, 'dist', p);

/**
 * Figure: changes per second a backup applies, in-process on the ConfigStore: the same 2,000 master
 * journal entries replayed in batches of 200 (replayBatch, what the sync engine does with a burst),
 * judged against the least durable work for the same changes (bench/lib/durable-baseline.mjs: the
 * same files by temp file + rename, one fsync per batch of 200), run just before it in every run;
 * one at a time (replay), once, for scale. The sample is each run's ratio of the two rates; target >= 0.5.
 */
export async function syncApply({ runs, changes = 2000 }) {
  const { default: pino } = await import('pino');
  const { ConfigStore } = await import(dist('daemon/config/config-store.js'));
  const { loadResourceTypes } = await import(dist('daemon/config/type-registry.js'));
  const { SchemaRegistry } = await import(dist('daemon/schema-registry.js'));
  const { parseAddress } = await import(dist('core/config-address.js'));
  const schemas = new SchemaRegistry();
  const types = loadResourceTypes(schemas);
  const temps = [];
  const open = async () => {
    const t = tempDir();
    temps.push(t);
    const { store } = await ConfigStore.open({
      resourcesDir: path.join(t.dir, 'config/resources'),
      varDir: path.join(t.dir, 'var'),
      schemas,
      types,
      logger: pino({ level: 'silent' }),
    });
    return store;
  };
  try {
    const master = await open();
    const entries = [];
    master.subscribe((e) => entries.push(e));
    for (let i = 0; i < changes; i++) {
      await master.put(parseAddress(`opc-connection/p${i % 500}`, types), 'core', 'primary', { endpointUrl: `opc.tcp://h${i}:4840` }, 'bench');
    }
    await master.close();
    const files = inBatches(entries.map(entryFiles), 200);
    const one = [];
    const batch = [];
    const floor = [];
    const ratios = [];
    for (let r = 0; r < runs; r++) {
      let t0;
      // For scale only, once: at ~40-400 /s it would take most of the figure's time.
      if (r === 0) {
        const a = await open();
        t0 = performance.now();
        for (const e of entries) await a.replay(e);
        one.push((changes / (performance.now() - t0)) * 1000);
        await a.close();
      }
      floor.push((changes / durableBaseline(files)) * 1000);
      const b = await open();
      t0 = performance.now();
      for (let i = 0; i < entries.length; i += 200) await b.replayBatch(entries.slice(i, i + 200));
      batch.push((changes / (performance.now() - t0)) * 1000);
      await b.close();
      ratios.push(batch.at(-1) / floor.at(-1));
    }
    const s = summarize(batch);
    const ratio = summarize(ratios).median;
    return [
      {
        id: 'sync-apply',
        name: `changes/s applied on a backup (${changes} changes, batches of 200; one at a time: ${summarize(one).median.toFixed(0)} /s)`,
        unit: '/s',
        stats: s,
        baseline: { name: 'the same files by temp file + rename, one fsync a batch', stats: summarize(floor) },
        ratio,
        target: 'median ratio >= 0.5',
        met: ratio >= 0.5,
      },
    ];
  } finally {
    for (const t of temps) t.cleanup();
  }
}

/**
 * Figure: wall time of a full snapshot of 2,000 resources between two real gwd processes, from the
 * backup's sync.started to its sync.completed (transfer, verification, archive, swap, adoption).
 */
export async function syncSnapshot({ runs, resources = 2000 }) {
  const m = tempDir();
  const b = tempDir();
  for (let i = 0; i < resources; i++) {
    const dir = path.join(m.dir, 'config/resources/core/opcua/opc-connection', `plc${i}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ endpointUrl: `opc.tcp://10.0.${i >> 8}.${i & 255}:4840` }));
  }
  const args = ['--port', '0', '--ssl-port', '0', '--bind', '127.0.0.1'];
  const master = await startGwd(m.dir, args);
  const backup = await startGwd(b.dir, args);
  const { GwClient } = await import(dist('cli/client.js'));
  const mc = new GwClient(master.socket);
  const bc = new GwClient(backup.socket);
  try {
    await mc.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
    await mc.configureRedundancy({ role: 'Master' });
    const port = (await mc.network()).listeners.plain.port;
    const samples = [];
    for (let r = 0; r < runs; r++) {
      const before = await lastSeq(bc);
      if (r === 0) await bc.configureRedundancy({ role: 'Backup', master: { host: '127.0.0.1', port, enableSsl: false, reconnectPeriod: 100 } });
      else await bc.resync();
      const done = await waitEvent(bc, before, (e) => e.type === 'sync.completed' && e.data.kind === 'full', 60_000);
      const start = (await events(bc)).find((e) => e.seq > before && e.type === 'sync.started');
      samples.push(Date.parse(done.time) - Date.parse(start.time));
    }
    const s = summarize(samples);
    return [
      {
        id: 'sync-snapshot',
        name: `full snapshot of ${resources} resources (sync.started to sync.completed on the backup)`,
        unit: 'ms',
        stats: s,
        target: 'median <= 10 s',
        met: s.median <= 10_000,
      },
    ];
  } finally {
    await Promise.all([master.stop(), backup.stop()]);
    m.cleanup();
    b.cleanup();
  }
}

async function events(client) {
  const out = [];
  await client.streamEvents({ type: 'sync' }, (e) => out.push(e));
  return out;
}

async function lastSeq(client) {
  const out = [];
  await client.streamEvents({}, (e) => out.push(e));
  return out.at(-1)?.seq ?? 0;
}

async function waitEvent(client, since, match, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const hit = (await events(client)).find((e) => e.seq > since && match(e));
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out waiting for the sync event');
}
