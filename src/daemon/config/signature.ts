import { createHash } from 'node:crypto';

import { canonicalJson } from '../../core/canonical-json.js';

/** sha256 (hex) of the canonical JSON of a resource's content: the signature in resource.json. */
export function contentSignature(content: unknown): string {
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}
