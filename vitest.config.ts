import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds each long file took in CI (the vitest JSON reports of `.ci/run`, two workers on two
 * cores, 2026-12-04; safety-freeze and frame-fuzz scaled by what their trims saved), longest
 * first. The two workers take files from one queue, so a long file that starts last runs alone
 * at the end: on a clean clone vitest has no timings and sorts by file size, which
 * put bench-quick (a 32-line file, two minutes) last and left one worker idle for ~110 s. Files
 * not listed here take under 10 s each and run after these, in vitest's own order. Rough numbers
 * are enough: only the order matters.
 */
const CI_SECONDS: Record<string, number> = {
  'test/e2e/bench-quick.test.ts': 120,
  'test/e2e/safety-goodbye.test.ts': 119,
  'test/e2e/safety-freeze.test.ts': 85,
  'test/e2e/witness.test.ts': 73,
  'test/faults/frame-fuzz.test.ts': 55,
  'test/e2e/redundancy-failover.test.ts': 52,
  'test/faults/explore-real.test.ts': 41,
  'test/e2e/scripts.test.ts': 40,
  'test/faults/partition.test.ts': 35,
  'test/e2e/redundancy-pause.test.ts': 34,
  'test/e2e/sync-crash.test.ts': 31,
  'test/faults/corrupt-files.test.ts': 27,
  'test/faults/soak.test.ts': 26,
  'test/e2e/gwctl-startup.test.ts': 22,
  'test/e2e/status-pair.test.ts': 19,
  'test/faults/disk-faults-sync.test.ts': 19,
  'test/e2e/foundation.test.ts': 17,
  'test/faults/process-kill.test.ts': 17,
  'test/api/witness-etcd.test.ts': 16,
  'test/e2e/sync-pair.test.ts': 16,
  'test/e2e/gan-policies.test.ts': 16,
  'test/e2e/gan-ssl-pairing.test.ts': 16,
  'test/e2e/network-settings.test.ts': 16,
  'test/api/sync.test.ts': 14,
  'test/e2e/readme-walkthrough.test.ts': 14,
  'test/e2e/packaging.test.ts': 13,
  'test/unit/redundancy-explore.test.ts': 12,
  'test/api/gan-link.test.ts': 12,
  'test/e2e/witness-status.test.ts': 11,
  'test/api/snapshot.test.ts': 11,
  'test/api/config-export.test.ts': 10,
  'test/faults/witness-netns.test.ts': 10,
  'test/faults/api-fuzz.test.ts': 10,
};

/** Longest first (the table above), then the rest in vitest's order (its cached timings, else size). */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const root = this.ctx.config.root.replace(/\/$/, '');
    const seconds = (f: TestSpecification): number => CI_SECONDS[f.moduleId.startsWith(`${root}/`) ? f.moduleId.slice(root.length + 1) : f.moduleId] ?? 0;
    // Array.prototype.sort is stable: files with equal (or no) entry keep vitest's order.
    return base.sort((a, b) => seconds(b) - seconds(a));
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // e2e tests spawn real daemons; two cores: keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
    sequence: { sequencer: LongestFirst },
  },
});
