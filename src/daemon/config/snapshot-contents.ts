import type { ValidationResult } from '../schema-registry.js';
import type { PreloadedFiles } from './disk-scan.js';
import { BACKUP_FILE, META_FILE, PRIMARY_FILE } from './resource-paths.js';
import { contentSignature } from './signature.js';

/** Checks a resource version's parsed content as it arrives; undefined when the path names no known type. */
export type ContentCheck = (rel: string, value: unknown) => CheckedContent | undefined;
/** Validates a resource.json as it arrives, filling in its defaults (as the scan would). */
export type MetaCheck = (value: Record<string, unknown>) => CheckedContent;

export interface CheckedContent {
  schemaId: string;
  result: ValidationResult<unknown>;
}

/**
 * The files of a full snapshot, by path relative to the core, kept as they arrive from the master.
 *
 * Each file is decoded and parsed the moment its last byte is in, and a resource version's content
 * signed and checked against its type's schema, while the rest of the snapshot is still on its way
 * and the main thread would otherwise wait for the writer thread: the adoption after the transfer
 * then only compares (parsing, checking and signing 20,000 versions there cost ~0.4 s of a
 * 10,000-resource sync).
 *
 * Nothing here is trusted or decided: a file that does not parse is kept as text and the scan
 * reports it as it would from the disk, and the adoption may compare these files while their last
 * hashes are checked but commits them only once every file passed its size and sha256 check.
 */
export class SnapshotContents implements PreloadedFiles {
  private readonly texts = new Map<string, string>();
  private readonly values = new Map<string, unknown>();
  // Maps, not WeakMaps: this lives only until the adoption, and 20,000 weak entries are work for
  // every garbage collection in between.
  private readonly signatures = new Map<object, string>();
  private readonly checks = new Map<object, CheckedContent>();
  private readonly metaChecks = new Map<object, CheckedContent & { rawKeys: number }>();

  constructor(
    private readonly check?: ContentCheck,
    private readonly checkMeta?: MetaCheck,
  ) {}

  /** A file whose last byte arrived (its parts in order). */
  add(rel: string, parts: readonly Uint8Array[]): void {
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
    const parsed = rel.endsWith('.json') ? parseJson(text) : undefined;
    if (!parsed) {
      // Kept as text: the scan reads it as it would from the disk, and reports it.
      this.texts.set(rel, text);
      return;
    }
    // Parsed: the scan takes the value, so the text is not kept (45 MB of strings for 10,000
    // resources, which the garbage collector would otherwise carry until the adoption).
    const { value } = parsed;
    this.texts.set(rel, '');
    this.values.set(rel, value);
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    if (name === PRIMARY_FILE || name === BACKUP_FILE) {
      this.signatures.set(value, contentSignature(value));
      const checked = this.check?.(rel, value);
      if (checked) this.checks.set(value, checked);
    } else if (name === META_FILE && this.checkMeta) {
      // Counted before the validation fills in defaults: the scan tells by it whether the file is
      // as the store would write it.
      const rawKeys = Object.keys(value).length;
      this.metaChecks.set(value, { ...this.checkMeta(value as Record<string, unknown>), rawKeys });
    }
  }

  /** Every file: its text, or '' for one already parsed (takeParsed() has its value). */
  get files(): ReadonlyMap<string, string> {
    return this.texts;
  }

  /** What the file's text parsed to, once (the caller owns the value from then on); undefined when not parsed. */
  takeParsed(rel: string): { value: unknown } | undefined {
    if (!this.values.has(rel)) return undefined;
    const value = this.values.get(rel);
    this.values.delete(rel);
    return { value };
  }

  /** The check of a value this returned against `schemaId`, made as it arrived; undefined when not made. */
  checkedAs(value: unknown, schemaId: string): ValidationResult<unknown> | undefined {
    const hit = value !== null && typeof value === 'object' ? this.checks.get(value) : undefined;
    return hit?.schemaId === schemaId ? hit.result : undefined;
  }

  /** The validation of a resource.json this returned, made as it arrived (defaults filled in then). */
  validatedAs(value: unknown, schemaId: string): { rawKeys: number; result: ValidationResult<unknown> } | undefined {
    const hit = value !== null && typeof value === 'object' ? this.metaChecks.get(value) : undefined;
    return hit?.schemaId === schemaId ? { rawKeys: hit.rawKeys, result: hit.result } : undefined;
  }

  /** The content signature of a value this returned, computed as it arrived; computed now for any other. */
  signature(content: unknown): string {
    return (content !== null && typeof content === 'object' && this.signatures.get(content)) || contentSignature(content);
  }
}

function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}
