import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { prettyLine } from '../../src/daemon/log/pretty.js';
import { RepeatFilter } from '../../src/daemon/log/repeat-filter.js';
import { createLogger, type LogFormat } from '../../src/daemon/logger.js';

function capture(format: LogFormat = 'json') {
  const lines: string[] = [];
  let now = 1_000_000;
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  const logger = createLogger('info', { format, destination, now: () => now });
  return { logger, lines, advance: (ms: number) => (now += ms) };
}

describe('repeated warnings', () => {
  it('a refused peer redialled every second for two minutes is three lines, the later ones counted', () => {
    const { logger, lines, advance } = capture();
    for (let i = 0; i <= 120; i++) {
      logger.warn({ peer: 'plant-b|3f76', code: 'GW_ERR_GAN_CONNECTION_DENIED' }, 'connection refused by the peer');
      advance(1000);
    }
    const entries = lines.map((l) => JSON.parse(l) as { msg: string; repeated?: number; peer: string });
    expect(entries.map((e) => e.repeated)).toEqual([undefined, 59, 59]);
    expect(entries.every((e) => e.peer === 'plant-b|3f76' && e.msg === 'connection refused by the peer')).toBe(true);
  });

  it('lines that differ in a field, and info lines, are never held back', () => {
    const { logger, lines } = capture();
    logger.warn({ peer: 'a' }, 'gone');
    logger.warn({ peer: 'b' }, 'gone');
    logger.error({ peer: 'a' }, 'gone');
    for (let i = 0; i < 5; i++) logger.info({ to: 'Active' }, 'activity changed');
    expect(lines).toHaveLength(3 + 5);
  });

  it('an error argument is keyed by its message and keeps its stack', () => {
    const { logger, lines, advance } = capture();
    logger.error(new Error('EADDRINUSE 8088'));
    logger.error(new Error('EADDRINUSE 8088'));
    logger.error(new Error('EACCES 22'));
    advance(61_000);
    logger.error(new Error('EADDRINUSE 8088'));
    const entries = lines.map((l) => JSON.parse(l) as { msg: string; repeated?: number; err?: { stack: string } });
    expect(entries.map((e) => [e.msg, e.repeated])).toEqual([
      ['EADDRINUSE 8088', undefined],
      ['EACCES 22', undefined],
      ['EADDRINUSE 8088', 1],
    ]);
    expect(entries[2]!.err?.stack).toContain('Error: EADDRINUSE 8088');
  });

  it('forgets the oldest of many distinct lines rather than growing', () => {
    let t = 0;
    const f = new RepeatFilter(() => t, 60_000);
    for (let i = 0; i < 300; i++) expect(f.check(`k${i}`).kind).toBe('log');
    // k0 was forgotten (256 kept), so it logs again at once; k299 is still held.
    expect(f.check('k0').kind).toBe('log');
    expect(f.check('k299').kind).toBe('drop');
    t = 60_000;
    expect(f.check('k299')).toEqual({ kind: 'log', repeated: 1 });
  });
});

describe('pretty log format', () => {
  it('is one readable line per entry: time, level, message, then the fields', () => {
    const { logger, lines } = capture('pretty');
    logger.warn({ peer: 'plant-b', detail: 'connect ECONNREFUSED 127.0.0.1:8088' }, 'peer unreachable');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  peer unreachable {2}peer=plant-b detail="connect ECONNREFUSED 127\.0\.0\.1:8088"$/);
  });

  it('shows an error stack indented under its line, and passes non-JSON through', () => {
    const out = prettyLine(
      JSON.stringify({ level: 50, time: '2026-12-04T16:05:01.123Z', pid: 1, msg: 'boom', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' } }),
    );
    expect(out).toBe('16:05:01.123 ERROR boom  err="boom"\n    Error: boom\n        at x\n');
    expect(prettyLine('not json')).toBe('not json\n');
  });

  it('keeps redaction: a key in a log object is not printed', () => {
    const { logger, lines } = capture('pretty');
    logger.info({ keyPem: '-----BEGIN PRIVATE KEY-----' }, 'loaded');
    expect(lines[0]).toContain('keyPem=[redacted]');
    expect(lines.join('\n')).not.toContain('BEGIN PRIVATE KEY');
  });
});
