import { promises as fsp } from 'node:fs';

/** Bytes read at a time by readLines unless told otherwise. */
export const DEFAULT_READ_CHUNK_BYTES = 1024 * 1024;

export interface FileLine {
  /**
   * The line's bytes without its newline. It may be a view of the read buffer: valid only until the
   * next line is asked for, so decode it (or copy it) before going on.
   */
  bytes: Buffer;
  /** File offset just past the line (past its newline when it has one). */
  end: number;
  /** False for the last piece of a file that does not end with a newline (a torn append). */
  complete: boolean;
}

/**
 * The lines of a file, one at a time, read in chunks of `chunkBytes`: memory is one chunk plus the
 * longest line, whatever the size of the file (a journal can grow far past V8's longest string).
 * Lines are split on '\n' as bytes, so offsets are exact whatever the text holds. The file's own
 * errors (ENOENT included) are thrown from the first read.
 */
export async function* readLines(file: string, chunkBytes = DEFAULT_READ_CHUNK_BYTES): AsyncGenerator<FileLine, void, undefined> {
  const handle = await fsp.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(chunkBytes);
    // The start of a line that runs over the end of a chunk, copied out (the buffer is reused).
    let parts: Buffer[] = [];
    let partBytes = 0;
    let position = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, chunkBytes, position);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      const chunkStart = position;
      position += bytesRead;
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
        let line = chunk.subarray(start, nl);
        if (parts.length > 0) {
          line = Buffer.concat([...parts, line], partBytes + line.length);
          parts = [];
          partBytes = 0;
        }
        yield { bytes: line, end: chunkStart + nl + 1, complete: true };
        start = nl + 1;
      }
      if (start < bytesRead) {
        parts.push(Buffer.from(chunk.subarray(start)));
        partBytes += bytesRead - start;
      }
    }
    if (parts.length > 0) yield { bytes: Buffer.concat(parts, partBytes), end: position, complete: false };
  } finally {
    await handle.close();
  }
}
