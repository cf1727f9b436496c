import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { StatusResponse } from '../../src/core/wire.js';
import { MAX_PENDING } from '../../src/daemon/gan/acceptor.js';
import { generateSelfSigned } from '../../src/daemon/identity/certificate.js';
import { splitBinaryFrame } from '../../src/core/gan/protocol.js';
import { manifestLines, type ManifestTotals, type SnapshotFile } from '../../src/core/sync/snapshot-manifest.js';
import { FakeMaster, fuzzFrame, ganUrl, hello, peerSession, stateReport, syncFuzzFrame, type FuzzFrame, type SessionResult } from '../helpers/frame-fuzz.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { waitFor } from '../helpers/processes.js';
import { Prng } from '../helpers/prng.js';

// CI runs a reduced set; GWD_FAULTS_FULL=1 (npm run test:faults:full) runs the full one.
const FULL = process.env.GWD_FAULTS_FULL === '1';
const SEEDS = FULL ? [1, 2, 3] : [1];
const FRAMES_ENV = process.env.GWD_FAULTS_FRAMES;
// Frames to a master from each kind of peer, per seed: 5,000 in CI (seed 1), 10,000 in the full set
// (seeds 1-3). Seed 1's first 5,000 already bring every close the 10,000 do (1009 too: 5 times from
// the approved peer, 3 from the unapproved one) and ~600 strangers against the list bound of
// 3 x MAX_PENDING + 1; each defect the fuzz found has its own test in frame-regressions.test.ts.
const FRAMES_PER_SEED = Number(FRAMES_ENV ?? (FULL ? 10_000 : 5_000));
/** Configuration content that must never reach a peer that was not let in. */
const MARKER = 'fuzzmarker7f3a';

const started: TestDaemon[] = [];
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const t of started) process.stderr.write(t.logs.join('').slice(-20_000));
  await Promise.all(started.splice(0).map((t) => t.stop().catch(() => undefined)));
});

async function daemon(name: string): Promise<TestDaemon> {
  const t = await startTestDaemon({ systemName: name, logLevel: 'warn' });
  started.push(t);
  return t;
}

/** Settings, identity and configuration: frames from a peer must never change one byte of them. */
function filesDigest(dir: string): string {
  const h = createHash('sha256');
  for (const f of ['node.json', 'redundancy.json', 'gateway-network.json', 'pki/gwd.key', 'pki/gwd.crt']) h.update(f).update(readFileSync(path.join(dir, f)));
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(p).update(readFileSync(p));
    }
  };
  walk(path.join(dir, 'config'));
  return h.digest('hex');
}

/** How the daemon ended a session it did not keep: always with a reason a peer can act on. */
function expectCodedClose(res: SessionResult, frames: FuzzFrame[], where: string, tally: Map<string, number>): void {
  if (res.alive) {
    tally.set('kept (probe answered)', (tally.get('kept (probe answered)') ?? 0) + 1);
    return;
  }
  const key = `${res.closeCode} ${res.closeReason}`;
  tally.set(key, (tally.get(key) ?? 0) + 1);
  if (res.closeCode === 1009) {
    // A frame above maxPayload, refused before it is read: the WebSocket protocol's own code, with
    // the catalogue code as its reason like every other close.
    expect(res.closeReason, where).toBe('GW_ERR_GAN_FRAME_TOO_LARGE');
    expect(frames.some((f) => f.kind === 'oversize'), `${where}: 1009 without an oversize frame`).toBe(true);
    return;
  }
  expect([4000, 4003], `${where}: close ${key}; received ${res.received.join(' | ').slice(0, 400)}`).toContain(res.closeCode);
  expect(res.closeReason, where).toMatch(/^GW_ERR_[A-Z0-9_]+$/);
  if (res.closeCode === 4003) {
    const refused = res.received.map((t) => JSON.parse(t) as { type: string; code?: string }).find((m) => m.type === 'refused');
    expect(refused?.code, `${where}: a refusal without its refused frame`).toBe(res.closeReason);
  }
}

