import { describe, expect, it } from 'vitest';

import { expectErrorCheck } from '../helpers/expect-error-check.js';

// The compile-time half of the protocol schemas (issue 18): test/types/protocol-schemas.check.ts
// holds schemas that describe another type than the one declared with schemaOf, each under
// `@ts-expect-error`; the real schemas (link-schemas.ts, redundancy/messages.ts) compile only if
// they describe their types.
describe('a protocol schema and its type are kept equal by tsc', () => {
  const check = expectErrorCheck('test/types/protocol-schemas.check.ts');

  it('the check file compiles: the right schemas pass and every wrong one is refused', () => {
    expect(check.marked.length).toBeGreaterThanOrEqual(10);
    expect(check.asIs()).toEqual([]);
  }, 90_000);

  it('without the directives, each marked line fails, and only those', () => {
    expect(check.failingWithoutDirectives()).toEqual(check.marked);
  }, 90_000);
});
