import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';

import { REDUNDANCY_MESSAGE_SCHEMA, STATE_REPORT_SCHEMA } from '../../src/core/redundancy/index.js';
import type { RedundancyMessageType } from '../../src/core/redundancy/index.js';
import { Solo } from '../helpers/redundancy-solo.js';
import { Sim } from '../helpers/redundancy-sim.js';

describe('redundancy protocol messages', () => {
  const ajv = new Ajv({ allErrors: true, strict: true });
  const validateMessage = ajv.compile(REDUNDANCY_MESSAGE_SCHEMA);
  const validateReport = ajv.compile(STATE_REPORT_SCHEMA);

  it('every message the machine sends in a busy simulated life validates against REDUNDANCY_MESSAGE_SCHEMA, and every type occurs', () => {
    const sim = new Sim(
      { joinWaitTime: 1000, hooks: { onActivityChange: null, preActivate: 'pre', timeoutMs: 500 } },
      { joinWaitTime: 1000, hooks: { onActivityChange: null, preActivate: 'pre', timeoutMs: 500 } },
    );
    sim.start(sim.master);
    sim.start(sim.backup);
    sim.autoDial();
    sim.run(5000);
    sim.backup.preActivate = () => false;
    sim.input(sim.master, { type: 'failoverRequested', force: false }); // backup vetoes: failoverReject
    sim.run(5000);
    sim.backup.preActivate = () => true;
    sim.input(sim.master, { type: 'failoverRequested', force: false }); // request, confirm, state
    sim.run(5000);
    sim.input(sim.backup, { type: 'failoverRequested', force: false }); // and back
    sim.run(5000);
    sim.freeze(sim.master); // silence, then stateQuery on thaw
    sim.run(15_000);
    sim.thaw(sim.master);
    sim.run(5000);
    sim.stop(sim.backup); // steppingDown
    sim.run(1000);
    // Crossing requests: the master abandons its own with a cancel.
    const solo = new Solo({ role: 'Master' }, null, 'm');
    solo.feed({ type: 'started' });
    solo.connect({ role: 'Backup' }, 'b');
    solo.msg({ type: 'redundancy.standDownRequest', id: 'b:1', reason: 'requested', epoch: 0, operator: true, failoverIds: [] });
    const seen = new Set<RedundancyMessageType>();
    for (const sent of [...sim.nodes.map((n) => n.sent.map((s) => s.message)), solo.sent()]) {
      for (const message of sent) {
        seen.add(message.type);
        expect(validateMessage(message), `${JSON.stringify(message)}: ${ajv.errorsText(validateMessage.errors)}`).toBe(true);
      }
    }
    expect([...seen].sort()).toEqual(
      [
        'redundancy.state',
        'redundancy.stateQuery',
        'redundancy.standDownRequest',
        'redundancy.standDownConfirm',
        'redundancy.standDownCancel',
        'redundancy.failoverRequest',
        'redundancy.failoverReject',
        'redundancy.steppingDown',
      ].sort(),
    );
  });

  it('the hello StateReport validates, and malformed messages are rejected', () => {
    const sim = new Sim();
    sim.start(sim.master);
    expect(validateReport(sim.master.machine!.report())).toBe(true);
    expect(validateMessage({ type: 'redundancy.standDownConfirm', id: 'x', epoch: 1, activity: 'Active' })).toBe(false);
    expect(validateMessage({ type: 'redundancy.state', role: 'Master' })).toBe(false);
    expect(validateMessage({ type: 'redundancy.steppingDown', epoch: -1 })).toBe(false);
    expect(validateMessage({ type: 'redundancy.nope' })).toBe(false);
    expect(validateMessage({ type: 'redundancy.stateQuery', extra: 1 })).toBe(false);
  });
});
