import { describe, expect, it } from 'vitest';

import { GwError } from '../../src/core/errors.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';
import { parseSettings } from '../../src/daemon/settings/settings-file.js';
import type { GatewayNetworkSettings, RedundancySettings } from '../../src/daemon/settings/node-settings.js';

const schemas = new SchemaRegistry();

function invalid(text: string, schema = 'gwd:settings/redundancy'): GwError {
  try {
    parseSettings('/data/redundancy.json', text, schema, schemas);
  } catch (err) {
    if (err instanceof GwError) return err;
    throw err;
  }
  throw new Error('expected the settings to be refused');
}

describe('settings validation', () => {
  it('an empty redundancy.json gets every default of DESIGN section 4', () => {
    const r = parseSettings<RedundancySettings>('/x', '{}', 'gwd:settings/redundancy', schemas);
    expect(r).toMatchObject({
      role: 'Independent',
      standbyActivityLevel: 'Cold',
      joinWaitTime: 30000,
      failoverTimeout: 10000,
      masterRecoveryMode: 'Automatic',
      syncTimeoutSecs: 60,
      fastFailover: true,
      master: { host: '', port: 8060, enableSsl: true, pingRate: 1000, pingTimeout: 300, pingMaxMissed: 10, reconnectPeriod: 1000 },
      hooks: { onActivityChange: null, preActivate: null, timeoutMs: 10000 },
    });
  });

  it('an empty gateway-network.json gets the defaults of DESIGN section 3', () => {
    const g = parseSettings<GatewayNetworkSettings>('/x', '{}', 'gwd:settings/gateway-network', schemas);
    expect(g).toEqual({
      version: 1,
      enabled: true,
      bindAddress: '0.0.0.0',
      port: 8088,
      sslPort: 8060,
      requireSsl: true,
      requireTwoWayAuth: true,
      allowIncoming: true,
      securityPolicy: 'ApprovedOnly',
      whitelist: [],
    });
  });

  it('a wrong value is refused naming the file and the field', () => {
    const err = invalid('{"role": "Leader"}');
    expect(err.code).toBe('GW_ERR_SETTINGS_INVALID');
    expect(err.message).toContain('/data/redundancy.json');
    expect(err.message).toContain('/role');
    expect(err.message).toContain('"Independent"');
  });

  it('an unknown field is refused by name (additionalProperties: false)', () => {
    const err = invalid('{"master": {"hots": "10.0.0.5"}}');
    expect(err.message).toContain('/master/hots');
    expect(err.message).toContain('is not a known field');
  });

  it('every failing field is listed in details, not only the first', () => {
    const err = invalid('{"joinWaitTime": -1, "failoverTimeout": "soon"}');
    const problems = (err.details as { problems: Array<{ pointer: string }> }).problems.map((p) => p.pointer);
    expect(problems).toEqual(expect.arrayContaining(['/joinWaitTime', '/failoverTimeout']));
  });

  it('a file that is not JSON is refused as such', () => {
    const err = invalid('{"role": ');
    expect(err.code).toBe('GW_ERR_SETTINGS_INVALID');
    expect(err.message).toContain('not valid JSON');
  });

  it('node.json requires a lower-case UUID and a known edition', () => {
    const err = invalid('{"version":1,"uuid":"NOT-A-UUID","edition":"pro","createdAt":"x"}', 'gwd:settings/node');
    const pointers = (err.details as { problems: Array<{ pointer: string }> }).problems.map((p) => p.pointer);
    expect(pointers).toEqual(expect.arrayContaining(['/uuid', '/edition']));
  });
});
