/**
 * A real etcd server for tests: the `etcd` binary (Debian package etcd-server; .ci/run installs it)
 * on 127.0.0.1 with free client and peer ports and a temp data dir. One member, its own cluster.
 *
 *   const etcd = await startEtcd();            // or startEtcd({ tls: true }): CA, server and client
 *   etcd.clientUrl                             // certificates made with openssl in the temp dir
 *   await etcd.stop(); await etcd.start();     // same ports, same data dir (leases and keys survive)
 *   await etcd.cleanup();                      // stop (by PID) and remove the temp dir; for afterAll
 *
 * Every wait is bounded; the process is killed by PID, and also when the test process exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { freePort } from './free-port.js';

/** `etcd --version`'s first line, or null when the binary is missing. */
export function etcdVersion(): string | null {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return null;
  return (r.stdout.split('\n')[0] ?? '').trim() || null;
}

export { freePort };

export interface EtcdTlsFiles {
  ca: string;
  /** Server certificate and key (etcd's --cert-file/--key-file). */
  serverCert: string;
  serverKey: string;
  /** A client certificate signed by the CA (for --client-cert-auth). */
  cert: string;
  key: string;
  /** A client certificate signed by another CA: etcd refuses it. */
  strangerCert: string;
  strangerKey: string;
}

export interface EtcdServer {
  clientUrl: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  dir: string;
  tls: EtcdTlsFiles | null;
  pid(): number | null;
  running(): boolean;
  /** etcd's stdout+stderr so far (print it when a test fails). */
  output(): string;
  /** Start again on the same ports and data dir (after stop()/kill()); resolves once it answers. */
  start(): Promise<void>;
  /** SIGTERM, SIGKILL after graceMs; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once. */
  kill(): Promise<void>;
  /** Stop and remove the temp dir. */
  cleanup(): Promise<void>;
}

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
}

/** A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and a stranger's client certificate. */
export function makeEtcdCerts(dir: string): EtcdTlsFiles {
  const ext = path.join(dir, 'ext.cnf');
  writeFileSync(
    ext,
    [
      '[server]',
      'subjectAltName = IP:127.0.0.1, DNS:localhost',
      // etcd's JSON gateway dials etcd's own gRPC port with the server certificate as a client one.
      'extendedKeyUsage = serverAuth, clientAuth',
      '[client]',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  const ca = (name: string) => {
    run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`], dir);
  };
  const leaf = (name: string, signer: string, section: string) => {
    run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
    run(
      'openssl',
      ['x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', 'ext.cnf', '-extensions', section],
      dir,
    );
  };
  ca('ca');
  ca('other-ca');
  leaf('server', 'ca', 'server');
  leaf('client', 'ca', 'client');
  leaf('stranger', 'other-ca', 'client');
  const p = (f: string) => path.join(dir, f);
  return {
    ca: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    cert: p('client.pem'),
    key: p('client.key'),
    strangerCert: p('stranger.pem'),
    strangerKey: p('stranger.key'),
  };
}

/** POST /v3/maintenance/status once; resolves true when etcd answers with its header. */
function answers(url: string, tls: EtcdTlsFiles | null, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const u = new URL('/v3/maintenance/status', url);
    const opts = {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      timeout: timeoutMs,
      ...(tls ? { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : {}),
    };
    const req = (tls ? httpsRequest : httpRequest)(u, opts, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && text.includes('cluster_id')));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end('{}');
  });
}

const killOnExit = new Set<number>();
process.once('exit', () => {
  for (const pid of killOnExit) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export async function startEtcd(options: { tls?: boolean; startTimeoutMs?: number } = {}): Promise<EtcdServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gwd-etcd-'));
  const dataDir = path.join(dir, 'data');
  const tls = options.tls ? makeEtcdCerts(dir) : null;
  const clientPort = await freePort();
  let peerPort = await freePort();
  for (let i = 0; i < 5 && peerPort === clientPort; i++) peerPort = await freePort();
  const scheme = tls ? 'https' : 'http';
  const clientUrl = `${scheme}://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const name = 'gwd-test';
  const args = [
    '--name', name,
    '--data-dir', dataDir,
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `${name}=${peerUrl}`,
    '--initial-cluster-state', 'new',
    '--logger', 'zap',
    '--log-outputs', 'stderr',
    ...(tls ? ['--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--trusted-ca-file', tls.ca, '--client-cert-auth'] : []),
  ];
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let out = '';

  const server: EtcdServer = {
    clientUrl,
    clientPort,
    peerPort,
    dataDir,
    dir,
    tls,
    pid: () => (child && child.exitCode === null && child.signalCode === null ? child.pid ?? null : null),
    running: () => server.pid() !== null,
    output: () => out,
    async start() {
      if (server.running()) return;
      const c = spawn('etcd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      c.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
      c.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
      exited = new Promise<void>((resolve) => {
        c.once('exit', () => {
          if (c.pid) killOnExit.delete(c.pid);
          resolve();
        });
        c.once('error', () => resolve());
      });
      if (c.pid) killOnExit.add(c.pid);
      const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
      while (Date.now() < deadline) {
        if (!server.running()) throw new Error(`etcd exited at start:\n${out.slice(-3000)}`);
        if (await answers(clientUrl, tls, 1000)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      await server.kill();
      throw new Error(`etcd did not answer on ${clientUrl} within ${options.startTimeoutMs ?? 15_000} ms:\n${out.slice(-3000)}`);
    },
    async stop(graceMs = 5000) {
      const pid = server.pid();
      if (pid === null) return;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      const pid = server.pid();
      if (pid === null) return;
      process.kill(pid, 'SIGKILL');
      await exited;
    },
    async cleanup() {
      await server.stop(2000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return server;
}
