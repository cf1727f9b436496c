import path from 'node:path';

import { pairedRuns, ratioFigure } from '../lib/alternate.mjs';
import { GWCTL, ROOT, startGwd, tempDir } from '../lib/procs.mjs';

/**
 * gwctl start-up, which scripts pay on every call: wall time of `gwctl --version` (start-up alone)
 * and `gwctl status` (start-up and one call to a running gwd), each run right after a run of
 * `node -e 0`, the floor of any Node CLI; judged on the median ratio of these pairs. The same two commands
 * through dist/cli/main.js, the plain tsc output that bin/gwctl falls back to without its bundle,
 * are measured in the same rounds for scale. bench/cli-startup-steps.mjs measures each step from
 * one to the other.
 */
export async function cliStartup({ rounds, budgetMs }) {
  const t = tempDir();
  const gwd = await startGwd(t.dir);
  try {
    const node = process.execPath;
    const fallback = path.join(ROOT, 'dist', 'cli', 'main.js');
    const s = pairedRuns(
      {
        version: [node, [GWCTL, '--version']],
        status: [node, [GWCTL, '--socket', gwd.socket, 'status']],
        fallbackVersion: [node, [fallback, '--version']],
        fallbackStatus: [node, [fallback, '--socket', gwd.socket, 'status']],
      },
      [node, ['-e', '0']],
      { rounds, budgetMs },
    );
    const base = '`node -e 0`';
    return [
      ratioFigure({ id: 'cli-version', name: '`gwctl --version` wall time', runs: s.version, baselineName: base, maxRatio: 1.3 }),
      ratioFigure({ id: 'cli-status', name: '`gwctl status` wall time', runs: s.status, baselineName: base, maxRatio: 1.3 }),
      ratioFigure({ id: 'cli-version-fallback', name: '`gwctl --version` without the bundle (dist/cli/main.js)', runs: s.fallbackVersion, baselineName: base }),
      ratioFigure({ id: 'cli-status-fallback', name: '`gwctl status` without the bundle (dist/cli/main.js)', runs: s.fallbackStatus, baselineName: base }),
    ];
  } finally {
    await gwd.stop();
    t.cleanup();
  }
}
