import { describe, expect, it } from 'vitest';

import { findCertificates, findConnection } from '../../src/core/gan/peer-lookup.js';
import { labelFromSystemName, labelProblem } from '../../src/core/node-label.js';
import { planFailover } from '../../src/core/redundancy/index.js';
import type { CertEntry, ConnectionEntry } from '../../src/core/wire.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';

const UUID_A = '6dcad415-b117-4c4d-a848-9464cd5b260c';
const UUID_B = '7353d034-cdd2-4589-9ea2-197df6e9075a';
const UUID_C = '7353ffff-0000-4000-8000-000000000003';

describe('label rules', () => {
  it('accepts 1 to 64 printable characters, inner spaces and any script', () => {
    for (const ok of ['plant-b', 'B', 'Halle 3 / Linie 2', 'ständer-ø', 'x'.repeat(64), '工厂-2']) expect(labelProblem(ok)).toBeNull();
  });

  it('refuses empty, too long, control characters, | and outer spaces, saying why', () => {
    expect(labelProblem('')).toMatch(/empty/);
    expect(labelProblem('x'.repeat(65))).toMatch(/it has 65/);
    expect(labelProblem('a\tb')).toMatch(/printable/);
    expect(labelProblem('a\u0000b')).toMatch(/printable/);
    expect(labelProblem('a|b')).toMatch(/\|/);
    expect(labelProblem(' plant')).toMatch(/space/);
    expect(labelProblem('plant ')).toMatch(/space/);
  });

  it('a first start takes the system name, made fit', () => {
    expect(labelFromSystemName('plant-b')).toBe('plant-b');
    expect(labelFromSystemName(`${'y'.repeat(100)}`)).toBe('y'.repeat(64));
    expect(labelFromSystemName('a|b\tc')).toBe('abc');
    expect(labelFromSystemName(' |\n ')).toBe('gwd');
    expect(labelProblem(labelFromSystemName(`  ${'é'.repeat(70)} `))).toBeNull();
  });
});

function conn(id: string, uuid: string | null, label: string | null, direction: 'incoming' | 'outgoing' = 'incoming'): ConnectionEntry {
  return {
    id,
    direction,
    state: 'pending',
    status: 'PendingApproval',
    peer: { uuid, systemName: id.split('|')[0]!, label, address: '127.0.0.1:1', role: 'Backup' },
    lastError: null,
    pingMs: null,
    ssl: true,
    since: '2026-01-01T00:00:00.000Z',
  };
}

describe('findConnection: label, UUID (prefix) and the old id spellings', () => {
  // After the first sync the backup carries the master's system name: its id starts with plant-a.
  const list = [conn(`plant-a|${UUID_B}`, UUID_B, 'plant-b'), conn(`plant-a|${UUID_A}`, UUID_A, 'plant-a', 'outgoing')];

  it('the label names the peer whatever its system name is now, in any case', () => {
    for (const input of ['plant-b', 'PLANT-B', ` plant-b `]) {
      const m = findConnection(list, input);
      expect(m.kind, input).toBe('one');
      if (m.kind === 'one') expect(m.items[0]!.peer.uuid).toBe(UUID_B);
    }
  });

  it('a UUID, a UUID prefix, the id and an id prefix still work', () => {
    for (const input of [UUID_B, '7353d034', '7353', `plant-a|${UUID_B}`, 'plant-a|7353', `plant-b|${UUID_B}`, 'plant-b|73']) {
      const m = findConnection(list, input);
      expect(m.kind, input).toBe('one');
      if (m.kind === 'one') expect(m.items[0]!.peer.uuid, input).toBe(UUID_B);
    }
  });

  it('an ambiguous word lists the candidates by id; an unknown one matches nothing', () => {
    expect(findConnection(list, 'plant-a|')).toEqual({ kind: 'ambiguous', keys: [`plant-a|${UUID_A}`, `plant-a|${UUID_B}`] });
    const two = [...list, conn(`plant-c|${UUID_C}`, UUID_C, 'plant-c')];
    expect(findConnection(two, '7353')).toEqual({ kind: 'ambiguous', keys: [`plant-a|${UUID_B}`, `plant-c|${UUID_C}`] });
    expect(findConnection(list, 'plant-z')).toEqual({ kind: 'none' });
    expect(findConnection(list, 'x')).toEqual({ kind: 'none' });
    expect(findConnection(list, '')).toEqual({ kind: 'none' });
  });

  it('two peers with one label are ambiguous, named by their ids', () => {
    const same = [conn(`x|${UUID_B}`, UUID_B, 'twin'), conn(`y|${UUID_C}`, UUID_C, 'twin')];
    expect(findConnection(same, 'twin')).toEqual({ kind: 'ambiguous', keys: [`x|${UUID_B}`, `y|${UUID_C}`] });
  });

  it('a label prefix works as an id prefix does (`<label>|<uuid>`), when unique', () => {
    const lone = [conn(`zz|${UUID_B}`, UUID_B, 'plant-b')];
    expect(findConnection(lone, 'plant')).toMatchObject({ kind: 'one' });
    const two = [...lone, conn(`zz|${UUID_C}`, UUID_C, 'plant-c')];
    expect(findConnection(two, 'plant')).toEqual({ kind: 'ambiguous', keys: [`zz|${UUID_B}`, `zz|${UUID_C}`] });
    expect(findConnection(two, 'plant-c')).toMatchObject({ kind: 'one', items: [two[1]] });
  });
});

