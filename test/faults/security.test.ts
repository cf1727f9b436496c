import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { CertEntry, ConnectionEntry, NodeCert, StatusResponse } from '../../src/core/wire.js';
import { generateSelfSigned } from '../../src/daemon/identity/certificate.js';
import { ganUrl, hello, peerSession, stateReport } from '../helpers/frame-fuzz.js';
import { dumpLogsOnFailure, startGwd, waitFor, type GwdProcess } from '../helpers/gwd-process.js';
import { startTestDaemon } from '../helpers/in-process-daemon.js';
import { GWCTL } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const OTHER_USER = 'gwdfuzz';
/** Configuration values that must never show in a log. */
const SECRET_REF = 'vault-plc1-secret-Zq9x';

/** Run a command without blocking this process (the in-process daemon must keep answering). */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, out });
    });
    child.stdin.end();
  });
}

/** An unprivileged local user for the socket test; created when missing (the tests run as root). */
function ensureOtherUser(): void {
  if (spawnSync('id', [OTHER_USER]).status === 0) return;
  const r = spawnSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', OTHER_USER], { encoding: 'utf8' });
  if (r.status !== 0 && spawnSync('id', [OTHER_USER]).status !== 0) {
    throw new Error(`the socket permission test needs an unprivileged user "${OTHER_USER}" and useradd failed (${r.status}): ${r.stderr}. Run the tests as root, or create the user by hand.`);
  }
}

describe('local socket and private key', () => {
  it('a socket of mode 0600 cannot be used by another local user: gwctl exits 3, permission denied', async () => {
    ensureOtherUser();
    const t = await startTestDaemon({ logLevel: 'warn' });
    try {
      // Only the socket's own mode may stand in the way: the directories are open to all.
      chmodSync(t.dataDir, 0o755);
      expect(statSync(t.socketPath).mode & 0o777).toBe(0o600);
      const cmd = `${process.execPath} ${GWCTL} --socket ${t.socketPath} status`;
      const asUser = (user: string | null) =>
        user === null ? run('/bin/sh', ['-c', cmd], { env: { ...process.env, GWD_SOCKET: '' } }) : run('su', ['-s', '/bin/sh', user, '-c', cmd]);
      const other = await asUser(OTHER_USER);
      expect(other.status, other.out).toBe(3);
      expect(other.out).toContain('permission denied');
      // The owner still can: the refusal is the mode, not a broken daemon.
      const owner = await asUser(null);
      expect(owner.status, owner.out).toBe(0);
    } finally {
      await t.stop();
    }
  });

  it('the private key is 0600 after the first start and again after a restore with a looser mode', async () => {
    const temp = makeTempDir();
    const keyFile = path.join(temp.dir, 'pki', 'gwd.key');
    let t = await startTestDaemon({ logLevel: 'warn' }, temp.dir);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile);
    await t.stop();
    chmodSync(keyFile, 0o644);
    t = await startTestDaemon({ logLevel: 'warn' }, temp.dir);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile).equals(key)).toBe(true);
    await t.stop();
    temp.cleanup();
  });
});

