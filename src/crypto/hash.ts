import { createHash } from 'node:crypto';

/** Digests that can sign a file (header tag 8 / record tag 12). MD5 exists only for config `certHash`. */
export type HashAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type AnyHash = HashAlgorithm | 'md5';

export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha1', 'sha256', 'sha512'];

/** The wire code of a hash in header tag 8 and record tag 12. */
export const HASH_CODE: Readonly<Record<HashAlgorithm, number>> = { sha1: 1, sha256: 2, sha512: 3 };

export function hashFromCode(code: number): HashAlgorithm | undefined {
  return HASH_ALGORITHMS.find((h) => HASH_CODE[h] === code);
}

export function isHashAlgorithm(value: string): value is HashAlgorithm {
  return (HASH_ALGORITHMS as readonly string[]).includes(value);
}

export const DIGEST_LENGTH: Readonly<Record<AnyHash, number>> = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };

export function digest(hash: AnyHash, ...parts: Uint8Array[]): Buffer {
  const h = createHash(hash);
  for (const part of parts) h.update(part);
  return h.digest();
}

/** DER prefixes of the PKCS#1 v1.5 DigestInfo (RFC 8017, section 9.2, note 1). */
const DIGEST_INFO_PREFIX: Readonly<Record<HashAlgorithm, Buffer>> = {
  sha1: Buffer.from('3021300906052b0e03021a05000414', 'hex'),
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

/** The DigestInfo that a raw `CKM_RSA_PKCS` signature wraps around the digest. */
export function digestInfo(hash: HashAlgorithm, digestBytes: Uint8Array): Buffer {
  if (digestBytes.length !== DIGEST_LENGTH[hash]) {
    throw new RangeError(`a ${hash} digest is ${DIGEST_LENGTH[hash]} bytes, got ${digestBytes.length}`);
  }
  return Buffer.concat([DIGEST_INFO_PREFIX[hash], digestBytes]);
}
