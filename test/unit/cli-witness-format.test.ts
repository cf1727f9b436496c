/**
 * The witness (DESIGN.md section 9) as an operator reads it: the `Witness` line of `gwctl status`
 * and of `gwctl redundancy show`. The real processes are in test/e2e/witness-status.test.ts.
 */
import { describe, expect, it } from 'vitest';

import { formatRedundancy } from '../../src/cli/commands/redundancy.js';
import { formatWitness } from '../../src/cli/commands/status.js';
import { NO_COLORS } from '../../src/cli/io.js';
import type { RedundancySettings } from '../../src/core/settings/types.js';
import type { WitnessStatus } from '../../src/core/wire.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';
import { parseSettings } from '../../src/daemon/settings/settings-file.js';

/** An empty redundancy.json with every default filled, as gwd reads it. */
const defaultRedundancySettings = (): RedundancySettings =>
  parseSettings<RedundancySettings>('/x/redundancy.json', '{}', 'gwd:settings/redundancy', new SchemaRegistry());

const SELF = '11111111-2222-4333-8444-555555555555';
const PEER = '3f76a0c2-9b1e-4d2a-8c3f-0123456789ab';
const nodes = { self: SELF, peer: PEER, active: false };

const w: WitnessStatus = {
  kind: 'etcd',
  endpoints: ['http://10.0.0.7:2379'],
  prefix: '/gwd/line-3',
  leaseTtlMs: 5000,
  reachable: true,
  holder: 'self',
  otherHolder: null,
  leaseRemainingMs: 4237,
  lastError: null,
};

describe('gwctl status: the Witness line', () => {
  it('the holder: the lease left, in seconds', () => {
    expect(formatWitness(w, { ...nodes, active: true }, NO_COLORS)).toBe('etcd /gwd/line-3: holds the key (lease 4.2 s left)');
  });

  it('the holder whose renewals get no answer: both', () => {
    const s = formatWitness({ ...w, reachable: false, leaseRemainingMs: 1500, lastError: 'GW_ERR_WITNESS_UNREACHABLE: no endpoint answered' }, nodes, NO_COLORS);
    expect(s).toBe('etcd /gwd/line-3: holds the key (lease 1.5 s left), unreachable (GW_ERR_WITNESS_UNREACHABLE: no endpoint answered)');
  });

  it('the key held by the peer, by this node in an earlier run, by a stranger, by an unnamed lease', () => {
    const other = { ...w, holder: 'other' as const, leaseRemainingMs: null };
    expect(formatWitness({ ...other, otherHolder: { uuid: PEER, epoch: 7 } }, nodes, NO_COLORS)).toBe(
      'etcd /gwd/line-3: reachable, key held by the peer (3f76a0c2…, epoch 7) at the last try',
    );
    expect(formatWitness({ ...other, otherHolder: { uuid: SELF, epoch: 4 } }, nodes, NO_COLORS)).toBe(
      'etcd /gwd/line-3: reachable, key held by an earlier run of this node (epoch 4; its lease runs out by itself) at the last try',
    );
    expect(formatWitness({ ...other, otherHolder: { uuid: 'abcdef01-0000-4000-8000-000000000000', epoch: 2 } }, nodes, NO_COLORS)).toBe(
      'etcd /gwd/line-3: reachable, key held by abcdef01… (epoch 2) at the last try',
    );
    expect(formatWitness({ ...other, otherHolder: null }, nodes, NO_COLORS)).toBe('etcd /gwd/line-3: reachable, key held by another lease at the last try');
  });

  it('unreachable, with the coded error', () => {
    const s = formatWitness(
      { ...w, reachable: false, holder: null, leaseRemainingMs: null, lastError: 'GW_ERR_WITNESS_UNREACHABLE: no endpoint of the witness answered acquire' },
      nodes,
      NO_COLORS,
    );
    expect(s).toBe('etcd /gwd/line-3: unreachable (GW_ERR_WITNESS_UNREACHABLE: no endpoint of the witness answered acquire)');
  });

  it('not asked yet: a standing-by node; an Active one is asking', () => {
    const fresh = { ...w, reachable: null, holder: null, leaseRemainingMs: null };
    expect(formatWitness(fresh, nodes, NO_COLORS)).toBe('etcd /gwd/line-3: not asked yet (a standing-by node asks etcd only when it takes over)');
    expect(formatWitness(fresh, { ...nodes, active: true }, NO_COLORS)).toBe('etcd /gwd/line-3: asking for the key');
  });

  it('reachable, key not held (given back, or the lease gone)', () => {
    const s = { ...w, holder: null, leaseRemainingMs: null };
    expect(formatWitness(s, nodes, NO_COLORS)).toBe('etcd /gwd/line-3: reachable, key not held by this node');
    expect(formatWitness({ ...s, lastError: 'the lease is gone' }, nodes, NO_COLORS)).toBe('etcd /gwd/line-3: reachable, key not held by this node (the lease is gone)');
  });
});

describe('gwctl redundancy show: the Witness line', () => {
  const line = (text: string): string | undefined => text.split('\n').find((l) => l.startsWith('Witness '));

  it('`-` without a witness', () => {
    expect(line(formatRedundancy(defaultRedundancySettings()))).toMatch(/^Witness\s+-$/);
  });

  it('endpoints, prefix, lease TTL; the TLS files when set', () => {
    const witness = { kind: 'etcd' as const, endpoints: ['http://10.0.0.7:2379', 'http://10.0.0.8:2379'], prefix: '/gwd/line-3', leaseTtlMs: 5000 };
    expect(line(formatRedundancy({ ...defaultRedundancySettings(), witness }))).toMatch(
      /^Witness\s+etcd http:\/\/10\.0\.0\.7:2379, http:\/\/10\.0\.0\.8:2379 \(prefix \/gwd\/line-3, lease TTL 5000 ms\)$/,
    );
    const tls = { ca: '/etc/gwd/ca.pem', cert: '/etc/gwd/c.pem', key: '/etc/gwd/c.key' };
    expect(line(formatRedundancy({ ...defaultRedundancySettings(), witness: { ...witness, tls } }))).toContain(
      '(prefix /gwd/line-3, lease TTL 5000 ms, TLS ca /etc/gwd/ca.pem cert /etc/gwd/c.pem key /etc/gwd/c.key)',
    );
  });
});