describe('a paired SSL master and backup (real processes)', () => {
  let master: GwdProcess;
  let backup: GwdProcess;
  let backupUuid: string;

  const connections = (n: GwdProcess): Promise<ConnectionEntry[]> => n.json<ConnectionEntry[]>('connections', 'list');
  const certs = (n: GwdProcess, ...a: string[]): Promise<CertEntry[]> => n.json<CertEntry[]>('certs', 'list', ...a);

  beforeAll(async () => {
    [master, backup] = await Promise.all([startGwd({ systemName: 'sec-a' }), startGwd({ systemName: 'sec-b' })]);
    backupUuid = (await backup.json<StatusResponse>('status')).node.uuid;
    expect((await master.ctl('redundancy', 'configure', '--mode', 'master', '--join-wait', '0')).code).toBe(0);
    const r = await backup.ctl('redundancy', 'configure', '--mode', 'backup', '--master-address', `127.0.0.1:${master.sslPort}`, '--ssl', '--reconnect-period', '100');
    expect(r.code, r.stderr).toBe(0);
    const masterFp = (await master.json<NodeCert>('node', 'cert')).fingerprint;
    await waitFor('master cert pending on the backup', async () => (await certs(backup)).find((c) => c.fingerprint === masterFp));
    expect((await backup.ctl('certs', 'approve', masterFp)).code).toBe(0);
    const backupFp = (await backup.json<NodeCert>('node', 'cert')).fingerprint;
    await waitFor('backup cert pending on the master', async () => (await certs(master)).find((c) => c.fingerprint === backupFp));
    expect((await master.ctl('certs', 'approve', backupFp)).code).toBe(0);
    const id = await waitFor('connection pending on the master', async () => (await connections(master)).find((c) => c.state === 'pending')?.id);
    expect((await master.ctl('connections', 'approve', id)).code).toBe(0);
    await waitFor('both Running', async () => {
      const [m, b] = await Promise.all([connections(master), connections(backup)]);
      return m.find((c) => c.id === id)?.status === 'Running' && b[0]?.status === 'Running' ? true : undefined;
    }, 10_000);
  }, 60_000);
  afterEach((ctx) => dumpLogsOnFailure(ctx.task.result?.state, [master, backup]));
  afterAll(async () => {
    await Promise.all([master, backup].filter(Boolean).map((n) => n.stop()));
  });

  it('a forged or replayed hello (the backup UUID with another certificate) is refused GW_ERR_GAN_CERT_CHANGED; the real link stays up', async () => {
    const forger = await generateSelfSigned({ systemName: 'sec-b', uuid: backupUuid });
    const replay = hello(backupUuid, 'sec-b', { state: stateReport(null) });
    const tls = await peerSession(ganUrl(master.sslPort, true), { tls: { key: forger.keyPem, cert: forger.certPem }, hello: replay, frames: [] });
    expect([tls.admitted, tls.closeCode, tls.closeReason]).toEqual([false, 4003, 'GW_ERR_GAN_CERT_CHANGED']);
    // Without a certificate, or on the plain port, it gets no further.
    const noCert = await peerSession(ganUrl(master.sslPort, true), { hello: replay, frames: [] });
    expect([noCert.admitted, noCert.closeReason]).toEqual([false, 'GW_ERR_GAN_CLIENT_CERT_REQUIRED']);
    const plain = await peerSession(ganUrl(master.plainPort, false), { hello: replay, frames: [] });
    expect([plain.admitted, plain.closeReason]).toEqual([false, 'GW_ERR_GAN_SSL_REQUIRED']);
    const flagged = await waitFor('the forged certificate flagged on the master', async () =>
      (await certs(master, '--state', 'pending')).find((c) => c.direction === 'incoming'),
    );
    expect(JSON.stringify(flagged)).toContain('CertificateChanged');
    const ms = await master.json<StatusResponse>('status');
    expect(ms.redundancy.peer).toMatchObject({ connected: true, uuid: backupUuid });
  });

  it('a full scenario (start, pair, change config, stop) logs no PEM, no private key and no secret', async () => {
    const file = path.join(master.dataDir, 'plc1.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, JSON.stringify({ endpointUrl: 'opc.tcp://10.0.1.5:4840', username: 'operator', passwordRef: SECRET_REF }));
    expect((await master.ctl('config', 'set', 'opc-connection/plc1', '--file', file)).code).toBe(0);
    expect((await master.ctl('config', 'backup', 'add', 'opc-connection/plc1')).code).toBe(0);
    expect((await master.ctl('node', 'cert')).code).toBe(0);
    const keys = [master, backup].map((n) => readFileSync(path.join(n.dataDir, 'pki', 'gwd.key'), 'utf8'));
    const certPems = [master, backup].map((n) => readFileSync(path.join(n.dataDir, 'pki', 'gwd.crt'), 'utf8'));
    await Promise.all([backup, master].map((n) => n.child.kill('SIGTERM')));
    await waitFor('both stopped', () => (master.child.exitCode !== null && backup.child.exitCode !== null ? true : undefined), 10_000);
    const logs = master.output() + backup.output();
    expect(logs).toContain('gwd stopped');
    expect(logs).not.toMatch(/-----BEGIN|-----END|PRIVATE KEY/);
    for (const pem of [...keys, ...certPems]) {
      // Any 40-character piece of a key or certificate body would betray it.
      for (const line of pem.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----'))) {
        expect(logs.includes(line.slice(0, 40)), 'a line of a PEM body is in the logs').toBe(false);
      }
    }
    expect(logs).not.toContain(SECRET_REF);
  });
});
