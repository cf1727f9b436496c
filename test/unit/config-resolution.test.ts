import { describe, expect, it } from 'vitest';

import { parseAddress } from '../../src/core/config-address.js';
import type { ResourceTypeInfo } from '../../src/core/config-model.js';
import { assertWritable, resolveEffective, type ResolutionInput } from '../../src/core/config-resolution.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { Prng } from '../helpers/prng.js';
import { GwError } from '../../src/core/errors.js';
import type { Role } from '../../src/core/wire.js';

type Present = 'none' | 'primary' | 'primary+backup';

function at(p: Present): ResolutionInput['core'] {
  return p === 'none' ? null : { hasBackup: p === 'primary+backup' };
}

// role x Backup version present x protected x local override: every combination, with the answer.
const ROLES: Role[] = ['Independent', 'Master', 'Backup'];
const cases: Array<[Role, Present, Present, boolean, string | null]> = [];
for (const role of ROLES) {
  for (const protectedType of [false, true]) {
    for (const core of ['none', 'primary', 'primary+backup'] as Present[]) {
      for (const local of ['none', 'primary', 'primary+backup'] as Present[]) {
        const chosen = local !== 'none' ? local : core;
        const collection = local !== 'none' ? 'local' : core !== 'none' ? 'core' : null;
        const version = role === 'Backup' && chosen === 'primary+backup' && !protectedType ? 'backup' : 'primary';
        cases.push([role, core, local, protectedType, collection ? `${collection}/${version}` : null]);
      }
    }
  }
}

describe('resolveEffective', () => {
  it.each(cases)('role %s, core %s, local %s, protected %s -> %s', (role, core, local, protectedType, expected) => {
    const r = resolveEffective({ role, protectedType, core: at(core), local: at(local) });
    expect(r ? `${r.collection}/${r.version}` : null).toBe(expected);
  });

  // The rows a person reads first, spelled out rather than derived.
  it('the plain cases of DESIGN section 5', () => {
    const both = { hasBackup: true };
    expect(resolveEffective({ role: 'Backup', protectedType: false, core: both, local: null })).toEqual({ collection: 'core', version: 'backup' });
    expect(resolveEffective({ role: 'Independent', protectedType: false, core: both, local: null })).toEqual({ collection: 'core', version: 'primary' });
    expect(resolveEffective({ role: 'Master', protectedType: false, core: both, local: null })).toEqual({ collection: 'core', version: 'primary' });
    expect(resolveEffective({ role: 'Backup', protectedType: true, core: both, local: null })).toEqual({ collection: 'core', version: 'primary' });
    // A local resource replaces core as a whole, even when only core has a Backup version.
    expect(resolveEffective({ role: 'Backup', protectedType: false, core: both, local: { hasBackup: false } })).toEqual({
      collection: 'local',
      version: 'primary',
    });
  });
});

describe('assertWritable', () => {
  it('refuses core on a Backup naming the master, allows local everywhere and core elsewhere', () => {
    const err = (() => {
      try {
        assertWritable('core', 'Backup', '10.0.0.5:8060', 'opc-connection/plc1');
      } catch (e) {
        return e as GwError;
      }
      return null;
    })();
    expect(err?.code).toBe('GW_ERR_CONFIG_READ_ONLY');
    expect(err?.statusCode).toBe(409);
    expect(err?.message).toContain('10.0.0.5:8060');
    expect(() => assertWritable('local', 'Backup', 'x', 'r')).not.toThrow();
    expect(() => assertWritable('core', 'Master', 'x', 'r')).not.toThrow();
    expect(() => assertWritable('core', 'Independent', 'x', 'r')).not.toThrow();
  });
});

