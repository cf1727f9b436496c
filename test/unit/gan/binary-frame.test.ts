import { describe, expect, it } from 'vitest';

import { binaryFrameInPlace, encodeBinaryFrame, splitBinaryFrame } from '../../../src/core/gan/protocol.js';

describe('binary frames built in place', () => {
  const header = { type: 'sync.snapshotChunk', chunk: { id: 'c-1', seq: 3, file: 7, offset: 0 } };

  it('are the same bytes as a frame built by copying, over the payload buffer itself (no copy)', () => {
    const room = 256;
    const buffer = Buffer.alloc(room + 10);
    const payload = buffer.subarray(room);
    payload.write('0123456789');
    const frame = binaryFrameInPlace(header, payload, room)!;
    expect(frame.equals(encodeBinaryFrame(header, [Buffer.from('0123456789')]))).toBe(true);
    expect(frame.buffer).toBe(buffer.buffer);
    const split = splitBinaryFrame(frame);
    if ('problem' in split) throw new Error(split.problem);
    expect(JSON.parse(split.header.toString('utf8'))).toEqual(header);
    expect(split.payload.toString('utf8')).toBe('0123456789');
  });

  it('give up when the header does not fit the room (the caller then copies)', () => {
    const length = Buffer.byteLength(JSON.stringify(header));
    const buffer = Buffer.alloc(length + 4 + 1);
    expect(binaryFrameInPlace(header, buffer.subarray(length + 4), length + 4)).not.toBeNull();
    expect(binaryFrameInPlace(header, buffer.subarray(length + 3), length + 3)).toBeNull();
    expect(binaryFrameInPlace(header, buffer.subarray(0), 0)).toBeNull();
  });
});
