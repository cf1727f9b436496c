import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { StatusResponse, WitnessStatus } from '../../src/core/wire.js';
import { Metrics } from '../../src/daemon/metrics.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';
import { rawRequest } from '../helpers/raw-http.js';

let t: TestDaemon;
beforeEach(async () => {
  t = await startTestDaemon();
});
afterEach(async () => {
  await t.stop();
});

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  it('is Prometheus text with role, activity, peer and process metrics read from the live status', async () => {
    const r = await rawRequest(t.socketPath, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain');
    expect(value(r.text, 'gwd_role{role="Independent"}')).toBe(1);
    expect(value(r.text, 'gwd_role{role="Backup"}')).toBe(0);
    expect(value(r.text, 'gwd_activity{level="Active"}')).toBe(1);
    expect(value(r.text, 'gwd_activity{level="Cold"}')).toBe(0);
    expect(value(r.text, 'gwd_peer_connected')).toBe(0);
    expect(value(r.text, 'gwd_sync_state{state="NotApplicable"}')).toBe(1);
    expect(r.text).toContain('\nprocess_resident_memory_bytes ');
  });

  it('counts activations by reason and hook failures from the event stream', async () => {
    t.daemon.events.emit('activity.changed', { from: 'Cold', to: 'Active', reason: 'master-lost', epoch: 3 });
    t.daemon.events.emit('activity.changed', { from: 'Cold', to: 'Active', reason: 'master-lost', epoch: 5 });
    t.daemon.events.emit('hook.failed', { hook: 'preActivate' });
    const r = await rawRequest(t.socketPath, 'GET', '/metrics');
    expect(value(r.text, 'gwd_activations_total{reason="master-lost",to="Active"}')).toBe(2);
    expect(value(r.text, 'gwd_hook_failures_total{hook="preActivate"}')).toBe(1);
  });
});

describe('witness metrics (DESIGN.md section 9)', () => {
  const NAMES = ['gwd_witness_reachable', 'gwd_witness_holder', 'gwd_witness_lease_remaining_seconds'];

  /** The page of a Metrics fed the status of the test daemon with `witness` put in. */
  function page(witness: WitnessStatus | null): Promise<string> {
    const m = new Metrics({
      status: (): StatusResponse => {
        const s = t.daemon.services.status.status();
        return { ...s, redundancy: { ...s.redundancy, witness } };
      },
      msSinceLastPeerMessage: () => null,
      pendingApprovals: () => 0,
    });
    return m.text();
  }
  const etcd: WitnessStatus = {
    kind: 'etcd',
    endpoints: ['http://127.0.0.1:2379'],
    prefix: '/gwd/line-3',
    leaseTtlMs: 5000,
    reachable: true,
    holder: 'self',
    otherHolder: null,
    leaseRemainingMs: 4200,
    lastError: null,
  };

  it('without a witness the families are declared, with help, and have no sample', async () => {
    const r = await rawRequest(t.socketPath, 'GET', '/metrics');
    for (const name of NAMES) {
      expect(r.text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
      expect(r.text).toContain(`# TYPE ${name} gauge\n`);
      expect(value(r.text, name), name).toBeUndefined();
    }
  });

  it('the holder: reachable 1, holder 1, the lease remaining in seconds', async () => {
    const text = await page(etcd);
    expect(value(text, 'gwd_witness_reachable')).toBe(1);
    expect(value(text, 'gwd_witness_holder')).toBe(1);
    expect(value(text, 'gwd_witness_lease_remaining_seconds')).toBe(4.2);
  });

  it('the key held by the peer: holder 0, no lease; unreachable: 0; not asked yet: no reachable sample', async () => {
    const other = await page({ ...etcd, holder: 'other', otherHolder: { uuid: 'a', epoch: 7 }, leaseRemainingMs: null });
    expect(value(other, 'gwd_witness_reachable')).toBe(1);
    expect(value(other, 'gwd_witness_holder')).toBe(0);
    expect(value(other, 'gwd_witness_lease_remaining_seconds')).toBe(0);
    const down = await page({ ...etcd, reachable: false, holder: null, leaseRemainingMs: null, lastError: 'GW_ERR_WITNESS_UNREACHABLE: x' });
    expect(value(down, 'gwd_witness_reachable')).toBe(0);
    expect(value(down, 'gwd_witness_holder')).toBe(0);
    const unasked = await page({ ...etcd, reachable: null, holder: null, leaseRemainingMs: null });
    expect(value(unasked, 'gwd_witness_reachable')).toBeUndefined();
    expect(value(unasked, 'gwd_witness_holder')).toBe(0);
  });

  it('a witness removed again: its samples go with it', async () => {
    let current: WitnessStatus | null = etcd;
    const m = new Metrics({
      status: (): StatusResponse => {
        const s = t.daemon.services.status.status();
        return { ...s, redundancy: { ...s.redundancy, witness: current } };
      },
      msSinceLastPeerMessage: () => null,
      pendingApprovals: () => 0,
    });
    expect(value(await m.text(), 'gwd_witness_holder')).toBe(1);
    current = null;
    const text = await m.text();
    for (const name of NAMES) expect(value(text, name), name).toBeUndefined();
  });
});

describe('metrics over TCP (--metrics-port)', () => {
  it('serves /metrics on the given loopback port and nothing else', async () => {
    const d = await startTestDaemon({ metricsPort: 0, metricsBind: '127.0.0.1' });
    try {
      const port = d.daemon.metricsServer!.port!;
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('gwd_activity{level="Active"} 1');
      const other = await fetch(`http://127.0.0.1:${port}/v0/status`);
      expect(other.status).toBe(404);
      expect(((await other.json()) as { code: string }).code).toBe('GW_ERR_API_NOT_FOUND');
    } finally {
      await d.stop();
    }
  });
});
