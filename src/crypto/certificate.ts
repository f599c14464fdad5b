import { X509Certificate, createHash } from 'node:crypto';
import type * as PeculiarX509 from '@peculiar/x509';
import { OpenctlError } from '../util/errors';
import { formatDn } from '../formats/dn';
import { readDerNameFacts, type DerNameFacts } from './der-names';

/**
 * Certificate facts the formats need. node:crypto's X509Certificate (native, fast) gives keys, serial, dates;
 * @peculiar/x509 gives what node cannot (subject attributes in certificate order, the signature bytes, PKCS#7)
 * and is loaded only when one of those is asked for, so that showing a 1,000-record list never pays for it.
 */

export interface CertificateInfo {
  /** Comma DN, attributes in the certificate's own order, e.g. `CN=a,O=b,OU=c`. */
  subject: string;
  subjectAttrs: Array<[string, string]>;
  issuer: string;
  issuerAttrs: Array<[string, string]>;
  /** Raw big-endian serial, no sign byte. */
  serial: Buffer;
  serialHex: string;
  keyAlgorithm: 'RSA' | 'EC' | string;
  keyBits: number;
  /** Record tag 7: PKCS#1 RSAPublicKey DER for RSA, uncompressed X9.62 point for EC, SPKI DER otherwise. */
  publicKey: Buffer;
  /** The certificate's own signature (record tag 8). */
  signature: Buffer;
  notBefore: Date;
  notAfter: Date;
  sha1: string;
  md5: string;
}

type X509Module = typeof PeculiarX509;
let peculiar: X509Module | undefined;

/** @peculiar/x509 needs a Reflect metadata polyfill before it loads. */
function x509(): X509Module {
  if (!peculiar) {
    require('reflect-metadata');
    peculiar = require('@peculiar/x509') as X509Module;
  }
  return peculiar;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 #]+)-----([\s\S]*?)-----END \1-----/g;
const CERT_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);
const PKCS7_LABELS = new Set(['PKCS7', 'PKCS #7 SIGNED DATA', 'CMS']);

/** Every certificate in a PEM, DER or PKCS#7 (PEM or DER) input, each as DER. */
export function readCertificates(bytes: Buffer): Buffer[] {
  const text = bytes.subarray(0, Math.min(bytes.length, 1 << 20)).toString('latin1');
  if (text.includes('-----BEGIN')) return readPem(bytes.toString('latin1'));
  const ders = readDerSequence(bytes);
  if (ders.length === 0) throw new OpenctlError('no certificate found: expected PEM, DER or PKCS#7');
  return ders;
}

function readPem(text: string): Buffer[] {
  const certs: Buffer[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    const label = m[1]!;
    const der = Buffer.from(m[2]!.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    if (CERT_LABELS.has(label)) certs.push(checkedCertificate(der));
    else if (PKCS7_LABELS.has(label)) certs.push(...fromPkcs7(der));
  }
  if (certs.length === 0) throw new OpenctlError('no certificate found in the PEM input (no CERTIFICATE or PKCS7 block)');
  return certs;
}

/** One DER certificate, several concatenated, or a PKCS#7 bundle. */
function readDerSequence(bytes: Buffer): Buffer[] {
  const first = derLength(bytes, 0);
  if (first === undefined) throw new OpenctlError('not a certificate: expected PEM, DER or PKCS#7');
  const firstDer = bytes.subarray(0, first);
  if (!isCertificate(firstDer)) return fromPkcs7(firstDer);
  const certs: Buffer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const length = derLength(bytes, offset);
    if (length === undefined) break;
    certs.push(checkedCertificate(bytes.subarray(offset, offset + length)));
    offset += length;
  }
  return certs;
}

/** Total size of the DER SEQUENCE at `offset`, or undefined when there is none. */
function derLength(bytes: Buffer, offset: number): number | undefined {
  if (bytes[offset] !== 0x30 || offset + 2 > bytes.length) return undefined;
  const first = bytes[offset + 1]!;
  if (first < 0x80) return offset + 2 + first <= bytes.length ? 2 + first : undefined;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || offset + 2 + n > bytes.length) return undefined;
  const length = bytes.readUIntBE(offset + 2, n);
  const total = 2 + n + length;
  return offset + total <= bytes.length ? total : undefined;
}

function isCertificate(der: Buffer): boolean {
  try {
    new X509Certificate(der);
    return true;
  } catch {
    return false;
  }
}

function checkedCertificate(der: Buffer): Buffer {
  if (!isCertificate(der)) throw new OpenctlError('not a valid X.509 certificate');
  return der;
}