describe('parseAddress', () => {
  const t = (type: string, singleton: boolean): ResourceTypeInfo => ({
    type,
    module: 'm',
    singleton,
    protected: false,
    required: false,
    schemaId: `gwd:resources/${type}`,
  });
  const types = new Map([
    ['gateway-settings', t('gateway-settings', true)],
    ['opc-connection', t('opc-connection', false)],
  ]);
  const code = (text: string): string | undefined => {
    try {
      parseAddress(text, types);
      return undefined;
    } catch (e) {
      return (e as GwError).code;
    }
  };

  it('accepts <type>/<name> and <type> for singletons', () => {
    expect(parseAddress('opc-connection/plc 1', types)).toMatchObject({ name: 'plc 1', address: 'opc-connection/plc 1' });
    expect(parseAddress('gateway-settings', types)).toMatchObject({ name: null, address: 'gateway-settings' });
  });

  it('refuses what does not address one resource, with a coded reason', () => {
    expect(code('gateway-settings/x')).toBe('GW_ERR_CONFIG_BAD_ADDRESS');
    expect(code('opc-connection')).toBe('GW_ERR_CONFIG_BAD_ADDRESS');
    expect(code('opc-connection/a/b')).toBe('GW_ERR_CONFIG_BAD_ADDRESS');
    expect(code('opc-connection/..')).toBe('GW_ERR_CONFIG_BAD_ADDRESS');
    expect(code('opc-connection/.hidden')).toBe('GW_ERR_CONFIG_BAD_ADDRESS');
    expect(code('Bad_Type/x')).toBe('GW_ERR_CONFIG_BAD_ADDRESS');
  });

  it('an unknown type lists the known ones', () => {
    try {
      parseAddress('modbus-device/x', types);
      expect.unreachable();
    } catch (e) {
      const err = e as GwError;
      expect(err.code).toBe('GW_ERR_CONFIG_UNKNOWN_TYPE');
      expect(err.details).toEqual({ known: ['gateway-settings', 'opc-connection'] });
      expect(err.message).toContain('gateway-settings, opc-connection');
    }
  });
});

describe('canonicalJson', () => {
  it('is independent of key order and whitespace, so signatures are too', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson(JSON.parse('{ "x" : 1,\n "a": 2 }'))).toBe(canonicalJson({ a: 2, x: 1 }));
  });

  it('gives the same form whether the value is already in canonical order or not (JSON.stringify is used only when it is)', () => {
    // The form built key by key, as canonicalJson was before its fast path.
    const reference = (v: unknown): string => {
      if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
      if (Array.isArray(v)) return `[${v.map(reference).join(',')}]`;
      const o = v as Record<string, unknown>;
      return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${reference(o[k])}`).join(',')}}`;
    };
    const rng = new Prng(20261125);
    const keys = ['a', 'b', 'B', '10', '9', '', 'é', 'z', '__proto__x', 'a b'];
    const value = (depth: number): unknown => {
      switch (rng.int(depth > 0 ? 9 : 6)) {
        case 0: return null;
        case 1: return rng.next() < 0.5;
        case 2: return rng.pick([0, -0, 1.5, 1e21, -7, 2 ** 53 + 1, NaN, Infinity]);
        case 3: return rng.pick(['', 'x', '"quoted"\n', '\u2028', 'é'.repeat(3), '\ud800']);
        case 4: return rng.pick([undefined, () => 1, new Date(0), Symbol('s')]);
        case 5: return rng.pick([[], {}]);
        case 6: return Array.from({ length: rng.int(4) }, () => value(depth - 1));
        default: {
          const o: Record<string, unknown> = {};
          const picked = Array.from({ length: rng.int(5) }, () => rng.pick(keys));
          // Half the objects in sorted key order, half as picked.
          for (const k of rng.next() < 0.5 ? [...picked].sort() : picked) o[k] = value(depth - 1);
          return o;
        }
      }
    };
    let fast = 0;
    for (let i = 0; i < 5000; i++) {
      const v = value(4);
      expect(canonicalJson(v), JSON.stringify(v)).toBe(reference(v));
      if (JSON.stringify(v) === reference(v)) fast++;
    }
    // Both paths were taken many times.
    expect(fast).toBeGreaterThan(500);
    expect(fast).toBeLessThan(4500);
    expect(canonicalJson([1, , 2])).toBe(reference([1, , 2]));
    expect(canonicalJson({ endpointUrl: 'opc.tcp://x:4840' })).toBe('{"endpointUrl":"opc.tcp://x:4840"}');
  });
});
