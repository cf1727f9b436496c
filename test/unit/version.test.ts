import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { PRODUCT_VERSION } from '../../src/core/version.js';

describe('version', () => {
  it('the product version reported by gwd equals package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(PRODUCT_VERSION).toBe(pkg.version);
  });
});
