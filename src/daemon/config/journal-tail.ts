import { promises as fsp } from 'node:fs';

import type { JournalLine } from './journal-scan.js';

/**
 * The newest entries of a journal whose lines fit in `budget` bytes, the newest always kept, found
 * while the journal is read oldest first: an entry leaves the front as soon as a newer one pushes
 * the sum over the budget (a sum that only grows as the tail gets longer, so it never comes back).
 * Only numbers are kept, and only for the entries that fit: memory follows the budget, not the file.
 */
export class NewestThatFit {
  private ends: number[] = [];
  private sizes: number[] = [];
  private revisions: number[] = [];
  private head = 0;
  /** Bytes of the lines kept. */
  bytes = 0;

  constructor(private readonly budget: number) {}

  push(line: JournalLine, revision: number): void {
    this.ends.push(line.end);
    this.sizes.push(line.bytes);
    this.revisions.push(revision);
    this.bytes += line.bytes;
    while (this.count > 1 && this.bytes > this.budget) this.bytes -= this.sizes[this.head++]!;
    // Drop the dead front now and then, so the arrays stay about the size of what is kept.
    if (this.head > 4096 && this.head * 2 > this.ends.length) {
      this.ends = this.ends.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.revisions = this.revisions.slice(this.head);
      this.head = 0;
    }
  }

  get count(): number {
    return this.ends.length - this.head;
  }

  /** Revision of the oldest entry kept, or null when none is. */
  get first(): number | null {
    return this.count > 0 ? this.revisions[this.head]! : null;
  }

  /** [start, end) of the kept lines in the file, neighbours merged (damaged lines between are not in them). */
  *ranges(): Generator<[number, number]> {
    let range: [number, number] | null = null;
    for (let i = this.head; i < this.ends.length; i++) {
      const start = this.ends[i]! - this.sizes[i]!;
      if (range && range[1] === start) {
        range[1] = this.ends[i]!;
      } else {
        if (range) yield range;
        range = [start, this.ends[i]!];
      }
    }
    if (range) yield range;
  }
}

/** Copy byte ranges of `file` to the end of `out`, a chunk at a time. */
export async function copyRanges(file: string, ranges: Iterable<[number, number]>, out: fsp.FileHandle, chunkBytes: number): Promise<void> {
  const source = await fsp.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(chunkBytes);
    for (const [start, end] of ranges) {
      for (let position = start; position < end; ) {
        const { bytesRead } = await source.read(buf, 0, Math.min(chunkBytes, end - position), position);
        // The journal is only appended to, and not while it is compacted: shorter means broken.
        if (bytesRead === 0) throw new Error(`${file} ended at ${position}, before ${end}`);
        await writeAll(out, buf.subarray(0, bytesRead));
        position += bytesRead;
      }
    }
  } finally {
    await source.close();
  }
}

/** Write all of `bytes` at the handle's position (a write may take fewer bytes than it is given). */
export async function writeAll(out: fsp.FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await out.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}