function countBy(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

function framesFor(rng: Prng): FuzzFrame[] {
  return Array.from({ length: 1 + rng.int(4) }, () => fuzzFrame(rng));
}

describe('fuzzed frames from an approved peer', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${FRAMES_PER_SEED} frames after a valid hello; every close is coded, the daemon keeps serving, files unchanged`, async () => {
      const master = await daemon('fuzz-master');
      await master.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
      await master.client.configureRedundancy({ role: 'Master', joinWaitTime: 0 });
      await master.client.configSet('opc-connection/plc1', { endpointUrl: `opc.tcp://${MARKER}:4840` });
      const before = filesDigest(master.dataDir);
      const url = ganUrl(master.daemon.gan.listenerViews().plain.port!, false);
      const rng = new Prng(seed);
      const uuid = randomUUID();
      const tally = new Map<string, number>();
      let frames = 0;
      let sessions = 0;
      let sync = 0;
      while (frames < FRAMES_PER_SEED) {
        const batch = framesFor(rng);
        const where = `seed ${seed} session ${sessions}: ${batch.map((f) => f.kind).join(',')}`;
        const res = await peerSession(url, { hello: hello(uuid, 'fuzz-peer', { state: stateReport(null) }), frames: batch });
        expect(res.admitted, `${where}: the valid hello was not answered: ${res.closeCode} ${res.closeReason}`).toBe(true);
        expectCodedClose(res, batch, where, tally);
        frames += batch.length;
        sync += batch.filter((f) => f.kind.startsWith('sync-')).length;
        sessions += 1;
        if (sessions % 200 === 0) expect((await master.client.status()).daemon.ready, where).toBe(true);
      }
      // Both sides of sync.* were sent: the backup's (request, ack) is acted on, the master's ignored.
      expect(sync).toBeGreaterThan(frames / 10);

      const status = await master.client.status();
      expect(status.daemon.ready).toBe(true);
      expect(master.daemon.gan.listenerViews().plain.listening).toBe(true);
      expect(filesDigest(master.dataDir)).toBe(before);
      // Still a working listener: a last, clean session is admitted and kept.
      const last = await peerSession(url, { hello: hello(uuid, 'fuzz-peer', { state: stateReport(null) }), frames: [] });
      expect(last.alive).toBe(true);
      // And it still syncs an approved backup: a request is answered with the whole snapshot in its
      // one form, as it is read: entries in parts, each before the binary frames of its bytes, and
      // the totals at the end.
      const request = { kind: 'sync-valid', data: JSON.stringify({ type: 'sync.request', holder: null, revision: 0, full: true }), binary: false };
      const streamed = await peerSession(url, { hello: hello(uuid, 'fuzz-peer', { state: stateReport(null) }), frames: [request], until: '{"type":"sync.snapshotEnd"' });
      const texts = streamed.received.filter((t) => !t.startsWith('<binary')).map((t) => JSON.parse(t) as { type: string; files?: SnapshotFile[]; totals?: ManifestTotals });
      const types = texts.map((m) => m.type).filter((t) => t.startsWith('sync.snapshot'));
      expect(types[0]).toBe('sync.snapshotStream');
      expect(types.at(-1)).toBe('sync.snapshotEnd');
      expect(new Set(types)).toEqual(new Set(['sync.snapshotStream', 'sync.snapshotFiles', 'sync.snapshotEnd']));
      const entries = texts.flatMap((m) => (m.type === 'sync.snapshotFiles' ? m.files! : []));
      const headers: Array<{ type: string; chunk: { seq: number; file: number; offset: number } }> = [];
      const bytes = Buffer.concat(streamed.binary.map((frame) => {
        const split = splitBinaryFrame(frame);
        if ('problem' in split) throw new Error(split.problem);
        headers.push(JSON.parse(split.header.toString('utf8')) as (typeof headers)[number]);
        return split.payload;
      }));
      // The files' bytes in manifest order, the first chunk from the first byte of the first file with any.
      expect(headers.map((h) => h.type)).toEqual(headers.map(() => 'sync.snapshotChunk'));
      expect(headers[0]!.chunk).toMatchObject({ seq: 0, file: entries.findIndex((e) => e.size > 0), offset: 0 });
      expect(texts.at(-1)!.totals).toEqual({ files: entries.length, totalBytes: bytes.length, totalSha256: createHash('sha256').update(manifestLines(entries)).digest('hex') });
      expect(bytes.toString('utf8')).toContain(MARKER);
      process.stdout.write(`approved-peer frame fuzz seed ${seed}: ${frames} frames (${sync} sync.*) in ${sessions} sessions; closes: ${JSON.stringify(Object.fromEntries(tally))}\n`);
    }, 300_000);
  }
});

