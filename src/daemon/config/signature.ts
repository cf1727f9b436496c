import { hash } from 'node:crypto';

import { canonicalJson } from '../../core/canonical-json.js';

/**
 * sha256 (hex) of the canonical JSON of a resource's content: the signature in resource.json.
 * One-shot (no Hash object per call): a full snapshot signs 20,000 versions.
 */
export function contentSignature(content: unknown): string {
  return hash('sha256', canonicalJson(content), 'hex');
}