function fromPkcs7(der: Buffer): Buffer[] {
  let certs: PeculiarX509.X509Certificates;
  try {
    certs = new (x509().X509Certificates)(der);
  } catch {
    throw new OpenctlError('not a certificate: expected PEM, DER or PKCS#7');
  }
  if (certs.length === 0) throw new OpenctlError('the PKCS#7 bundle holds no certificate');
  return Array.from(certs, (c) => Buffer.from(c.rawData));
}

const EC_CURVE_BITS: Readonly<Record<string, number>> = { prime256v1: 256, secp384r1: 384, secp521r1: 521, secp256k1: 256 };

/** Builders meet the same few certificates again and again (batch ITLs): remember the last ones. */
const CACHE_SIZE = 128;
const cache = new Map<string, CertificateInfo>();

/** The facts of one DER certificate (shared between callers: treat as read-only). Throws OpenctlError when it is not one. */
export function certificateInfo(der: Uint8Array): CertificateInfo {
  const raw = Buffer.from(der);
  const key = createHash('sha256').update(raw).digest('base64');
  const cached = cache.get(key);
  if (cached) return cached;
  const info = Object.freeze(readInfo(raw));
  cache.set(key, info);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return info;
}

function readInfo(raw: Buffer): CertificateInfo {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(raw);
  } catch {
    throw new OpenctlError('not a valid X.509 certificate');
  }
  // A certificate inside a trust list is untrusted input: OpenSSL accepts some DER that later steps cannot use
  // (a flipped bit in a validity date gives a date string no Date can hold, a mangled key no KeyObject).
  // Whatever breaks here makes it "not a valid certificate" (exit 1 or 2 upstream), never an internal error.
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new OpenctlError(`not a valid X.509 certificate: unreadable validity dates (${cert.validFrom} - ${cert.validTo})`);
  }
  let names: DerNameFacts;
  let key: ReturnType<typeof publicKeyFacts>;
  try {
    names = readDerNameFacts(raw) ?? peculiarNameFacts(raw);
    key = publicKeyFacts(cert);
  } catch (err) {
    throw new OpenctlError(`not a valid X.509 certificate: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { subjectAttrs, issuerAttrs, signature } = names;
  const serial = serialBytes(cert.serialNumber);
  return {
    subject: formatDn(subjectAttrs, 'comma'),
    subjectAttrs,
    issuer: formatDn(issuerAttrs, 'comma'),
    issuerAttrs,
    serial,
    serialHex: serial.toString('hex'),
    ...key,
    signature,
    notBefore,
    notAfter,
    sha1: createHash('sha1').update(raw).digest('hex'),
    md5: createHash('md5').update(raw).digest('hex'),
  };
}

/** The name facts through @peculiar/x509: for what readDerNameFacts leaves (and to test it against). */
export function peculiarNameFacts(raw: Uint8Array): DerNameFacts {
  const parsed = new (x509().X509Certificate)(raw);
  return { subjectAttrs: nameAttrs(parsed.subjectName), issuerAttrs: nameAttrs(parsed.issuerName), signature: Buffer.from(parsed.signature) };
}

/** Attributes in the certificate's order; a multi-valued RDN contributes its values in turn. */
function nameAttrs(name: PeculiarX509.Name): Array<[string, string]> {
  const attrs: Array<[string, string]> = [];
  for (const rdn of name.toJSON()) {
    for (const [type, values] of Object.entries(rdn)) for (const value of values) attrs.push([type, value]);
  }
  return attrs;
}

/** Node gives the serial as hex; strip the DER sign byte (and any leading zero) but keep one byte. */
function serialBytes(hex: string): Buffer {
  const bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

function publicKeyFacts(cert: X509Certificate): Pick<CertificateInfo, 'keyAlgorithm' | 'keyBits' | 'publicKey'> {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    return { keyAlgorithm: 'RSA', keyBits: details.modulusLength ?? 0, publicKey: key.export({ format: 'der', type: 'pkcs1' }) };
  }
  if (key.asymmetricKeyType === 'ec') {
    const jwk = key.export({ format: 'jwk' });
    const bits = EC_CURVE_BITS[details.namedCurve ?? ''] ?? 0;
    const size = Math.ceil(bits / 8);
    const coord = (b64: string | undefined) => leftPad(Buffer.from(b64 ?? '', 'base64url'), size);
    return { keyAlgorithm: 'EC', keyBits: bits, publicKey: Buffer.concat([Buffer.of(4), coord(jwk.x), coord(jwk.y)]) };
  }
  return {
    keyAlgorithm: (key.asymmetricKeyType ?? 'unknown').toUpperCase(),
    keyBits: details.modulusLength ?? 0,
    publicKey: key.export({ format: 'der', type: 'spki' }),
  };
}

function leftPad(b: Buffer, size: number): Buffer {
  return b.length >= size ? b : Buffer.concat([Buffer.alloc(size - b.length), b]);
}
