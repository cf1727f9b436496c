/**
 * Received binary frames whose buffer holds that frame alone, so that a consumer may move it to a
 * worker thread instead of copying its bytes.
 *
 * ws gives a frame either in a buffer of its own (allocated for a frame that came in several socket
 * reads, or a whole read that was exactly the frame) or as a view of a socket read that holds more
 * (the next frame's first bytes, which ws still reads from). Only the first kind may be moved: moving
 * detaches every view of the buffer. A buffer is taken at most once; whoever takes it must hold no
 * other view of it afterwards.
 *
 * Why move at all: a full snapshot's frames (a few MB each, 800 MB for 100,000 resources) were copied
 * for the writer thread and then waited, as garbage, for the main thread's next full collection,
 * which V8 starts only after tens of MB of such buffers (up to ~60 MB of a backup's peak).
 */
const owned = new WeakSet<ArrayBufferLike>();

/** Note `frame` as the whole of its buffer, when it is. */
export function noteOwnedFrame(frame: Uint8Array): void {
  if (frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength && frame.buffer instanceof ArrayBuffer) owned.add(frame.buffer);
}

/** The buffer `view` is part of, when it is a frame's own buffer not taken yet; null otherwise. */
export function takeOwnedBuffer(view: Uint8Array): ArrayBuffer | null {
  const buffer = view.buffer;
  if (!(buffer instanceof ArrayBuffer) || !owned.has(buffer)) return null;
  owned.delete(buffer);
  return buffer;
}
