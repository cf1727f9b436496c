import { describe, expect, it } from 'vitest';

import { durationFlag } from '../../src/cli/option-parsers.js';
import { run } from '../../src/cli/program.js';

describe('time flags take 500ms, 10s, 2m, 1h or a bare number in their own unit', () => {
  const ms = durationFlag('ms', 100, 3_600_000);
  const secs = durationFlag('s', 0, 86_400_000);
  it('converts to the flag unit', () => {
    expect([ms('1500'), ms('500ms'), ms('10s'), ms('2m'), ms('1h'), ms('1.5s')]).toEqual([1500, 500, 10_000, 120_000, 3_600_000, 1500]);
    expect([secs('30'), secs('2m'), secs('500ms'), secs('0')]).toEqual([30, 120, 0.5, 0]);
  });
  it('refuses what is out of bounds or not a duration, saying the bounds', () => {
    expect(() => ms('0')).toThrow('from 100ms to 1h');
    expect(() => ms('2h')).toThrow('from 100ms to 1h');
    expect(() => ms('soon')).toThrow('a bare number is in milliseconds');
    expect(() => secs('25h')).toThrow('from 0ms to 24h');
  });
  it('gwctl names the flag and exits 2 for a bad value (was: --sync-timeout 60000 taken as 60,000 s)', async () => {
    const err: string[] = [];
    const io = {
      stdout: { write: () => true },
      stderr: { write: (s: string) => err.push(s) > 0 },
      env: { GWD_SOCKET: '/nonexistent/gwd.sock' },
      cwd: '/',
      isTTY: false,
    };
    expect(await run(['redundancy', 'configure', '--sync-timeout', '60000'], io as never)).toBe(2);
    expect(err.join('')).toContain("option '--sync-timeout <seconds>' argument '60000' is invalid");
    err.length = 0;
    expect(await run(['redundancy', 'configure', '--failover-timeout', '50ms'], io as never)).toBe(2);
    expect(err.join('')).toContain('--failover-timeout');
  });
});
