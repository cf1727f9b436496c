import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/processes.js';

/**
 * The benchmark harness in quick mode (a few runs of each figure): CI checks that every figure is
 * produced with numbers, not their values (machines here are shared and noisy).
 */
describe('benchmark harness (quick mode)', () => {
  it('produces every figure with median, p99 and max', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bench/run.mjs'), '--quick', '--no-write', '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      results: Array<{ id: string; stats: { n: number; median: number; p99: number; max: number } }>;
    };
    const ids = report.results.map((x) => x.id);
    for (const id of ['cli-version', 'cli-status', 'cli-version-fallback', 'cli-status-fallback', 'kill-takeover', 'restart-overlap', 'restart-gap', 'silence-overshoot', 'failover-handover', 'failover-overlap', 'first-start', 'idle-rss', 'idle-cpu', 'sync-apply', 'sync-snapshot', 'change-latency', 'burst-rate', 'full-snapshot', 'witness-kill-takeover', 'witness-partition-overlap', 'plain-partition-overlap', 'silent-takeover', 'false-takeover', 'full-snapshot-100k']) {
      expect(ids, `figure ${id}`).toContain(id);
    }
    for (const x of report.results) {
      expect(x.stats.n, x.id).toBeGreaterThan(0);
      for (const v of [x.stats.median, x.stats.p99, x.stats.max]) expect(Number.isFinite(v), `${x.id}: ${v}`).toBe(true);
    }
  }, 300_000);
});
