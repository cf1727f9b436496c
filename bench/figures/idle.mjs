import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';

import { cpuTicks, events, Node, rssKb } from '../lib/pair.mjs';
import { tempDir, timeCommand } from '../lib/procs.mjs';
import { summarize } from '../lib/stats.mjs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * Figure 8: first start (identity and certificate) against the same work done natively, then RSS
 * and CPU of a daemon left idle.
 *
 * First start: `startupMs` of daemon.started (performance.now() at ready: from the process's start,
 * so node's own start is in it, as it is in the baseline's wall time; gwctl's polling for ready is
 * not). The baseline, run right before each start: the wall time of `node -e 0` (the same runtime
 * start) plus that of `openssl req -x509 -newkey rsa:2048 -nodes` (the same key and self-signed
 * certificate, made natively). The sample is the pair's ratio; the figure their median.
 */
export async function idleFigures({ idleSecs, starts }) {
  const firstStarts = [];
  const baseline = [];
  const ratios = [];
  for (let i = 0; i < starts; i++) {
    const t = tempDir('gwd-bench-idle-');
    const node = new Node('bench-idle', path.join(t.dir, 'n'), 0);
    const b =
      timeCommand(process.execPath, ['-e', '0']) +
      timeCommand('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(t.dir, 'K'), '-out', path.join(t.dir, 'C'), '-subj', '/CN=x', '-days', '1']);
    node.start();
    const ms = events(node.socket, 'daemon').find((e) => e.type === 'daemon.started').data.startupMs;
    await node.stop();
    t.cleanup();
    firstStarts.push(ms);
    baseline.push(b);
    ratios.push(ms / b);
  }
  const t = tempDir('gwd-bench-idle-');
  const node = new Node('bench-idle', path.join(t.dir, 'n'), 0);
  node.start();
  // A plain idle node process, for scale.
  const idleNode = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const ticks0 = cpuTicks(node.pid);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, idleSecs * 1000));
  const cpuPct = ((cpuTicks(node.pid) - ticks0) / CLK_TCK / ((Date.now() - t0) / 1000)) * 100;
  const rss = rssKb(node.pid) / 1024;
  const baseRss = rssKb(idleNode.pid) / 1024;
  idleNode.kill('SIGKILL');
  await node.stop();
  t.cleanup();
  const fs = summarize(firstStarts);
  const ratio = summarize(ratios).median;
  return [
    {
      id: 'first-start',
      name: `first start: process start to ready (startupMs: identity, RSA-2048 key, certificate); ratio: median of each start against the baseline run just before it`,
      unit: 'ms',
      stats: fs,
      baseline: { name: '`node -e 0` + `openssl req -x509 -newkey rsa:2048 -nodes`', stats: summarize(baseline) },
      ratio,
      target: 'median ratio <= 2.0',
      met: ratio <= 2.0,
    },
    {
      id: 'idle-rss',
      name: `RSS after ${idleSecs} s idle`,
      unit: 'MB',
      stats: summarize([rss]),
      baseline: { name: 'idle `node -e setInterval`', stats: summarize([baseRss]) },
      ratio: rss / baseRss,
      target: '<= 80 MB',
      met: rss <= 80,
    },
    {
      id: 'idle-cpu',
      name: `CPU over ${idleSecs} s idle`,
      unit: '%',
      stats: summarize([cpuPct]),
      target: '<= 1 %',
      met: cpuPct <= 1,
    },
  ];
}
