/**
 * DESIGN.md section 7: gwd's own metrics are `gwd_*`; the standard process and runtime metrics keep
 * their standard names, so stock dashboards and alert rules find them; and Prometheus's own linter
 * (`promtool check metrics`, Debian package prometheus, installed by .ci/run) accepts the page.
 */
import { spawn } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { StatusResponse } from '../../src/core/wire.js';
import { Metrics } from '../../src/daemon/metrics.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { rawRequest } from '../helpers/raw-http.js';

let t: TestDaemon;
let text: string;
beforeAll(async () => {
  t = await startTestDaemon();
  const r = await rawRequest(t.socketPath, 'GET', '/metrics');
  expect(r.status).toBe(200);
  text = r.text;
});
afterAll(async () => {
  await t.stop();
});

/** Every metric family the page declares (`# TYPE <name> <type>`). */
function families(page: string): string[] {
  return page
    .split('\n')
    .filter((l) => l.startsWith('# TYPE '))
    .map((l) => l.split(' ')[2]!);
}

function promtool(input: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', (err) => reject(new Error(`promtool could not run (.ci/run installs the Debian package prometheus): ${err.message}`)));
    child.once('close', (code) => resolve({ code, output }));
    child.stdin.end(input);
  });
}

describe('metric names', () => {
  it('the standard process and runtime metrics keep their standard names, without the gwd_ prefix', () => {
    const names = families(text);
    for (const standard of [
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
      'process_start_time_seconds',
      'process_open_fds',
      'nodejs_heap_size_used_bytes',
      'nodejs_heap_size_total_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_version_info',
    ]) {
      expect(names, standard).toContain(standard);
    }
    expect(names.filter((n) => n.startsWith('gwd_process_') || n.startsWith('gwd_nodejs_'))).toEqual([]);
  });

  it("every other metric is gwd's own, named gwd_*", () => {
    const others = families(text).filter((n) => !n.startsWith('process_') && !n.startsWith('nodejs_'));
    expect(others.length).toBeGreaterThanOrEqual(10);
    expect(others.filter((n) => !n.startsWith('gwd_'))).toEqual([]);
  });

  it("promtool check metrics finds nothing but prom-client's own nodejs_active_*_total gauge names", async () => {
    const r = await promtool(text);
    const findings = r.output.split('\n').filter(Boolean);
    // prom-client names three gauges with a counter's suffix; nothing gwd names may be reported.
    const allowed = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
    expect(findings.filter((l) => !allowed.test(l)), r.output).toEqual([]);
    // promtool exits 3 for lint findings only, 1 for a page it cannot parse.
    expect([0, 3], r.output).toContain(r.code);
  });

  it('with a witness too: the gwd_witness_* samples pass promtool (seconds, not ms: promtool refuses abbreviated units)', async () => {
    const m = new Metrics({
      status: (): StatusResponse => {
        const s = t.daemon.services.status.status();
        const witness = {
          kind: 'etcd' as const,
          endpoints: ['http://127.0.0.1:2379'],
          prefix: '/gwd/line-3',
          leaseTtlMs: 5000,
          reachable: true,
          holder: 'self' as const,
          otherHolder: null,
          leaseRemainingMs: 4200,
          lastError: null,
        };
        return { ...s, redundancy: { ...s.redundancy, witness } };
      },
      msSinceLastPeerMessage: () => null,
      pendingApprovals: () => 0,
    });
    const page = await m.text();
    expect(page).toContain('\ngwd_witness_lease_remaining_seconds 4.2\n');
    const r = await promtool(page);
    expect(r.output.split('\n').filter((l) => l.startsWith('gwd_')), r.output).toEqual([]);
    expect([0, 3], r.output).toContain(r.code);
  });
});
