import { describe, expect, it } from 'vitest';

import { checkRedundancySettings, mergeRedundancyUpdate } from '../../src/core/settings/redundancy-rules.js';
import type { RedundancySettings } from '../../src/core/settings/types.js';
import { SchemaRegistry } from '../../src/daemon/schema-registry.js';
import { parseSettings } from '../../src/daemon/settings/settings-file.js';

const defaults = (): RedundancySettings =>
  parseSettings<RedundancySettings>('/x', '{}', 'gwd:settings/redundancy', new SchemaRegistry());

describe('redundancy settings rules', () => {
  it('defaults pass', () => {
    expect(checkRedundancySettings(defaults())).toEqual([]);
  });

  it('failoverTimeout below 2 x pingRate is refused naming the field', () => {
    const s = mergeRedundancyUpdate(defaults(), { failoverTimeout: 1500 });
    expect(checkRedundancySettings(s)).toEqual([
      { pointer: '/failoverTimeout', message: 'must be at least 2 x master.pingRate (2000 ms); it is 1500 ms' },
    ]);
  });

  it('a Backup without master.host is refused naming the field', () => {
    const problems = checkRedundancySettings(mergeRedundancyUpdate(defaults(), { role: 'Backup' }));
    expect(problems.map((p) => p.pointer)).toEqual(['/master/host']);
  });

  it('merging keeps untouched nested fields', () => {
    const s = mergeRedundancyUpdate(defaults(), { master: { host: 'm' } });
    expect(s.master).toMatchObject({ host: 'm', port: 8060, pingRate: 1000, enableSsl: true });
    expect(s.hooks.timeoutMs).toBe(10000);
  });

  it('switching SSL off moves a default port to the plain default, and back', () => {
    const plain = mergeRedundancyUpdate(defaults(), { master: { enableSsl: false } });
    expect(plain.master.port).toBe(8088);
    expect(mergeRedundancyUpdate(plain, { master: { enableSsl: true } }).master.port).toBe(8060);
    // An explicit or non-default port is left alone.
    expect(mergeRedundancyUpdate(defaults(), { master: { enableSsl: false, port: 9000 } }).master.port).toBe(9000);
    const custom = mergeRedundancyUpdate(defaults(), { master: { port: 9443 } });
    expect(mergeRedundancyUpdate(custom, { master: { enableSsl: false } }).master.port).toBe(9443);
  });
});
