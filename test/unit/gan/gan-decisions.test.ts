import { ERROR_CATALOGUE, formatMessage } from '../../../src/core/errors.js';
import { describe, expect, it } from 'vitest';

import { parseHostPort, formatHostPort } from '../../../src/core/gan/address.js';
import { connectionId, decidePolicy } from '../../../src/core/gan/connection-policy.js';
import { statusForCode } from '../../../src/core/gan/connection-status.js';
import { checkHello, type HelloSide } from '../../../src/core/gan/hello-compat.js';
import { matchByPrefix } from '../../../src/core/gan/prefix-match.js';
import { decideTrust, trustRefusal, type TrustRecordLike } from '../../../src/core/gan/trust-decision.js';

const FP_A = 'a'.repeat(64);
const FP_B = 'b'.repeat(64);
const UUID_1 = '11111111-1111-4111-8111-111111111111';
const UUID_2 = '22222222-2222-4222-8222-222222222222';

describe('decideTrust', () => {
  it('an unknown certificate is not approved and is stored pending', () => {
    expect(decideTrust([], FP_A, UUID_1)).toEqual({ kind: 'not-approved', storePending: true });
  });

  it('a pending certificate stays refused without being stored again', () => {
    const records: TrustRecordLike[] = [{ fingerprint: FP_A, state: 'pending', peerUuid: UUID_1 }];
    expect(decideTrust(records, FP_A, UUID_1)).toEqual({ kind: 'not-approved', storePending: false });
  });

  it('approved passes; denied is refused for good', () => {
    expect(decideTrust([{ fingerprint: FP_A, state: 'approved', peerUuid: UUID_1 }], FP_A, UUID_1)).toEqual({ kind: 'accept' });
    expect(decideTrust([{ fingerprint: FP_A, state: 'denied', peerUuid: UUID_1 }], FP_A, UUID_1)).toEqual({ kind: 'denied' });
  });

  it('a known UUID showing another certificate is a changed certificate, never accepted', () => {
    const records: TrustRecordLike[] = [{ fingerprint: FP_A, state: 'approved', peerUuid: UUID_1 }];
    expect(decideTrust(records, FP_B, UUID_1)).toEqual({ kind: 'changed', knownFingerprint: FP_A, storePending: true });
    const again: TrustRecordLike[] = [...records, { fingerprint: FP_B, state: 'pending', peerUuid: UUID_1 }];
    expect(decideTrust(again, FP_B, UUID_1)).toEqual({ kind: 'changed', knownFingerprint: FP_A, storePending: false });
  });

  it('trustRefusal: the code, the message params and whether to store it pending, the same for listener and dialer', () => {
    const params = { fingerprint: FP_B, peer: 'backup (127.0.0.1)' };
    expect(trustRefusal({ kind: 'accept' }, params)).toBeNull();
    expect(trustRefusal({ kind: 'denied' }, params)).toEqual({ code: 'GW_ERR_GAN_CERT_DENIED', params, pending: null });
    expect(trustRefusal({ kind: 'not-approved', storePending: true }, params)).toEqual({ code: 'GW_ERR_GAN_CERT_NOT_APPROVED', params, pending: { flag: null } });
    expect(trustRefusal({ kind: 'not-approved', storePending: false }, params)?.pending).toBeNull();
    expect(trustRefusal({ kind: 'changed', knownFingerprint: FP_A, storePending: true }, params)).toEqual({
      code: 'GW_ERR_GAN_CERT_CHANGED',
      params: { ...params, known: FP_A },
      pending: { flag: 'CertificateChanged' },
    });
  });

  it('another UUID with a new certificate is simply unknown', () => {
    const records: TrustRecordLike[] = [{ fingerprint: FP_A, state: 'approved', peerUuid: UUID_1 }];
    expect(decideTrust(records, FP_B, UUID_2).kind).toBe('not-approved');
  });

  it('a denied certificate stays denied even under a known UUID', () => {
    const records: TrustRecordLike[] = [
      { fingerprint: FP_A, state: 'approved', peerUuid: UUID_1 },
      { fingerprint: FP_B, state: 'denied', peerUuid: UUID_1 },
    ];
    expect(decideTrust(records, FP_B, UUID_1)).toEqual({ kind: 'denied' });
  });
});

describe('decidePolicy', () => {
  it('ApprovedOnly: unknown is stored pending, pending waits, approved passes, denied is refused', () => {
    expect(decidePolicy('ApprovedOnly', [], 'b', null)).toEqual({ kind: 'not-approved', storePending: true });
    expect(decidePolicy('ApprovedOnly', [], 'b', 'pending')).toEqual({ kind: 'not-approved', storePending: false });
    expect(decidePolicy('ApprovedOnly', [], 'b', 'approved')).toEqual({ kind: 'accept' });
    expect(decidePolicy('ApprovedOnly', [], 'b', 'denied')).toEqual({ kind: 'denied' });
  });

  it('Unrestricted accepts anyone', () => {
    expect(decidePolicy('Unrestricted', [], 'anyone', null)).toEqual({ kind: 'accept' });
  });

  it('SpecifiedList accepts the whitelist only, names compared without case', () => {
    expect(decidePolicy('SpecifiedList', ['Plant-B'], 'plant-b', null)).toEqual({ kind: 'accept' });
    expect(decidePolicy('SpecifiedList', ['plant-b'], 'plant-c', 'approved')).toEqual({ kind: 'not-whitelisted' });
    expect(decidePolicy('SpecifiedList', [], 'plant-b', null)).toEqual({ kind: 'not-whitelisted' });
  });

  it('connection ids are <systemname>|<uuid> in lower case', () => {
    expect(connectionId('Plant-B', UUID_1.toUpperCase())).toBe(`plant-b|${UUID_1}`);
  });
});

