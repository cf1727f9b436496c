import type { TreePart } from '../storage/bulk-reader.js';

/**
 * Master side of a full snapshot: the chunks a part of the core (as the reader threads read it,
 * see streamTree) goes out as: the whole part in one, its header written in the room
 * the reader left before its bytes (no copy), up to `frameBytes`; cut into chunks of `chunkBytes`
 * (copied) beyond that. Each names the file its first byte belongs to (never an empty one); a part
 * of empty files only gives none (the backup passes them as its position moves).
 */
export function* streamedChunks(
  part: TreePart,
  firstFile: number,
  frameBytes: number,
  chunkBytes: number,
): Generator<{ file: number; offset: number; payload: Buffer; room: number }> {
  if (part.bytes.length === 0) return;
  if (part.bytes.length > frameBytes) {
    for (const c of partChunks(part, firstFile, chunkBytes)) yield { ...c, room: 0 };
    return;
  }
  const first = part.files.findIndex((f) => f.data.length > 0);
  yield { file: firstFile + first, offset: 0, payload: part.bytes, room: part.room };
}

/**
 * One part of a streamed snapshot cut into chunks of at most `chunkBytes`: each says where its first
 * byte belongs (`file`: index in the whole manifest, of the part's first file `firstFile`; empty
 * files are never named, the backup passes them) and carries a view of the part's bytes.
 */
function* partChunks(part: TreePart, firstFile: number, chunkBytes: number): Generator<{ file: number; offset: number; payload: Buffer }> {
  let index = 0;
  let fileStart = 0;
  for (let at = 0; at < part.bytes.length; at += chunkBytes) {
    // The file holding byte `at`: past every file (empty ones included) that ends at or before it.
    while (fileStart + part.files[index]!.data.length <= at) fileStart += part.files[index++]!.data.length;
    yield { file: firstFile + index, offset: at - fileStart, payload: part.bytes.subarray(at, at + chunkBytes) };
  }
}
