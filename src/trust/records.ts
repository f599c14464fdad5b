import { createHash } from 'node:crypto';
import type { ParsedFile, SignerId, TrustList, TrustRecord } from '../formats/model';
import { Role, TFTP_CAPABLE_ROLES } from '../formats/model';
import { roleName } from '../formats';
import { sameDn } from '../formats/dn';
import { certificateInfo, type CertificateInfo } from '../crypto/certificate';
import type { HeldList, HeldSummary, MissingCertificate, VouchingRecord } from './model';

/** Roles whose certificate may sign a trust list: SAST (tokens, ITLRecovery), CallManager, TFTP. */
export const TRUST_LIST_SIGNER_ROLES: readonly number[] = [Role.SAST, Role.CCM, Role.CCM_TFTP, Role.TFTP];

export function stripSign(serial: Buffer): Buffer {
  let i = 0;
  while (i < serial.length - 1 && serial[i] === 0) i += 1;
  return serial.subarray(i);
}

/** Does the record name this signer (same serial, same issuer by attribute set)? */
export function recordNamesSigner(record: TrustRecord, signer: SignerId): boolean {
  if (!record.serial || !stripSign(record.serial).equals(stripSign(signer.serial))) return false;
  if (record.issuer !== undefined) return sameDn(record.issuer, signer.issuer);
  // Records without an issuer (rare): fall back to the subject.
  return record.subject !== undefined && sameDn(record.subject, signer.subject);
}

const infoCache = new Map<string, CertificateInfo | null>();

/** Certificate facts, cached by DER digest; undefined for bytes that are not a certificate. */
export function certInfo(der: Uint8Array): CertificateInfo | undefined {
  const key = createHash('sha1').update(der).digest('hex');
  if (!infoCache.has(key)) {
    let info: CertificateInfo | null = null;
    try {
      info = certificateInfo(der);
    } catch {
      info = null;
    }
    if (infoCache.size > 4096) infoCache.clear();
    infoCache.set(key, info);
  }
  return infoCache.get(key) ?? undefined;
}

export function certNamesSigner(der: Uint8Array, signer: SignerId): boolean {
  const info = certInfo(der);
  return !!info && info.serial.equals(stripSign(signer.serial)) && sameDn(info.issuer, signer.issuer);
}

export function sha1Hex(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

export interface RecordMatch {
  record: TrustRecord;
  source: 'held-ctl' | 'held-itl';
  held: HeldList;
}

/**
 * Records of the held lists that name the file's signer and carry a certificate, split into those whose role
 * is allowed to vouch and those that are not (so that a verdict can say "it is in your CTL, but as CAPF").
 */
export function matchSigner(
  held: Array<{ source: 'held-ctl' | 'held-itl'; held: HeldList | undefined }>,
  parsed: ParsedFile,
  roles: readonly number[],
): { allowed: RecordMatch[]; otherRoles: RecordMatch[] } {
  const allowed: RecordMatch[] = [];
  const otherRoles: RecordMatch[] = [];
  for (const { source, held: h } of held) {
    if (!h) continue;
    for (const record of h.list.records) {
      if (!record.certificate || !recordNamesSigner(record, parsed.header.signer)) continue;
      const match = { record, source, held: h };
      if (record.role !== undefined && roles.includes(record.role)) allowed.push(match);
      else otherRoles.push(match);
    }
  }
  return { allowed, otherRoles };
}

export function describeRecord(record: TrustRecord, source: VouchingRecord['source']): VouchingRecord {
  return {
    source,
    role: record.role === undefined ? 'unknown' : roleName(record.role),
    subject: record.subject ?? '',
    issuer: record.issuer ?? '',
    serial: record.serial ? stripSign(record.serial).toString('hex') : '',
    certificateSha1: record.certificate ? sha1Hex(record.certificate) : undefined,
  };
}

export function describeCertificate(der: Buffer, source: VouchingRecord['source'], role: string): VouchingRecord {
  const info = certInfo(der);
  return {
    source,
    role,
    subject: info?.subject ?? '',
    issuer: info?.issuer ?? '',
    serial: info?.serialHex ?? '',
    certificateSha1: sha1Hex(der),
  };
}

export function missingSigner(parsed: ParsedFile): MissingCertificate {
  const s = parsed.header.signer;
  return { subject: s.subject, issuer: s.issuer, serial: stripSign(s.serial).toString('hex') };
}

/** The rollback ITL: no TVS and no TFTP-capable record with a certificate (or certificate hash). */
export function isRollbackItl(list: TrustList): boolean {
  if (list.kind !== 'itl') return false;
  return !list.records.some(
    (r) =>
      r.role !== undefined &&
      (r.role === Role.TVS || TFTP_CAPABLE_ROLES.includes(r.role)) &&
      (r.certificate !== undefined || r.certHash !== undefined),
  );
}

export function summarizeHeld(held: HeldList): HeldSummary {
  return {
    name: held.name,
    kind: held.list.kind,
    signer: held.list.header.signer.subject,
    sha1: sha1Hex(held.list.bytes),
    records: held.list.records.length,
    ...(held.list.kind === 'itl' ? { rollback: isRollbackItl(held.list) } : {}),
  };
}

/** A short human name for a signer: its CN when there is one, else the whole DN. */
export { shortName } from './expiry';