describe('fuzzed frames from an unapproved peer (plain and TLS ports)', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${FRAMES_PER_SEED} frames; never admitted, never shown configuration, no failover, every refusal coded`, async () => {
      const master = await daemon('fuzz-master');
      const backup = await daemon('fuzz-backup');
      // ApprovedOnly (the default) on both ports; plain allowed so the policy check is reachable there.
      await master.client.configureNetwork({ requireSsl: false });
      await master.client.configureRedundancy({ role: 'Master', joinWaitTime: 0 });
      await master.client.configSet('opc-connection/plc1', { endpointUrl: `opc.tcp://${MARKER}:4840`, username: MARKER });
      const ports = master.daemon.gan.listenerViews();
      await backup.client.configureRedundancy({
        role: 'Backup',
        master: { host: '127.0.0.1', port: ports.plain.port!, enableSsl: false, reconnectPeriod: 50 },
      });
      const pending = await waitFor('the backup pending on the master', async () => (await master.client.connections()).find((c) => c.state === 'pending'));
      await master.client.decideConnection(pending.id, 'approve');
      const ms = await waitFor('master Active with its backup connected', async () => {
        const s = await master.client.status();
        return s.redundancy.peer?.connected && s.redundancy.activity === 'Active' ? s : undefined;
      }, 15_000);
      const bs = await waitFor('backup standing by', async () => {
        const s = await backup.client.status();
        return s.redundancy.peer?.connected && s.redundancy.activity !== 'Active' ? s : undefined;
      });
      const revision = master.daemon.config.revision;
      const before = filesDigest(master.dataDir);
      const stranger = await generateSelfSigned({ systemName: 'stranger', uuid: randomUUID() });
      const rng = new Prng(seed);
      const tally = new Map<string, number>();
      let frames = 0;
      let sessions = 0;
      let sync = 0;
      while (frames < FRAMES_PER_SEED) {
        const ssl = rng.next() < 0.5;
        const batch = framesFor(rng);
        const withHello = rng.next() < 0.3;
        const where = `seed ${seed} session ${sessions} (${ssl ? 'tls' : 'plain'}${withHello ? ', hello' : ''}): ${batch.map((f) => f.kind).join(',')}`;
        const res = await peerSession(ganUrl(ssl ? ports.ssl.port! : ports.plain.port!, ssl), {
          tls: ssl && rng.next() < 0.8 ? { key: stranger.keyPem, cert: stranger.certPem } : undefined,
          hello: withHello ? hello(randomUUID(), `stranger-${rng.int(1000)}`, { state: stateReport(rng) }) : undefined,
          frames: batch,
        });
        expect(res.admitted, `${where}: an unapproved peer was admitted`).toBe(false);
        expect(res.alive, `${where}: an unapproved peer got a pong`).toBe(false);
        for (const text of res.received) {
          expect(text, `${where}: configuration reached an unapproved peer`).not.toContain(MARKER);
          expect((JSON.parse(text) as { type: string }).type, `${where}: ${text.slice(0, 200)}`).toBe('refused');
        }
        expectCodedClose(res, batch, where, tally);
        frames += batch.length;
        sync += batch.filter((f) => f.kind.startsWith('sync-')).length;
        sessions += 1;
        if (sessions % 200 === 0) expect((await master.client.status()).daemon.ready, where).toBe(true);
      }
      expect(sync).toBeGreaterThan(frames / 10);
      const after: StatusResponse = await master.client.status();
      expect(after.daemon.ready).toBe(true);
      expect(after.redundancy.activity).toBe('Active');
      expect(after.redundancy.epoch).toBe(ms.redundancy.epoch);
      expect(after.redundancy.peer).toMatchObject({ connected: true, uuid: bs.node.uuid });
      expect((await backup.client.status()).redundancy.activity).toBe(bs.redundancy.activity);
      expect(master.daemon.config.revision).toBe(revision);
      expect(filesDigest(master.dataDir)).toBe(before);
      const conns = await master.client.connections();
      expect(conns.filter((c) => c.state === 'approved').map((c) => c.peer?.uuid)).toEqual([bs.node.uuid]);
      // Strangers are remembered within bounds: on disk at most MAX_PENDING; the list adds at most
      // 2 x MAX_PENDING seen since this start (acceptor.incoming), plus the approved backup.
      expect(conns.length).toBeLessThanOrEqual(3 * MAX_PENDING + 1);
      const stored = (JSON.parse(readFileSync(path.join(master.dataDir, 'connections.json'), 'utf8')) as { connections: Array<{ state: string }> }).connections;
      expect(stored.filter((c) => c.state === 'pending').length).toBeLessThanOrEqual(MAX_PENDING);
      expect((await master.client.certs({ state: 'approved' })).length).toBe(0);
      expect((await master.client.certs({ state: 'pending' })).length).toBeLessThanOrEqual(MAX_PENDING);
      process.stdout.write(`unapproved-peer frame fuzz seed ${seed}: ${frames} frames (${sync} sync.*) in ${sessions} sessions; closes: ${JSON.stringify(Object.fromEntries(tally))}\n`);
    }, 300_000);
  }
});

