import type { ServerResponse } from 'node:http';

/** About this many characters are gathered before a write: 10,000 one-line writes would be 10,000 chunks. */
const BATCH_CHARS = 64 * 1024;

/**
 * Write a long answer whose headers are sent, piece by piece, and end it. Pieces are gathered into
 * writes of about 64 KiB, and while the socket's buffer is full (a slow reader, a full pipe behind
 * gwctl) nothing more is made until it drains: the daemon holds one batch and the socket's buffer
 * of the answer, never all of it, and `pieces` is only pulled as fast as the reader reads.
 *
 * Resolves true once the answer has been ended, false when the reader went away first: then nothing
 * more is pulled or written. The answer is never ended early: a reader sees either the whole of it
 * or a connection closed before the end (a response the HTTP framing marks as incomplete).
 */
export async function writeStreamed(res: ServerResponse, pieces: Iterable<string>): Promise<boolean> {
  // A response whose connection has closed is `destroyed` (node sets it before emitting 'close').
  const gone = (): boolean => res.destroyed;
  let batch: string[] = [];
  let size = 0;
  const flush = async (): Promise<void> => {
    const text = batch.join('');
    batch = [];
    size = 0;
    if (!res.write(text)) await drained(res);
  };
  for (const piece of pieces) {
    if (gone()) return false;
    batch.push(piece);
    size += piece.length;
    if (size >= BATCH_CHARS) await flush();
  }
  if (size > 0 && !gone()) await flush();
  if (gone()) return false;
  res.end();
  return true;
}

/** Resolves when the response can take more, or at once when its connection is gone. */
function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
