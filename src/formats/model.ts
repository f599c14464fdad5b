import type { HashAlgorithm } from '../crypto/hash';

/**
 * Typed models of the four file kinds phones download. One codec (src/formats) turns bytes into these and
 * back; every model keeps the elements it was read from, so that serialising what was parsed gives the same
 * bytes (unknown tags, element order and padding included).
 */

export type TrustListKind = 'ctl' | 'itl';
export type FileKind = TrustListKind | 'signed' | 'encrypted';

export interface Version {
  major: number;
  minor: number;
}

/**
 * One element as read: `tag | length(2, BE) | value`, or a container whose value is more elements.
 * `offset` is the element's first byte in the file (for error messages and signature cutting).
 */
export interface Element {
  tag: number;
  offset: number;
  /** The raw value (for containers: the children's bytes). The padding byte (header tag 13) has no value. */
  value: Buffer;
  children?: Element[];
  /** True for the 1-byte header padding element (tag 13). */
  padding?: boolean;
}

/** Header tags 3/4/6/5: who signed the file. DNs as written (NUL removed), in whichever spelling the file uses. */
export interface SignerId {
  subject: string;
  issuer: string;
  /** Raw big-endian serial, no sign byte. */
  serial: Buffer;
}

export interface EncryptionInfo {
  iv: Buffer; // tag 19, 16 bytes
  padCount: number; // tag 20: pad bytes (0x0D) appended to the plaintext before encryption
  keyBits: number; // tag 23: modulus size of the phone key the AES key is wrapped for
  keyAlgorithm: number; // tag 24: 1 = AES
  wrappedKey: Buffer; // tag 25: RSA PKCS#1 v1.5 encrypted AES key
  plaintextHash: HashAlgorithm; // tag 26
  plaintextDigest: Buffer; // tag 27
}

export interface FileHeader {
  version: Version; // tag 1
  headerLength: number; // tag 2
  signerVersion?: Version; // tag 28 (trust lists only)
  signer: SignerId; // tag 3
  hash: HashAlgorithm; // tag 8
  signatureAlgorithm: number; // tag 10 (0 = RSA PKCS#1 v1.5)
  modulusIndex: number; // tag 11 (0..3 = 512/1024/2048/4096)
  signature: Buffer; // tag 12 value
  /** Where the tag-12 element starts and how long it is (3 + value length): the bytes the signature does not cover. */
  signatureElement: { offset: number; length: number };
  filename: string; // tag 14
  /** Tag 15, Unix seconds. Absent only in firmware containers (header 1.1, `.loads`/`.sbn`/`.zz.sgn`). */
  timestamp?: number;
  encryption?: EncryptionInfo; // tags 16..27 (encrypted configs)
  /** Every header element as read, in file order, unknown tags and padding included. */
  elements: Element[];
}

/** A trust-list record. Every field is optional: stub and hash-only records exist in the wild. */
export interface TrustRecord {
  offset: number;
  length: number; // tag 1
  dnsName?: string; // tag 2 ('' for a lone NUL)
  subject?: string; // tag 3
  role?: number; // tag 4 (unknown values kept as numbers)
  issuer?: string; // tag 5
  serial?: Buffer; // tag 6
  publicKey?: Buffer; // tag 7: RSA PKCS#1 RSAPublicKey DER, or EC uncompressed point
  certSignature?: Buffer; // tag 8
  certificate?: Buffer; // tag 9 (DER)
  ipv4?: string; // tag 10, dotted quad
  certHash?: Buffer; // tag 11
  certHashAlgorithm?: number; // tag 12
  /** The record's elements as read, in file order, unknown tags included. */
  elements: Element[];
}

/** Trust lists and encrypted configs always carry a timestamp: the parser refuses them without one. */
export type TimestampedHeader = FileHeader & { timestamp: number };

interface ParsedBase {
  header: FileHeader;
  /** The file's bytes exactly as read. */
  bytes: Buffer;
}

export interface TrustList extends ParsedBase {
  kind: TrustListKind;
  header: TimestampedHeader;
  records: TrustRecord[];
}

export interface SignedFile extends ParsedBase {
  kind: 'signed';
  /** A firmware container (header 1.1, no timestamp) rather than a signed config (header 1.0). */
  firmware?: boolean;
  /** The signed file's payload: the bytes after the header. */
  body: Buffer;
}

export interface EncryptedConfig extends ParsedBase {
  kind: 'encrypted';
  header: TimestampedHeader;
  /** AES-CBC ciphertext: the bytes after the header. */
  ciphertext: Buffer;
}

export type ParsedFile = TrustList | SignedFile | EncryptedConfig;

/** Record functions (tag 4). Other values are kept as numbers, never rejected. */
export const Role = {
  SAST: 0,
  CCM: 1,
  CCM_TFTP: 2,
  TFTP: 3,
  CAPF: 4,
  APP_SERVER: 7,
  TVS: 21,
} as const;

/** Roles whose certificate may sign TFTP files (configs). */
export const TFTP_CAPABLE_ROLES: readonly number[] = [Role.CCM_TFTP, Role.TFTP];

export type DnStyle = 'comma' | 'cucm';

/** What a builder needs to write one new record (the certificate supplies subject, issuer, serial, key...). */
export interface RecordSpec {
  role: number;
  certificate: Buffer; // DER
  dnsName?: string;
  ipv4?: string;
}
