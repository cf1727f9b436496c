import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';

import { cpuTicks, events, Node, rssKb } from '../lib/pair.mjs';
import { tempDir, timeCommand } from '../lib/procs.mjs';
import { summarize } from '../lib/stats.mjs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Figure 8: first start (identity and certificate), then RSS and CPU of a daemon left idle. */
export async function idleFigures({ idleSecs, starts }) {
  const firstStarts = [];
  const baseline = [];
  for (let i = 0; i < starts; i++) {
    const t = tempDir('gwd-bench-idle-');
    const node = new Node('bench-idle', path.join(t.dir, 'n'), 0);
    baseline.push(timeCommand(process.execPath, ['-e', '0']));
    node.start();
    // The daemon's own measure, from process start to ready (gwctl's polling is not part of it).
    firstStarts.push(events(node.socket, 'daemon').find((e) => e.type === 'daemon.started').data.startupMs);
    await node.stop();
    t.cleanup();
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
  return [
    {
      id: 'first-start',
      name: 'first start: process start to ready (identity, RSA-2048 key, certificate)',
      unit: 'ms',
      stats: fs,
      baseline: { name: '`node -e 0`', stats: summarize(baseline) },
      ratio: fs.median / summarize(baseline).median,
      target: 'median <= 500 ms',
      met: fs.median <= 500,
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
