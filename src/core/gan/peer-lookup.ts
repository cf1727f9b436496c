/**
 * What an operator's word names in `connections approve|deny` and `certs approve|deny|remove`.
 * After the first sync both nodes of a pair carry the master's system name, so the peer's own
 * label (its node.json, sent in its hello) names it too, whole and case-insensitive; so do its UUID
 * or a UUID prefix, and the old spellings: `<systemname>|<uuid>` and its prefixes for a connection,
 * the fingerprint and its prefixes for a certificate. Pure: the daemon passes its lists.
 */
import { normalizeFingerprint } from '../fingerprint.js';
import type { CertEntry, ConnectionEntry } from '../wire.js';
import { matchByPrefix, type PrefixMatch } from './prefix-match.js';

/** A fingerprint or UUID prefix for a certificate has at least this many characters. */
export const MIN_CERT_PREFIX = 8;

export function findConnection(entries: readonly ConnectionEntry[], input: string): PrefixMatch<ConnectionEntry> {
  const primary = (e: ConnectionEntry): string[] => [e.id];
  return firstOf(
    // The label first: after a sync the id of the backup starts with the master's system name.
    () => whole(matchByPrefix(entries, input, primary, Infinity, (e) => [e.peer.label])),
    () => matchByPrefix(entries, input, (e) => [e.id, e.peer.uuid ?? '', e.peer.label && e.peer.uuid ? `${e.peer.label}|${e.peer.uuid}` : '']),
  );
}

/**
 * Every entry with the one fingerprint `input` names (it may be in both directions): by fingerprint
 * or prefix, else by the peer's label (whole), else by its UUID or prefix or its system name
 * (whole; after a sync both nodes have one). A prefix needs MIN_CERT_PREFIX characters.
 */
export function findCertificates(entries: readonly CertEntry[], input: string): PrefixMatch<CertEntry> {
  const primary = (e: CertEntry): string[] => [e.fingerprint];
  return firstOf(
    () => matchByPrefix(entries, normalizeFingerprint(input), primary, MIN_CERT_PREFIX),
    () => whole(matchByPrefix(entries, input, primary, Infinity, (e) => [e.peer?.label])),
    () => matchByPrefix(entries, input, (e) => [e.fingerprint, e.peer?.uuid ?? ''], MIN_CERT_PREFIX, (e) => [e.peer?.systemName]),
  );
}

/** The first way of reading the input that names something (one or several); else too short or none. */
function firstOf<T>(...tries: (() => PrefixMatch<T>)[]): PrefixMatch<T> {
  let tooShort = false;
  for (const attempt of tries) {
    const m = attempt();
    if (m.kind === 'one' || m.kind === 'ambiguous') return m;
    if (m.kind === 'too-short') tooShort = true;
  }
  return tooShort ? { kind: 'too-short' } : { kind: 'none' };
}

/** A whole-word reading: no prefix of it was asked for, so "too short" means nothing matched. */
function whole<T>(m: PrefixMatch<T>): PrefixMatch<T> {
  return m.kind === 'too-short' ? { kind: 'none' } : m;
}
