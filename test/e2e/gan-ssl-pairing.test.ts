import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';

import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { MAX_FRAME_BYTES } from '../../src/core/gan/protocol.js';
import type { CertEntry, ConnectionEntry, EventRecord, NodeCert, StatusResponse } from '../../src/core/wire.js';
import { dumpLogsOnFailure, startGwd, waitFor, type GwdProcess } from '../helpers/gwd-process.js';

/**
 * The SSL pairing flow of the README with two real gwd processes, then what a hostile or confused
 * third party can do to the pair: junk on both ports, a denied certificate, a stolen UUID.
 */
let master: GwdProcess;
let backup: GwdProcess;
const extra: GwdProcess[] = [];

beforeAll(async () => {
  [master, backup] = await Promise.all([startGwd({ systemName: 'plant-a' }), startGwd({ systemName: 'plant-b' })]);
});
afterEach((ctx) => dumpLogsOnFailure(ctx.task.result?.state, [master, backup, ...extra]));
afterAll(async () => {
  await Promise.all([master, backup, ...extra].filter(Boolean).map((n) => n.stop()));
});

const connections = (n: GwdProcess): Promise<ConnectionEntry[]> => n.json<ConnectionEntry[]>('connections', 'list');
const certs = (n: GwdProcess, ...a: string[]): Promise<CertEntry[]> => n.json<CertEntry[]>('certs', 'list', ...a);
const fingerprintOf = async (n: GwdProcess): Promise<string> => (await n.json<NodeCert>('node', 'cert')).fingerprint;
const uuidOf = async (n: GwdProcess): Promise<string> => (await n.json<StatusResponse>('status')).node.uuid;

async function configureBackup(n: GwdProcess, to: GwdProcess, ...more: string[]): Promise<void> {
  const r = await n.ctl(
    'redundancy', 'configure', '--mode', 'backup', '--master-address', `127.0.0.1:${to.sslPort}`, '--ssl',
    '--reconnect-period', '100', '--ping-rate', '200', ...more,
  );
  expect(r.code, r.stderr).toBe(0);
}

async function trustMasterCert(n: GwdProcess): Promise<void> {
  const file = path.join(n.dataDir, 'master.pem');
  writeFileSync(file, (await master.json<NodeCert>('node', 'cert')).pem);
  const r = await n.ctl('certs', 'trust', '--direction', 'outgoing', '--file', file);
  expect(r.code, r.stderr).toBe(0);
}

