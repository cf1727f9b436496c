import { randomUUID } from 'node:crypto';

import type { SyncSnapshotBinaryChunk, SyncSnapshotChunk } from '../../core/sync/messages.js';
import { totalHash, type SnapshotFile, type SnapshotManifest } from '../../core/sync/snapshot-manifest.js';
import { readTree, type TreePart } from '../storage/bulk-reader.js';

/**
 * Master side of a full snapshot: a manifest of every file under the `core` collection with its
 * hash, then the bytes in chunks. Files are read once for the manifest and kept in memory until sent,
 * so a write on the master during the transfer cannot make the bytes disagree with their hash.
 */
export class SnapshotSource {
  private constructor(
    readonly manifest: SnapshotManifest,
    private readonly contents: Map<string, Buffer>,
  ) {}

  static async fromDirectory(root: string, revision: number): Promise<SnapshotSource> {
    // Read and hashed on threads of their own (see readTree): the main thread goes on meanwhile.
    const tree = await readTree(root);
    const files: SnapshotFile[] = tree.map((f) => ({ path: f.rel, size: f.data.length, sha256: f.sha256 }));
    const contents = new Map(tree.map((f) => [f.rel, f.data]));
    const totalBytes = files.reduce((n, f) => n + f.size, 0);
    return new SnapshotSource({ id: randomUUID(), revision, files, totalBytes, totalSha256: totalHash(files) }, contents);
  }

  /**
   * Chunks of at most `chunkBytes`, packing many small files into one chunk: a configuration is
   * thousands of small JSON files, and a message per file would cost more than the bytes. Each part
   * gives its length; its bytes are the next ones of `payload` (views of the files, not copies).
   */
  *chunks(chunkBytes: number): Generator<SnapshotChunk> {
    let parts: SnapshotChunkPart[] = [];
    let payload: Buffer[] = [];
    let size = 0;
    let seq = 0;
    let start = { file: 0, offset: 0 };
    for (const [index, f] of this.manifest.files.entries()) {
      const data = this.contents.get(f.path)!;
      let offset = 0;
      do {
        const take = Math.min(data.length - offset, chunkBytes - size);
        parts.push({ path: f.path, offset, length: take });
        payload.push(data.subarray(offset, offset + take));
        offset += take;
        size += take;
        if (size >= chunkBytes) {
          yield { id: this.manifest.id, seq: seq++, ...start, parts, payload };
          parts = [];
          payload = [];
          size = 0;
          start = offset < data.length ? { file: index, offset } : { file: this.nonEmptyFrom(index + 1), offset: 0 };
        }
      } while (offset < data.length);
    }
    if (parts.length > 0 || seq === 0) yield { id: this.manifest.id, seq: seq++, ...start, parts, payload };
  }

  /**
   * The first file at or after `index` with any bytes: a binary chunk names where its first byte
   * goes, and the backup creates the empty files before it as its position passes them.
   */
  private nonEmptyFrom(index: number): number {
    const { files } = this.manifest;
    while (index < files.length && files[index]!.size === 0) index++;
    return index;
  }
}

export interface SnapshotChunkPart {
  path: string;
  offset: number;
  length: number;
}

/**
 * One chunk as the master cuts it, the files' bytes in manifest order: sent as one binary frame
 * (which says only where its first byte belongs: the backup cuts the payload by the manifest's
 * sizes), or as text with a base64 part per file.
 */
export interface SnapshotChunk {
  id: string;
  seq: number;
  /** Index in the manifest of the file the first byte belongs to, and its offset in that file. */
  file: number;
  offset: number;
  parts: SnapshotChunkPart[];
  /** The parts' bytes, in order. */
  payload: Buffer[];
}

/** The chunk as the header of a binary frame (its payload follows it). */
export function binaryChunkHeader(chunk: SnapshotChunk): SyncSnapshotBinaryChunk['chunk'] {
  return { id: chunk.id, seq: chunk.seq, file: chunk.file, offset: chunk.offset };
}

/** The chunk as a JSON text message, for a peer without binary frames. */
export function textChunk(chunk: SnapshotChunk): SyncSnapshotChunk {
  const parts = chunk.parts.map((p, i) => ({ path: p.path, offset: p.offset, data: chunk.payload[i]!.toString('base64') }));
  return { type: 'sync.snapshotChunk', chunk: { id: chunk.id, seq: chunk.seq, parts } };
}

/**
 * The chunks a streamed part goes out as: the whole part in one, its header written in the room
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
