import { afterEach, beforeEach, describe, expect, it } from 'vitest';

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