function cert(fingerprint: string, direction: 'incoming' | 'outgoing', uuid: string | null, label: string | null, systemName = 'plant-a'): CertEntry {
  return {
    fingerprint,
    direction,
    state: 'pending',
    subject: 'CN=x',
    notAfter: '2036-01-01T00:00:00.000Z',
    peer: { uuid, systemName, label, address: null },
    flag: null,
    firstSeen: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

describe('findCertificates: fingerprint first, then the peer by label or UUID', () => {
  const FP_B = '70d46d5466f4515cf6b421b1e423117ab224891367ec98cb7fe56f243afd3305';
  const FP_A = 'cb3fd448bef994081518397622a517a704c4f2dd65023dde81ff30c22fb9d360';
  const list = [cert(FP_B, 'incoming', UUID_B, 'plant-b'), cert(FP_B, 'outgoing', UUID_B, 'plant-b'), cert(FP_A, 'outgoing', UUID_A, 'plant-a')];

  it('a fingerprint or 8+ characters of it, with colons or not, as before', () => {
    expect(findCertificates(list, '70d46d54')).toMatchObject({ kind: 'one', items: [list[0], list[1]] });
    expect(findCertificates(list, 'CB:3F:D4:48')).toMatchObject({ kind: 'one', items: [list[2]] });
    expect(findCertificates(list, '70d4')).toEqual({ kind: 'too-short' });
  });

  it("the peer's label (whole) or UUID prefix of 8+ names its certificate", () => {
    expect(findCertificates(list, 'plant-b')).toMatchObject({ kind: 'one', items: [list[0], list[1]] });
    expect(findCertificates(list, 'Plant-A')).toMatchObject({ kind: 'one', items: [list[2]] });
    expect(findCertificates(list, '7353d034')).toMatchObject({ kind: 'one', items: [list[0], list[1]] });
    expect(findCertificates(list, 'plant')).toEqual({ kind: 'too-short' });
    expect(findCertificates(list, 'nobody-here-at-all')).toEqual({ kind: 'none' });
  });

  it('a peer that showed two certificates is ambiguous, listed by fingerprint', () => {
    const FP_B2 = 'ff'.repeat(32);
    const two = [...list, cert(FP_B2, 'incoming', UUID_B, 'plant-b')];
    expect(findCertificates(two, 'plant-b')).toEqual({ kind: 'ambiguous', keys: [FP_B, FP_B2] });
  });
});

describe('failover --to a label', () => {
  const SELF = 'aaaa1111-0000-4000-8000-000000000001';
  const PEER = 'bbbb2222-0000-4000-8000-000000000002';
  const view = (activity: 'Active' | 'Cold', peer: 'Active' | 'Cold') => ({
    activity,
    peer: { connected: true, uuid: PEER, address: null, activity: peer, epoch: 1 },
  });

  it('names this node or its peer by label, case-insensitive', () => {
    const labels = { self: 'plant-a', peer: 'plant-b' };
    expect(planFailover(view('Active', 'Cold'), SELF, 'plant-b', labels)).toEqual({ kind: 'request', target: 'peer' });
    expect(planFailover(view('Active', 'Cold'), SELF, 'PLANT-A', labels)).toEqual({ kind: 'already', target: 'self' });
    expect(planFailover(view('Cold', 'Active'), SELF, 'plant-b', labels)).toEqual({ kind: 'already', target: 'peer' });
  });

  it('one label on both nodes is refused with a hint; an unknown label is neither node', () => {
    const twin = { self: 'twin', peer: 'twin' };
    expect(planFailover(view('Active', 'Cold'), SELF, 'twin', twin)).toMatchObject({ kind: 'refused', error: { code: 'GW_ERR_REDUNDANCY_FAILOVER_TARGET', params: { detail: expect.stringMatching(/both nodes/) } } });
    expect(planFailover(view('Active', 'Cold'), SELF, 'plant-z', { self: 'plant-a', peer: 'plant-b' })).toMatchObject({ kind: 'refused' });
  });
});

describe('the hello carries the label', () => {
  const hello = { type: 'hello', protocol: 3, uuid: UUID_A, systemName: 'plant-a', edition: 'standard', role: 'Master', version: '0.1.0' };

  it('optional, 1 to 64 printable characters: a peer cannot put terminal escapes in lists', () => {
    const schemas = new SchemaRegistry();
    expect(schemas.validate('gwd:protocol/hello', { ...hello }).ok).toBe(true);
    expect(schemas.validate('gwd:protocol/hello', { ...hello, label: 'Halle 3 / Linie 2' }).ok).toBe(true);
    for (const label of ['', 'x'.repeat(65), '\u001b[31mred', 'a|b', 'new\nline']) {
      expect(schemas.validate('gwd:protocol/hello', { ...hello, label }).ok, JSON.stringify(label)).toBe(false);
    }
  });
});
