/** Certificate fingerprints on the wire and in the CLI: lower-case sha256 hex, no colons. */
export function normalizeFingerprint(input: string): string {
  return input.replace(/[:\s]/g, '').toLowerCase();
}

export function isFingerprint(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}

/** Group a fingerprint as openssl prints it (AB:CD:...), for people comparing by eye. */
export function colonFingerprint(fingerprint: string): string {
  return (normalizeFingerprint(fingerprint).match(/../g) ?? []).join(':').toUpperCase();
}
