import { EXIT } from './exit-codes.js';

/** process.stdout or process.stderr: what gwctl needs of them here. */
export interface OutputStream {
  write(chunk: string, callback: (err?: Error | null) => void): boolean;
  on(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
  writableLength: number;
}

/**
 * A reader that closes early (`gwctl events | head -1`) ends gwctl as it ends `cat`: quietly,
 * with the status of a process killed by SIGPIPE (128 + 13 = 141). Node ignores SIGPIPE, so the
 * closed pipe arrives as an EPIPE error on the stream; without a listener it was an unhandled error
 * with a stack trace. A closed stderr is ignored (stdout may still be read); any other failure to
 * write is said once on stderr, exit 1.
 */
export function watchOutput(stdout: OutputStream, stderr: OutputStream, exit: (code: number) => never = (c) => process.exit(c)): void {
  stdout.on('error', (err) => {
    if (err.code === 'EPIPE') exit(EXIT.OUTPUT_CLOSED);
    try {
      stderr.write(`gwctl: cannot write to standard output: ${err.code ?? err.message}\n`, () => exit(EXIT.FAILED));
    } catch {
      exit(EXIT.FAILED);
    }
  });
  stderr.on('error', () => {
    // Nobody reads stderr any more: nothing to say it on.
  });
}

/**
 * Resolves once everything written so far to each stream has reached the kernel: an empty write is
 * queued behind the others and its callback runs after they are done (or failed).
 */
export function flushOutput(...streams: OutputStream[]): Promise<void> {
  return Promise.all(
    streams.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.writableLength === 0) return resolve();
          s.write('', () => resolve());
        }),
    ),
  ).then(() => undefined);
}

/** What writeDrained needs of a stream: process.stdout, or a test's capture that never fills up. */
export interface DrainableStream {
  write(text: string): unknown;
  once?(event: 'drain', listener: () => void): unknown;
}

/**
 * Write one piece of a long output (`config export`) and, when the stream's buffer is full, resolve
 * only once it has drained, so the caller reads its next piece no faster than the reader takes
 * them: gwctl holds about one buffer of the output, however large it is and however slowly it is
 * read. A reader that closes meanwhile ends gwctl through watchOutput (EPIPE), as it does any write.
 */
export function writeDrained(stream: DrainableStream, text: string): Promise<void> {
  if (stream.write(text) !== false || typeof stream.once !== 'function') return Promise.resolve();
  return new Promise((resolve) => {
    stream.once!('drain', () => resolve());
  });
}