// A backup receives what its master sends: a fake master it dials sends it the fuzzed frames, the
// master's side of sync.* among them. Fewer frames: every session waits for the backup's redial.
// 2,000 in CI as in the full set: seed 1's only oversize frame to the backup (the dialer's bare 1009
// was a defect this found) and its GW_ERR_CONFIG_INVALID refusals come after frame 1,000.
const BACKUP_FRAMES_PER_SEED = Math.round(Number(FRAMES_ENV ?? 10_000) / 5);

describe('fuzzed frames from an approved master to a backup', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${BACKUP_FRAMES_PER_SEED} frames after a valid master hello; every close is coded, the backup keeps serving, its files unchanged`, async () => {
      const fake = await FakeMaster.start();
      try {
        const backup = await daemon('fuzz-backup');
        // Configuration the backup holds: a fuzzed master must not change it (its snapshots and
        // entries carry random hashes and signatures, and name resources it does not have).
        await backup.client.configSet('opc-connection/plc1', { endpointUrl: `opc.tcp://${MARKER}:4840` });
        await backup.client.configureRedundancy({
          role: 'Backup',
          master: { host: '127.0.0.1', port: fake.port, enableSsl: false, reconnectPeriod: 10, pingRate: 1000 },
        });
        const before = filesDigest(backup.dataDir);
        const rng = new Prng(seed);
        const tally = new Map<string, number>();
        let frames = 0;
        let sessions = 0;
        let sync = 0;
        while (frames < BACKUP_FRAMES_PER_SEED) {
          // Half the sessions are the general fuzz; the other half a sync operation as a master
          // answering the backup's request would open it, then sync.* frames (mostly well-formed),
          // so that entries and snapshots are acted on before anything closes the link.
          const begin = { type: 'sync.begin', op: rng.int(100), kind: rng.pick(['full', 'incremental']), revision: rng.pick([0, 1, 5, 1000]) };
          const batch =
            rng.next() < 0.5
              ? framesFor(rng)
              : [{ kind: 'sync-valid', data: JSON.stringify(begin), binary: false }, ...Array.from({ length: 1 + rng.int(3) }, () => syncFuzzFrame(rng, 0.7))];
          const where = `seed ${seed} session ${sessions}: ${batch.map((f) => f.kind).join(',')}`;
          const res = await fake.session(batch);
          expect(res.admitted, `${where}: the backup did not say hello: ${res.closeCode} ${res.closeReason}`).toBe(true);
          expectCodedClose(res, batch, where, tally);
          frames += batch.length;
          sync += batch.filter((f) => f.kind.startsWith('sync-')).length;
          sessions += 1;
          if (sessions % 100 === 0) expect((await backup.client.status()).daemon.ready, where).toBe(true);
        }
        const last = await fake.session([]);
        expect(last.alive).toBe(true);
        // The well-formed sync.* reached the backup's sync engine, which refused them for their
        // content (random hashes and signatures): reported, never applied.
        const failures = backup.daemon.events.since(0).filter((e) => e.type === 'sync.failed');
        for (const e of failures) expect(String(e.data.code), JSON.stringify(e.data)).toMatch(/^GW_ERR_[A-Z0-9_]+$/);
        // (Most sessions end while the backup's own request is unanswered: that is a failure too.)
        const refusedSyncs = failures.filter((e) => e.data.reason !== 'the link to the master went down');
        expect(refusedSyncs.length).toBeGreaterThan(0);
        expect((await backup.client.status()).daemon.ready).toBe(true);
        expect(filesDigest(backup.dataDir)).toBe(before);
        expect((await backup.client.configGet('opc-connection/plc1')).content).toMatchObject({ endpointUrl: `opc.tcp://${MARKER}:4840` });
        // A snapshot cut off by a close leaves no staging copy behind.
        await waitFor('no snapshot staging left', () => (readdirSync(path.join(backup.dataDir, 'var')).includes('sync') && readdirSync(path.join(backup.dataDir, 'var', 'sync')).some((n) => n.startsWith('staging-')) ? undefined : true), 5000);
        process.stdout.write(`master-to-backup frame fuzz seed ${seed}: ${frames} frames (${sync} sync.*) in ${sessions} sessions, ${refusedSyncs.length} refused by the sync engine (${JSON.stringify(countBy(refusedSyncs.map((e) => String(e.data.code))))}); closes: ${JSON.stringify(Object.fromEntries(tally))}\n`);
      } finally {
        await fake.close();
      }
    }, 300_000);
  }
});
