import { spawn } from 'node:child_process';
import { request } from 'node:http';
import path from 'node:path';

import { freePort } from './pair.mjs';
import { tempDir } from './procs.mjs';

/** etcd answers /health with 200 and `"health":"true"` (a member without quorum answers 503 or false). */
function answers(url) {
  return new Promise((resolve) => {
    const req = request(`${url}/health`, { timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && /"health"\s*:\s*"true"/.test(body)));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

const READY_MS = 15_000;

/**
 * One etcd member (Debian package etcd-server) on free loopback ports; stopped by PID. Throws, with
 * what went wrong, when etcd is not installed, exits, or is not healthy within 15 s: the witness
 * figures are not measured without it.
 */
export async function startEtcd() {
  const t = tempDir('gwd-bench-etcd-');
  const clientPort = await freePort();
  const peerPort = await freePort();
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const child = spawn('etcd', [
    '--name', 'bench', '--data-dir', path.join(t.dir, 'data'),
    '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `bench=${peerUrl}`, '--initial-cluster-state', 'new', '--log-level', 'error',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  // The last of what etcd said, for the message if it does not come up.
  let said = '';
  child.stderr.on('data', (c) => (said = (said + c.toString()).slice(-2000)));
  let failed = null;
  // A missing binary is an 'error' event (ENOENT), not an exit.
  child.once('error', (err) => (failed = err.code === 'ENOENT' ? 'etcd is not installed (no `etcd` on PATH; Debian: apt-get install etcd-server)' : `etcd could not be started: ${err.message}`));
  const exited = new Promise((r) => {
    child.once('exit', (code, signal) => {
      failed ??= `etcd exited (${signal ?? `status ${code}`}) before it was healthy`;
      r();
    });
    child.once('error', () => r());
  });
  const deadline = Date.now() + READY_MS;
  let healthy = false;
  while (!failed && Date.now() < deadline && !(healthy = await answers(clientUrl))) await new Promise((r) => setTimeout(r, 100));
  if (!healthy) {
    const why = failed ?? `etcd at ${clientUrl} did not answer /health with "health":"true" within ${READY_MS / 1000} s`;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    if (child.pid !== undefined) await exited;
    t.cleanup();
    throw new Error(`bench: the witness figures need etcd: ${why}${said.trim() ? `; etcd said: ${said.trim()}` : ''}`);
  }
  return {
    clientUrl,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGTERM');
      await exited;
      t.cleanup();
    },
  };
}