describe('checkHello', () => {
  const master: HelloSide = { protocol: 1, edition: 'standard', role: 'Master', systemName: 'a' };
  const backup: HelloSide = { protocol: 1, edition: 'standard', role: 'Backup', systemName: 'b' };

  it('a backup dialling a master of the same protocol and edition pairs', () => {
    expect(checkHello(master, backup, 'listener')).toBeNull();
    expect(checkHello(backup, master, 'dialer')).toBeNull();
  });

  it('another protocol version is incompatible', () => {
    expect(checkHello(master, { ...backup, protocol: 2 }, 'listener')?.code).toBe('GW_ERR_GAN_INCOMPATIBLE_PROTOCOL');
  });

  it('Edge pairs only with Edge, both ways', () => {
    expect(checkHello(master, { ...backup, edition: 'edge' }, 'listener')?.code).toBe('GW_ERR_GAN_INCOMPATIBLE_EDITION');
    expect(checkHello({ ...backup, edition: 'edge' }, master, 'dialer')?.code).toBe('GW_ERR_GAN_INCOMPATIBLE_EDITION');
    // Read on both sides: both nodes are named (was: "b is a edge node and this node is standard").
    const refusal = checkHello(master, { ...backup, edition: 'edge' }, 'listener')!;
    expect(formatMessage(ERROR_CATALOGUE[refusal.code].message, refusal.params)).toBe(
      'b is an Edge node and a is a Standard node: an Edge node pairs only with an Edge node',
    );
    expect(checkHello({ ...master, edition: 'edge' }, { ...backup, edition: 'edge' }, 'listener')).toBeNull();
  });

  it('the dialled node must be a Master and the dialler a Backup', () => {
    expect(checkHello({ ...master, role: 'Independent' }, backup, 'listener')?.code).toBe('GW_ERR_GAN_INCOMPATIBLE_ROLE');
    expect(checkHello(backup, { ...master, role: 'Backup' }, 'dialer')?.code).toBe('GW_ERR_GAN_INCOMPATIBLE_ROLE');
    expect(checkHello(master, { ...backup, role: 'Master' }, 'listener')?.code).toBe('GW_ERR_GAN_INCOMPATIBLE_ROLE');
  });
});

describe('matchByPrefix', () => {
  const items = [
    { fp: 'abcdef0123', dir: 'incoming' },
    { fp: 'abcdef0123', dir: 'outgoing' },
    { fp: 'abcdff9999', dir: 'incoming' },
  ];
  const keys = (i: { fp: string }): string[] => [i.fp];

  it('a unique prefix names every entry with that key', () => {
    const m = matchByPrefix(items, 'abcdef01', keys, 8);
    expect(m).toEqual({ kind: 'one', items: [items[0], items[1]] });
  });

  it('an ambiguous prefix lists the matching keys', () => {
    expect(matchByPrefix(items, 'abcd', keys, 4)).toEqual({ kind: 'ambiguous', keys: ['abcdef0123', 'abcdff9999'] });
  });

  it('too short, unless exact; nothing matching is none; case does not matter', () => {
    expect(matchByPrefix(items, 'abc', keys, 8)).toEqual({ kind: 'too-short' });
    expect(matchByPrefix([{ fp: 'abc' }], 'abc', keys, 8).kind).toBe('one');
    expect(matchByPrefix(items, '99999999', keys, 8)).toEqual({ kind: 'none' });
    expect(matchByPrefix(items, 'ABCDFF99', keys, 8).kind).toBe('one');
  });
});

describe('statusForCode', () => {
  it('maps refusals to the statuses of connections list', () => {
    expect(statusForCode('GW_ERR_GAN_CERT_NOT_APPROVED')).toBe('CertificateNotApproved');
    expect(statusForCode('GW_ERR_GAN_CONNECTION_NOT_APPROVED')).toBe('PendingApproval');
    expect(statusForCode('GW_ERR_GAN_INCOMPATIBLE_EDITION')).toBe('Incompatible');
    expect(statusForCode('GW_ERR_GAN_SSL_REQUIRED')).toBe('Faulted');
  });
});

describe('parseHostPort', () => {
  it('reads host, host:port and bracketed IPv6', () => {
    expect(parseHostPort('10.0.0.5')).toEqual({ host: '10.0.0.5', port: null });
    expect(parseHostPort('master.plant:8088')).toEqual({ host: 'master.plant', port: 8088 });
    expect(parseHostPort('[::1]:8060')).toEqual({ host: '::1', port: 8060 });
    expect(parseHostPort('::1')).toEqual({ host: '::1', port: null });
  });

  it('refuses URLs, empty ports and out-of-range ports', () => {
    for (const bad of ['', 'wss://a', 'a:', 'a:0', 'a:70000', 'a b', 'a:x']) expect(parseHostPort(bad), bad).toBeNull();
  });

  it('formats IPv6 in brackets', () => {
    expect(formatHostPort('::1', 8060)).toBe('[::1]:8060');
    expect(formatHostPort('a', 1)).toBe('a:1');
  });
});
