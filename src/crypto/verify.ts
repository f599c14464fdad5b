import { constants, verify as rsaVerify, X509Certificate, KeyObject } from 'node:crypto';
import type { ParsedFile, TrustList, TrustRecord } from '../formats/model';
import { signedBytes } from '../formats';
import { sameDn } from '../formats/dn';

/**
 * Does `certificate`'s key verify the file's signature (RSA PKCS#1 v1.5 with the header's hash, over the file
 * minus the signature element)? Validity dates are ignored on purpose: phones in the field hold long-expired
 * certificates, so expiry is a warning elsewhere, never a verdict here.
 */
export function verifySignature(parsed: ParsedFile, certificate: Uint8Array): boolean {
  const key = publicKeyOf(certificate);
  if (!key || key.asymmetricKeyType !== 'rsa') return false;
  try {
    return rsaVerify(
      parsed.header.hash,
      signedBytes(parsed),
      { key, padding: constants.RSA_PKCS1_PADDING },
      parsed.header.signature,
    );
  } catch {
    return false;
  }
}

function publicKeyOf(certificate: Uint8Array): KeyObject | undefined {
  try {
    return new X509Certificate(Buffer.from(certificate)).publicKey;
  } catch {
    return undefined;
  }
}

/** Does the record name the header's signer (same issuer by attribute set, same serial)? */
export function recordMatchesSigner(record: TrustRecord, parsed: ParsedFile): boolean {
  const signer = parsed.header.signer;
  return (
    record.serial !== undefined &&
    record.issuer !== undefined &&
    stripSign(record.serial).equals(stripSign(signer.serial)) &&
    sameDn(record.issuer, signer.issuer)
  );
}

/** The record of a trust list that signed it: by issuer and serial, as phones look it up. */
export function findSignerRecord(list: TrustList): TrustRecord | undefined {
  return list.records.find((r) => recordMatchesSigner(r, list));
}

export type VerifyVia = 'own-record' | 'certificate' | 'trust-list';

export interface Verdict {
  valid: boolean;
  /** Why, in one sentence a person can act on. */
  reason: string;
  via?: VerifyVia;
  /** The record that vouched (for trust lists and --trust). */
  record?: TrustRecord;
  /** Which --trust file the record came from (index into the given lists). */
  trustIndex?: number;
  /** The certificate whose key verified the signature (for expiry warnings: a verdict never depends on dates). */
  certificate?: Buffer;
}

/** A trust list against the SAST record of its own that matches the header's signer. */
export function verifyTrustListSelf(list: TrustList): Verdict {
  const record = findSignerRecord(list);
  if (!record) {
    return { valid: false, reason: 'no record of the list matches the signer (issuer and serial)' };
  }
  if (!record.certificate) {
    return { valid: false, reason: 'the signer record carries no certificate', record };
  }
  const valid = verifySignature(list, record.certificate);
  return {
    valid,
    reason: valid ? 'signature verified with the signer record' : 'signature does not match the signer record',
    via: 'own-record',
    record,
    certificate: valid ? record.certificate : undefined,
  };
}

/** A file against records of trust lists (e.g. the TFTP-capable records for a config), signer matched first. */
export function verifyAgainstTrustLists(parsed: ParsedFile, lists: TrustList[], roles?: readonly number[]): Verdict {
  let matchedButFailed: TrustRecord | undefined;
  for (const [trustIndex, list] of lists.entries()) {
    for (const record of list.records) {
      if (!record.certificate) continue;
      if (roles && (record.role === undefined || !roles.includes(record.role))) continue;
      if (!recordMatchesSigner(record, parsed)) continue;
      if (verifySignature(parsed, record.certificate)) {
        return { valid: true, reason: 'signature verified with a trust-list record', via: 'trust-list', record, trustIndex, certificate: record.certificate };
      }
      matchedButFailed = record;
    }
  }
  return matchedButFailed
    ? { valid: false, reason: 'signature does not match the trust-list record of its signer', record: matchedButFailed }
    : { valid: false, reason: 'no trust-list record with an allowed role matches the signer (issuer and serial)' };
}

function stripSign(serial: Buffer): Buffer {
  let i = 0;
  while (i < serial.length - 1 && serial[i] === 0) i += 1;
  return serial.subarray(i);
}

/** A file against certificates given by hand (`openctl verify --cert`): valid when one of them made the signature. */
export function verifyWithCertificates(parsed: ParsedFile, certificates: readonly Buffer[]): Verdict {
  const certificate = certificates.find((c) => verifySignature(parsed, c));
  return {
    valid: certificate !== undefined,
    via: 'certificate',
    reason: certificate ? 'signature verified with the given certificate' : 'signature does not match the given certificate',
    certificate,
  };
}
