import { EventEmitter } from 'node:events';

import { describe, expect, it } from 'vitest';

import { EXIT } from '../../src/cli/exit-codes.js';
import { flushOutput, watchOutput, writeDrained, type OutputStream } from '../../src/cli/output.js';

/** A stream whose writes complete when the test says so, in order, as a full pipe's do. */
class FakeStream extends EventEmitter implements OutputStream {
  written = '';
  pending: Array<() => void> = [];
  get writableLength(): number {
    return this.pending.length;
  }
  write(chunk: string, callback: (err?: Error | null) => void): boolean {
    this.pending.push(() => {
      this.written += chunk;
      callback();
    });
    return false;
  }
  drainOne(): void {
    this.pending.shift()?.();
  }
}

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
const exit = (code: number): never => {
  throw new Exited(code);
};

function epipe(): NodeJS.ErrnoException {
  return Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
}

describe('gwctl output', () => {
  it('flushOutput resolves only after every queued write completed', async () => {
    const out = new FakeStream();
    out.write('a', () => undefined);
    out.write('b', () => undefined);
    let done = false;
    const flushed = flushOutput(out).then(() => (done = true));
    out.drainOne();
    out.drainOne();
    await Promise.resolve();
    expect(done).toBe(false); // the empty write behind them is still queued
    out.drainOne();
    await flushed;
    expect(out.written).toBe('ab');
  });

  it('a closed stdout (EPIPE) exits 141 without a word; a closed stderr is ignored', () => {
    const out = new FakeStream();
    const err = new FakeStream();
    watchOutput(out, err, exit);
    expect(() => err.emit('error', epipe())).not.toThrow();
    expect(() => out.emit('error', epipe())).toThrow(new Exited(EXIT.OUTPUT_CLOSED));
    expect(err.written).toBe('');
    expect(EXIT.OUTPUT_CLOSED).toBe(141);
  });

  it('any other failure to write stdout is said on stderr, exit 1', () => {
    const out = new FakeStream();
    const err = new FakeStream();
    watchOutput(out, err, exit);
    out.emit('error', Object.assign(new Error('no space'), { code: 'ENOSPC' }));
    expect(() => err.drainOne()).toThrow(new Exited(EXIT.FAILED));
    expect(err.written).toBe('gwctl: cannot write to standard output: ENOSPC\n');
  });

  it('writeDrained resolves at once while the stream takes more, and after its drain once it is full', async () => {
    const written: string[] = [];
    let full = false;
    const stream = Object.assign(new EventEmitter(), {
      write(text: string): boolean {
        written.push(text);
        return !full;
      },
    });
    await writeDrained(stream, 'a');
    full = true;
    let resolved = false;
    const waiting = writeDrained(stream, 'b').then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(resolved).toBe(false);
    stream.emit('drain');
    await waiting;
    expect(written).toEqual(['a', 'b']);
    // A capture that cannot say when it drained (a test's Io) is never waited for.
    await writeDrained({ write: () => false }, 'c');
  });
});
