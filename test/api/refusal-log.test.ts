import { randomUUID } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { PROTOCOL_VERSION } from '../../src/core/version.js';
import { ganUrl, hello, peerSession, stateReport } from '../helpers/frame-fuzz.js';
import { startTestDaemon, type TestDaemon } from '../helpers/in-process-daemon.js';

/**
 * A refused peer redials every second until an operator acts. The master's log says so once a
 * minute per peer and reason, not at every dial (issue 19: "a refused peer is logged every second
 * forever"), though each dial comes from another port.
 */
const started: TestDaemon[] = [];
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const t of started) process.stderr.write(t.logs.join('').slice(-20_000));
  await Promise.all(started.splice(0).map((t) => t.stop().catch(() => undefined)));
});

const refusals = (t: TestDaemon): Array<{ uuid: string; code: string; repeated?: number }> =>
  t.logs
    .join('')
    .split('\n')
    .filter((l) => l.includes('incoming gateway network connection refused'))
    .map((l) => JSON.parse(l) as { uuid: string; code: string; repeated?: number });

describe('refused peers in the log', () => {
  it('five refused dials of one peer are one line; another peer gets its own', async () => {
    const master = await startTestDaemon({ systemName: 'plant-a', logLevel: 'info' });
    started.push(master);
    await master.client.configureNetwork({ requireSsl: false, securityPolicy: 'Unrestricted' });
    await master.client.configureRedundancy({ role: 'Master', joinWaitTime: 0 });
    const url = ganUrl(master.daemon.gan.listenerViews().plain.port!, false);
    const dial = async (uuid: string) => {
      const state = { ...stateReport(null), role: 'Backup', activity: 'Cold', epoch: 0 };
      // Another protocol version: refused at the hello, as every redial of an old backup is.
      const res = await peerSession(url, { hello: { ...hello(uuid, 'plant-b', { role: 'Backup', state }), protocol: PROTOCOL_VERSION + 1 }, frames: [] });
      expect(res.admitted).toBe(false);
      expect(res.closeReason).toBe('GW_ERR_GAN_INCOMPATIBLE_PROTOCOL');
    };
    const old = randomUUID();
    for (let i = 0; i < 5; i++) await dial(old);
    const other = randomUUID();
    await dial(other);
    expect(refusals(master).map((r) => [r.uuid, r.code, r.repeated])).toEqual([
      [old, 'GW_ERR_GAN_INCOMPATIBLE_PROTOCOL', undefined],
      [other, 'GW_ERR_GAN_INCOMPATIBLE_PROTOCOL', undefined],
    ]);
  });
});