describe('SSL pairing, no restart', () => {
  it('certificate on the backup, certificate on the master, connection on the master: then both Running within 2 s', async () => {
    expect((await master.ctl('redundancy', 'configure', '--mode', 'master', '--ping-rate', '200')).code).toBe(0);
    await configureBackup(backup, master);
    const masterFp = await fingerprintOf(master);
    const backupFp = await fingerprintOf(backup);
    const backupUuid = await uuidOf(backup);

    // 1. The backup holds the master's certificate pending, outgoing, and shows why it waits.
    const pendingOut = await waitFor('master cert pending on the backup', async () =>
      (await certs(backup)).find((c) => c.direction === 'outgoing' && c.state === 'pending'),
    );
    expect(pendingOut.fingerprint).toBe(masterFp);
    expect(pendingOut).toMatchObject({ peer: { systemName: 'plant-a' } });
    expect(Object.keys(pendingOut)).toEqual(expect.arrayContaining(['fingerprint', 'direction', 'state', 'subject', 'notAfter', 'peer']));
    const out1 = (await connections(backup))[0]!;
    expect(out1).toMatchObject({ direction: 'outgoing', status: 'CertificateNotApproved', lastError: { code: 'GW_ERR_GAN_CERT_NOT_APPROVED' } });
    // The master has seen nothing: no byte of the protocol went to an untrusted server.
    expect(await certs(master)).toEqual([]);

    const human = await backup.ctl('certs', 'list');
    expect(human.stdout).toMatch(/^FINGERPRINT\s+DIRECTION\s+STATE/);
    expect(human.stdout).toContain(masterFp.slice(0, 16));

    expect((await backup.ctl('certs', 'approve', masterFp.slice(0, 8))).code).toBe(0);

    // 2. The master now holds the backup's certificate pending, incoming.
    const pendingIn = await waitFor('backup cert pending on the master', async () =>
      (await certs(master, '--state', 'pending')).find((c) => c.direction === 'incoming'),
    );
    expect(pendingIn.fingerprint).toBe(backupFp);
    expect(pendingIn.peer).toMatchObject({ uuid: backupUuid, systemName: 'plant-b' });
    await waitFor('the backup to show the master refusing its certificate', async () => {
      const c = (await connections(backup))[0];
      return c?.lastError?.code === 'GW_ERR_GAN_CERT_NOT_APPROVED' && c.lastError.message.includes('incoming') ? c : undefined;
    });
    expect((await master.ctl('certs', 'approve', backupFp.slice(0, 12))).code).toBe(0);

    // 3. The master holds the connection pending approval, named <systemname>|<uuid>.
    const id = `plant-b|${backupUuid}`;
    const pendingConn = await waitFor('connection PendingApproval on the master', async () =>
      (await connections(master)).find((c) => c.id === id && c.status === 'PendingApproval'),
    );
    expect(pendingConn).toMatchObject({ direction: 'incoming', state: 'pending', lastError: { code: 'GW_ERR_GAN_CONNECTION_NOT_APPROVED' } });
    await waitFor('PendingApproval on the backup', async () =>
      (await connections(backup)).find((c) => c.status === 'PendingApproval'),
    );

    const approvedAt = Date.now();
    expect((await master.ctl('connections', 'approve', id)).code).toBe(0);
    await waitFor(
      'both Running',
      async () => {
        const [m, b] = await Promise.all([connections(master), connections(backup)]);
        return m.find((c) => c.id === id)?.status === 'Running' && b[0]?.status === 'Running' ? true : undefined;
      },
      2000,
    );
    expect(Date.now() - approvedAt).toBeLessThan(2000);

    const [ms, bs] = await Promise.all([master.json<StatusResponse>('status'), backup.json<StatusResponse>('status')]);
    expect(ms.redundancy.peer).toMatchObject({ connected: true, uuid: backupUuid, systemName: 'plant-b' });
    // The redundancy engine reports the peer's activity once the link is up.
    expect(['Active', 'Warm', 'Cold']).toContain(ms.redundancy.peer!.activity);
    expect(bs.redundancy.peer).toMatchObject({ connected: true, uuid: ms.node.uuid, systemName: 'plant-a', address: `127.0.0.1:${master.sslPort}` });
    const b0 = await waitFor('a ping time on the backup', async () => {
      const c = (await connections(backup))[0];
      return c?.pingMs !== null ? c : undefined;
    });
    expect(b0).toMatchObject({ direction: 'outgoing', state: 'approved', status: 'Running', lastError: null, ssl: true });

    const types = (await master.ctl('--json', 'events')).stdout.trim().split('\n').map((l) => (JSON.parse(l) as EventRecord).type);
    expect(types).toEqual(expect.arrayContaining(['cert.pending', 'cert.approved', 'connection.pending', 'connection.approved', 'peer.connected']));
    const btypes = (await backup.ctl('--json', 'events')).stdout.trim().split('\n').map((l) => (JSON.parse(l) as EventRecord).type);
    expect(btypes).toEqual(expect.arrayContaining(['cert.pending', 'cert.approved', 'peer.connected', 'role.changed']));
  });

  it('openssl s_client on the SSL port sees the certificate of `gwctl node cert`', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        'sh',
        ['-c', `openssl s_client -connect 127.0.0.1:${master.sslPort} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`],
        { timeout: 10_000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      );
    });
    const fp = out.split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
    expect(fp).toBe(await fingerprintOf(master));
  });

  it('random bytes, an oversized frame, invalid JSON and an unknown type on both ports: the pair keeps Running', async () => {
    const before = (await connections(backup))[0]!;
    expect(before.status).toBe('Running');
    for (const port of [master.plainPort, master.sslPort]) {
      await rawBytes(port, port === master.sslPort);
    }
    const closes: number[] = [];
    for (const [port, ssl] of [[master.plainPort, false], [master.sslPort, true]] as const) {
      for (const frame of ['{"type": ', JSON.stringify({ type: 'no.such.type' }), JSON.stringify({ nope: 1 }), Buffer.from([1, 2, 3]), 'x'.repeat(MAX_FRAME_BYTES + 1)]) {
        closes.push(await junkFrame(port, ssl, frame));
      }
    }
    // Every junk connection was closed by the daemon, none left open.
    expect(closes.every((c) => [1009, 4000, 4003].includes(c))).toBe(true);
    expect(closes).toContain(1009);
    expect(closes).toContain(4000);
    // The daemon is alive, still answers, and the approved peer is still served.
    const after = (await connections(backup))[0]!;
    expect(after.status).toBe('Running');
    expect(after.since).toBe(before.since);
    expect((await master.json<StatusResponse>('status')).redundancy.peer?.connected).toBe(true);
    const health = await fetch(`http://127.0.0.1:${master.plainPort}/health/live`);
    expect(health.status).toBe(200);
    expect(master.output()).toContain('invalid gateway network frame');
  });

  it('GET /health/ready and /system/gwinfo answer on the plain port without authentication', async () => {
    const ready = await fetch(`http://127.0.0.1:${master.plainPort}/health/ready`);
    expect(ready.status).toBe(200);
    const info = await (await fetch(`http://127.0.0.1:${master.plainPort}/system/gwinfo`)).text();
    expect(info).toContain('role=Master;');
    expect(info).toMatch(/activity=\w+;/);
    // The pair is connected and the sync engine has brought the backup up to date.
    expect(info).toMatch(/syncState=(InSync|Syncing);/);
    expect(info).toContain('peerConnected=true;');
    expect((await fetch(`http://127.0.0.1:${master.plainPort}/v0/status`)).status).toBe(404);
  });

  it('a third node claiming the backup UUID with another certificate is refused GW_ERR_GAN_CERT_CHANGED and flagged', async () => {
    const impostor = await startGwd({ systemName: 'plant-b', uuid: await uuidOf(backup) });
    extra.push(impostor);
    await trustMasterCert(impostor);
    await configureBackup(impostor, master);
    const refused = await waitFor('the impostor to be refused', async () => {
      const c = (await connections(impostor))[0];
      return c?.lastError?.code === 'GW_ERR_GAN_CERT_CHANGED' ? c : undefined;
    });
    expect(refused.status).not.toBe('Running');
    const flagged = (await certs(master)).find((c) => c.fingerprint === (refused.lastError!.message.match(/[0-9a-f]{64}/) ?? [''])[0]);
    expect(flagged).toMatchObject({ direction: 'incoming', state: 'pending', flag: 'CertificateChanged' });
    expect((await master.ctl('certs', 'list')).stdout).toContain('CertificateChanged');
    // The real backup is untouched.
    expect((await connections(backup))[0]!.status).toBe('Running');
    await impostor.stop();
    extra.splice(extra.indexOf(impostor), 1);
  });

  it('a denied certificate stays refused on every redial', async () => {
    const intruder = await startGwd({ systemName: 'plant-x' });
    extra.push(intruder);
    await trustMasterCert(intruder);
    await configureBackup(intruder, master);
    const fp = await fingerprintOf(intruder);
    await waitFor('intruder cert pending on the master', async () => (await certs(master)).find((c) => c.fingerprint === fp));
    const deny = await master.ctl('certs', 'deny', fp.slice(0, 8));
    expect(deny.code, deny.stderr).toBe(0);
    const deniedAt = Date.now();
    // Refused again well after the denial, by redials that never get further.
    const last = await waitFor('repeated GW_ERR_GAN_CERT_DENIED', async () => {
      const c = (await connections(intruder))[0];
      return c?.lastError?.code === 'GW_ERR_GAN_CERT_DENIED' && Date.parse(c.lastError.time) > deniedAt + 300 ? c : undefined;
    });
    expect(last.status).toBe('CertificateNotApproved');
    expect((await certs(master, '--state', 'denied')).map((c) => c.fingerprint)).toEqual([fp]);
    expect((await connections(master)).some((c) => c.peer.systemName === 'plant-x' && c.state === 'approved')).toBe(false);
    expect((await connections(backup))[0]!.status).toBe('Running');
    await intruder.stop();
    extra.splice(extra.indexOf(intruder), 1);
  });

  it('an ambiguous or unknown fingerprint prefix is a coded error (exit 1)', async () => {
    const tooShort = await master.ctl('certs', 'approve', 'abc');
    expect(tooShort.code).toBe(1);
    expect(tooShort.stderr).toContain('GW_ERR_GAN_ID_TOO_SHORT');
    const none = await master.ctl('certs', 'approve', '00000000000');
    expect(none.stderr).toContain('GW_ERR_GAN_CERT_NOT_FOUND');
    const noConn = await master.ctl('connections', 'approve', 'nobody');
    expect(noConn.stderr).toContain('GW_ERR_GAN_CONNECTION_NOT_FOUND');
  });
});

function rawBytes(port: number, ssl: boolean): Promise<void> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(randomBytes(4096)));
    sock.on('error', () => resolve());
    sock.on('close', () => resolve());
    sock.setTimeout(3000, () => sock.destroy());
    sock.resume();
    if (ssl) {
      // Also a TLS client that completes the handshake and then sends garbage inside it.
      const t = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => t.write(randomBytes(2048)));
      t.on('error', () => undefined);
      t.setTimeout(3000, () => t.destroy());
      t.resume();
    }
  });
}

function junkFrame(port: number, ssl: boolean, frame: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${ssl ? 'wss' : 'ws'}://127.0.0.1:${port}/gan/v1`, { rejectUnauthorized: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`the daemon left a junk connection open on port ${port}`));
    }, 5000);
    ws.on('open', () => ws.send(frame));
    ws.on('error', () => undefined);
    ws.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}
