import { digest } from '../crypto/hash';
import { Role, type TrustList } from '../formats/model';

/**
 * The rules a CTL must follow before it is signed, shared by `openctl ctl build` and the GUI's CTL builder so
 * both refuse the same lists with the same words.
 */

/** A CTL lists at least two SAST certificates, so that losing one token does not lock the cluster. */
export const MIN_CTL_SAST = 2;

interface RecordLike {
  role?: number;
  certificate?: Buffer;
}

/** Identity of a record for de-duplication: its function and its certificate. Stub records have none. */
export function recordKey(record: RecordLike): string | undefined {
  return record.certificate ? `${record.role}:${digest('sha1', record.certificate).toString('hex')}` : undefined;
}

/** Distinct SAST certificates the list will hold, the signer's included (the builder adds it when missing). */
export function distinctSastCount(records: readonly RecordLike[], signerCertificate?: Uint8Array): number {
  const certs = new Set<string>();
  if (signerCertificate) certs.add(Buffer.from(signerCertificate).toString('base64'));
  for (const r of records) if (r.role === Role.SAST && r.certificate) certs.add(r.certificate.toString('base64'));
  return certs.size;
}

export function tooFewSastMessage(count: number): string {
  return `a CTL needs at least two SAST certificates (it has ${count}): losing the only token would lock the cluster`;
}

/** Phones holding `current` accept a new CTL only when one of its SAST records signed it. */
export function isSastOf(current: TrustList, certificate: Uint8Array): boolean {
  const cert = Buffer.from(certificate);
  return current.records.some((r) => r.role === Role.SAST && r.certificate?.equals(cert));
}

export const SIGNER_NOT_SAST_CONSEQUENCE =
  'phones holding it would reject the new CTL and keep the old one (sign with one of its SAST tokens)';
