/**
 * The two certificate facts node:crypto does not give (subject and issuer attributes in certificate order, and
 * the certificate's signature bytes), read straight from the DER for the common case. Loading @peculiar/x509
 * costs about 100 ms of CPU per process, which a batch of a few thousand files feels; this reader covers what
 * CUCM, openssl and our own tools write (one attribute per RDN, well-known attribute types, PrintableString,
 * UTF8String or IA5String values) and answers undefined for anything else, so that the caller falls back to
 * @peculiar/x509 and the result never differs from it (test/formats/der-names.test.ts compares both).
 */

export interface DerNameFacts {
  subjectAttrs: Array<[string, string]>;
  issuerAttrs: Array<[string, string]>;
  signature: Buffer;
}

/** The short names @peculiar/x509 gives these attribute types (its `names` table); any other type: fall back. */
const SHORT_NAMES: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.6', 'C'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['1.2.840.113549.1.9.1', 'E'],
  ['2.5.4.42', 'G'],
  ['2.5.4.43', 'I'],
  ['2.5.4.4', 'SN'],
  ['2.5.4.12', 'T'],
]);

const TAG = { integer: 0x02, bitString: 0x03, oid: 0x06, utf8: 0x0c, printable: 0x13, ia5: 0x16, sequence: 0x30, set: 0x31, version: 0xa0 };

interface Tlv {
  tag: number;
  start: number;
  end: number;
  /** Just past the element (the next sibling's offset). */
  next: number;
}

/** One DER element at `at` within `limit`, or undefined (high tag numbers and indefinite lengths included). */
function tlv(der: Uint8Array, at: number, limit: number): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at];
  if ((tag & 0x1f) === 0x1f) return undefined;
  let length = der[at + 1];
  let start = at + 2;
  if (length >= 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 3 || start + n > limit) return undefined;
    length = 0;
    for (let i = 0; i < n; i += 1) length = length * 256 + der[start + i];
    start += n;
  }
  const end = start + length;
  return end <= limit ? { tag, start, end, next: end } : undefined;
}

function child(der: Uint8Array, at: number, limit: number, tag: number): Tlv | undefined {
  const t = tlv(der, at, limit);
  return t && t.tag === tag ? t : undefined;
}

function oidText(der: Uint8Array, start: number, end: number): string | undefined {
  if (start >= end) return undefined;
  const parts: number[] = [];
  let value = 0;
  for (let i = start; i < end; i += 1) {
    value = value * 128 + (der[i] & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) return undefined;
    if ((der[i] & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  if ((der[end - 1] & 0x80) !== 0) return undefined;
  const first = parts[0];
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...parts.slice(1)].join('.');
}

/** A value as @peculiar/x509 turns it into text, for the types where that is plain decoding; else undefined. */
function valueText(der: Uint8Array, value: Tlv): string | undefined {
  const bytes = Buffer.from(der.buffer, der.byteOffset + value.start, value.end - value.start);
  if (value.tag === TAG.printable || value.tag === TAG.ia5) {
    return bytes.every((b) => b < 0x80) ? bytes.toString('latin1') : undefined;
  }
  if (value.tag === TAG.utf8) {
    // A byte-order mark (TextDecoder drops it) or invalid UTF-8 (replacement characters): leave it to peculiar.
    if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return undefined;
    const text = bytes.toString('utf8');
    return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
  }
  return undefined;
}

/** Attributes of a Name (SEQUENCE OF SET OF AttributeTypeAndValue), or undefined outside the common case. */
function nameAttrs(der: Uint8Array, name: Tlv): Array<[string, string]> | undefined {
  const attrs: Array<[string, string]> = [];
  for (let at = name.start; at < name.end; ) {
    const set = child(der, at, name.end, TAG.set);
    if (!set) return undefined;
    const pair = child(der, set.start, set.end, TAG.sequence);
    if (!pair || pair.next !== set.end) return undefined; // a multi-valued RDN
    const oid = child(der, pair.start, pair.end, TAG.oid);
    if (!oid) return undefined;
    const type = SHORT_NAMES.get(oidText(der, oid.start, oid.end) ?? '');
    const value = tlv(der, oid.next, pair.end);
    if (!type || !value || value.next !== pair.end) return undefined;
    const text = valueText(der, value);
    if (text === undefined) return undefined;
    attrs.push([type, text]);
    at = set.next;
  }
  return attrs;
}

/** Subject and issuer attributes and the signature of a DER certificate, or undefined (use @peculiar/x509). */
export function readDerNameFacts(der: Uint8Array): DerNameFacts | undefined {
  const cert = child(der, 0, der.length, TAG.sequence);
  if (!cert) return undefined;
  const tbs = child(der, cert.start, cert.end, TAG.sequence);
  if (!tbs) return undefined;
  let at = tbs.start;
  const version = tlv(der, at, tbs.end);
  if (version?.tag === TAG.version) at = version.next;
  const serial = child(der, at, tbs.end, TAG.integer);
  const algorithm = serial && child(der, serial.next, tbs.end, TAG.sequence);
  const issuer = algorithm && child(der, algorithm.next, tbs.end, TAG.sequence);
  const validity = issuer && child(der, issuer.next, tbs.end, TAG.sequence);
  const subject = validity && child(der, validity.next, tbs.end, TAG.sequence);
  if (!subject || !issuer) return undefined;
  const outerAlgorithm = child(der, tbs.next, cert.end, TAG.sequence);
  const signatureValue = outerAlgorithm && child(der, outerAlgorithm.next, cert.end, TAG.bitString);
  // BIT STRING: one byte of unused bits (0 for a signature), then the bytes.
  if (!signatureValue || signatureValue.end - signatureValue.start < 1 || der[signatureValue.start] !== 0) return undefined;
  const subjectAttrs = nameAttrs(der, subject);
  const issuerAttrs = nameAttrs(der, issuer);
  if (!subjectAttrs || !issuerAttrs) return undefined;
  return { subjectAttrs, issuerAttrs, signature: Buffer.from(der.subarray(signatureValue.start + 1, signatureValue.end)) };
}
