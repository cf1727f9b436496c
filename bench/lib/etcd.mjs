import { spawn } from 'node:child_process';
import { request } from 'node:http';
import path from 'node:path';

import { freePort } from './pair.mjs';
import { tempDir } from './procs.mjs';

/** etcd answers /health with 200. */
function answers(url) {
  return new Promise((resolve) => {
    const req = request(`${url}/health`, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** One etcd member (Debian package etcd-server) on free loopback ports; stopped by PID. */
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
  ], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  for (let i = 0; i < 150 && !(await answers(clientUrl)); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    clientUrl,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGTERM');
      await exited;
      t.cleanup();
    },
  };
}
