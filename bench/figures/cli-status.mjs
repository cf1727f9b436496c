import { GWCTL, startGwd, tempDir, timeCommand } from '../lib/procs.mjs';
import { summarize } from '../lib/stats.mjs';

/**
 * Figure 1: wall time of `gwctl status` against `node -e 0`, the floor any Node CLI pays.
 * Runs are interleaved (baseline, target, baseline, ...) so machine noise hits both alike.
 */
export async function cliStatus({ runs }) {
  const t = tempDir();
  const gwd = await startGwd(t.dir);
  try {
    // Warm the page cache for both.
    timeCommand(process.execPath, ['-e', '0']);
    timeCommand(process.execPath, [GWCTL, '--socket', gwd.socket, 'status']);
    const base = [];
    const target = [];
    for (let i = 0; i < runs; i++) {
      base.push(timeCommand(process.execPath, ['-e', '0']));
      target.push(timeCommand(process.execPath, [GWCTL, '--socket', gwd.socket, 'status']));
    }
    const b = summarize(base);
    const s = summarize(target);
    return [
      {
        id: 'cli-status',
        name: '`gwctl status` wall time',
        unit: 'ms',
        stats: s,
        baseline: { name: '`node -e 0`', stats: b },
        ratio: s.median / b.median,
        target: 'median ratio <= 2.0',
        met: s.median / b.median <= 2.0,
      },
    ];
  } finally {
    await gwd.stop();
    t.cleanup();
  }
}
