import { describe, expect, it } from 'vitest';

import { noteOwnedFrame, takeOwnedBuffer } from '../../src/daemon/gan/owned-frames.js';

describe('owned frames (a received frame moved to the writer thread instead of copied)', () => {
  it("a frame that is its buffer's whole is taken once, through any view of it", () => {
    const frame = Buffer.alloc(64 * 1024, 1);
    noteOwnedFrame(frame);
    const payload = frame.subarray(100);
    expect(takeOwnedBuffer(payload)).toBe(frame.buffer);
    expect(takeOwnedBuffer(payload)).toBeNull();
    expect(takeOwnedBuffer(frame)).toBeNull();
  });

  it('a frame that shares its buffer (a view of a socket read holding more, a slice of the pool) is never taken', () => {
    // ws gives a frame that came inside one larger socket read as a view of it: the rest is the
    // next frame's, still to be read.
    const read = Buffer.alloc(64 * 1024, 2);
    const frame = read.subarray(0, 1000);
    noteOwnedFrame(frame);
    expect(takeOwnedBuffer(frame)).toBeNull();
    const tail = read.subarray(1000);
    noteOwnedFrame(tail);
    expect(takeOwnedBuffer(tail)).toBeNull();
    // Small buffers come from Node's shared pool.
    const small = Buffer.from('a small frame');
    noteOwnedFrame(small);
    expect(small.buffer.byteLength).toBeGreaterThan(small.length);
    expect(takeOwnedBuffer(small)).toBeNull();
  });

  it('a buffer never noted is not taken', () => {
    expect(takeOwnedBuffer(Buffer.alloc(10_000))).toBeNull();
  });
});
