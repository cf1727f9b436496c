import { describe, expect, it } from 'vitest';

import { planFailover } from '../../src/core/redundancy/index.js';

const SELF = 'aaaa1111-0000-4000-8000-000000000001';
const PEER = 'bbbb2222-0000-4000-8000-000000000002';
const view = (activity: 'Active' | 'Cold', peer: 'Active' | 'Cold' | null, connected = true) => ({
  activity,
  peer: peer === null ? null : { connected, uuid: PEER, address: null, activity: peer, epoch: 1 },
});

describe('failover --to: the named node ends Active, once', () => {
  it('is already done when the named node is Active', () => {
    expect(planFailover(view('Active', 'Cold'), SELF, 'self')).toEqual({ kind: 'already', target: 'self' });
    expect(planFailover(view('Cold', 'Active'), SELF, 'peer')).toEqual({ kind: 'already', target: 'peer' });
    expect(planFailover(view('Cold', 'Active'), SELF, 'BBBB2222')).toEqual({ kind: 'already', target: 'peer' });
  });
  it('requests the usual failover when it moves control to the named node', () => {
    expect(planFailover(view('Active', 'Cold'), SELF, 'peer')).toEqual({ kind: 'request', target: 'peer' });
    expect(planFailover(view('Cold', 'Active'), SELF, 'self')).toEqual({ kind: 'request', target: 'self' });
    expect(planFailover(view('Cold', null), SELF, 'aaaa1')).toEqual({ kind: 'request', target: 'self' });
  });
  it('refuses a name it cannot resolve, and the peer when neither is Active (only a node makes itself Active)', () => {
    expect(planFailover(view('Cold', 'Cold'), SELF, 'peer')).toMatchObject({ kind: 'refused', error: { code: 'GW_ERR_REDUNDANCY_FAILOVER_TARGET' } });
    expect(planFailover(view('Cold', 'Cold', false), SELF, 'peer')).toMatchObject({ kind: 'refused', error: { code: 'GW_ERR_REDUNDANCY_NO_PEER' } });
    expect(planFailover(view('Active', 'Cold'), SELF, 'ccc')).toMatchObject({ kind: 'refused', error: { code: 'GW_ERR_REDUNDANCY_FAILOVER_TARGET' } });
    expect(planFailover(view('Active', 'Cold'), SELF, 'cccc9999')).toMatchObject({ kind: 'refused', error: { code: 'GW_ERR_REDUNDANCY_FAILOVER_TARGET' } });
  });
});
