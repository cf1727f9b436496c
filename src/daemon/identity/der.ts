/**
 * The few DER (ASN.1) encodings a self-signed certificate needs (certificate.ts). Written here
 * rather than taken from node-forge, whose loading alone cost a first start 100-290 ms on a loaded
 * machine; node has no API that lays out a certificate.
 */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One tag-length-value. `tag` is the whole identifier octet (class, constructed bit, number). */
export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
export const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
/** [n] EXPLICIT, constructed, context-specific. */
export const explicit = (n: number, ...items: Buffer[]): Buffer => tlv(0xa0 | n, Buffer.concat(items));
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
/**
 * A non-negative INTEGER from its big-endian octets (a random serial whose high bit is clear), in
 * DER's shortest form: leading zero octets are dropped while the next octet's high bit is clear (a
 * parser refuses the longer form: node's X509Certificate says 'illegal padding').
 */
export function unsignedInteger(content: Buffer): Buffer {
  let start = 0;
  while (start < content.length - 1 && content[start] === 0 && (content[start + 1]! & 0x80) === 0) start++;
  return tlv(0x02, content.subarray(start));
}
/** A small non-negative INTEGER (a version number). */
export const smallInteger = (n: number): Buffer => tlv(0x02, Buffer.from([n]));
export const octetString = (content: Buffer): Buffer => tlv(0x04, content);
/** A BIT STRING of whole octets (no unused bits). */
export const bitString = (content: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), content]));
/** A BIT STRING of `unused` trailing bits not counted, as keyUsage has. */
export const bitStringUnused = (unused: number, content: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unused]), content]));
/** A PrintableString; each character one octet (what node-forge wrote, so certificates stay the same). */
export const printableString = (value: string): Buffer => tlv(0x13, Buffer.from(value, 'latin1'));

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const groups: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      groups.unshift(v % 128);
      if (v < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(out));
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** X.509 time (RFC 5280 4.1.2.5): UTCTime for 1950-2049, GeneralizedTime otherwise, whole seconds. */
export function time(date: Date): Buffer {
  const rest = `${pad2(date.getUTCMonth() + 1)}${pad2(date.getUTCDate())}${pad2(date.getUTCHours())}${pad2(date.getUTCMinutes())}${pad2(date.getUTCSeconds())}Z`;
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(0x17, Buffer.from(`${String(year).slice(2)}${rest}`, 'latin1'));
  return tlv(0x18, Buffer.from(`${year}${rest}`, 'latin1'));
}
