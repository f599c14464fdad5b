import type { ParsedFile, TrustList } from '../formats/model';
import { Role, TFTP_CAPABLE_ROLES } from '../formats/model';
import { roleName } from '../formats';
import { verifySignature, findSignerRecord } from '../crypto/verify';
import type {
  FileVerdict,
  HoldingSummary,
  MissingCertificate,
  PhoneFile,
  PhoneTrust,
  TrustWarning,
  TvsModel,
  VerdictKind,
  VouchingRecord,
} from './model';
import { phoneFileKind } from './model';
import { RULES, type RuleId } from './rules';
import {
  TRUST_LIST_SIGNER_ROLES,
  certNamesSigner,
  describeCertificate,
  describeRecord,
  isRollbackItl,
  matchSigner,
  missingSigner,
  shortName,
  summarizeHeld,
  type RecordMatch,
} from './records';
import { warningsFor } from './warnings';

export interface EvaluateOptions {
  /** "Now" for certificate expiry warnings (default: the current time). */
  now?: Date;
}

/** The outcome of one download: the verdict and what the phone holds afterwards. */
export interface Evaluation {
  verdict: FileVerdict;
  phone: PhoneTrust;
}

interface Decision {
  verdict: VerdictKind;
  rule: RuleId;
  reason: string;
  vouchedBy?: VouchingRecord;
  missing?: MissingCertificate;
  /** The certificate that vouched (for expiry warnings). */
  signerCertificate?: Buffer;
}

/**
 * What a phone holding `phone` decides about `file`, and what it holds afterwards. A CTL or ITL the phone
 * accepts replaces the one it held; configs never change what the phone holds.
 */
export function evaluateFile(phone: PhoneTrust, file: PhoneFile, tvs: TvsModel, options: EvaluateOptions = {}): Evaluation {
  const kind = phoneFileKind(file);
  let decision: Decision;
  if (kind === 'unsigned' || !file.parsed) decision = decideUnsigned(phone);
  else if (file.parsed.kind === 'ctl') decision = decideCtl(phone, file.parsed, tvs);
  else if (file.parsed.kind === 'itl') decision = decideItl(phone, file.parsed, tvs);
  else decision = decideConfig(phone, file.parsed, tvs);

  let after = phone;
  if (decision.verdict !== 'rejected' && file.parsed && (file.parsed.kind === 'ctl' || file.parsed.kind === 'itl')) {
    after = { ...phone, [file.parsed.kind]: { name: file.name, list: file.parsed } };
  }
  const warnings: TrustWarning[] = warningsFor(file, {
    now: options.now ?? new Date(),
    signerCertificate: decision.signerCertificate,
    sbd: phone.sbd,
  });
  return {
    verdict: {
      name: file.name,
      kind,
      verdict: decision.verdict,
      rule: decision.rule,
      ruleText: RULES[decision.rule],
      reason: decision.reason,
      ...(decision.vouchedBy ? { vouchedBy: decision.vouchedBy } : {}),
      ...(decision.missing ? { missing: decision.missing } : {}),
      holdsAfter: summarizeHolding(after),
      warnings,
    },
    phone: after,
  };
}

export function summarizeHolding(phone: PhoneTrust): HoldingSummary {
  return {
    ...(phone.ctl ? { ctl: summarizeHeld(phone.ctl) } : {}),
    ...(phone.itl ? { itl: summarizeHeld(phone.itl) } : {}),
    sbd: phone.sbd,
  };
}

// ---------------------------------------------------------------------------------------------------------
// CTL

function decideCtl(phone: PhoneTrust, file: TrustList, tvs: TvsModel): Decision {
  const signer = signerText(file);
  if (phone.ctl) {
    const { allowed, otherRoles } = matchSigner([{ source: 'held-ctl', held: phone.ctl }], file, [Role.SAST]);
    if (allowed.length > 0) return verifiedBy(file, allowed, 'ctl-signed-by-held-sast', `signed by ${signer}, a SAST of the CTL the phone holds`);
    const asOther = otherRoles[0]
      ? `; it is in the phone's CTL only as ${roleOf(otherRoles[0])}, and only SAST certificates may sign a CTL`
      : '';
    return reject(
      file,
      'ctl-signer-not-in-held-ctl',
      `signed by ${signer}, which is not a SAST of the CTL the phone holds (${phone.ctl.name})${asOther}`,
    );
  }
  if (phone.itl) {
    const { allowed } = matchSigner([{ source: 'held-itl', held: phone.itl }], file, TRUST_LIST_SIGNER_ROLES);
    if (allowed.length > 0) return verifiedBy(file, allowed, 'ctl-signer-in-held-itl', `signed by ${signer}, which the phone's ITL lists`);
    return viaTvs(phone, file, tvs, TRUST_LIST_SIGNER_ROLES, 'ctl-signer-via-tvs', 'ctl-signer-unknown', 'CTL');
  }
  return firstTrustList(file);
}

// ---------------------------------------------------------------------------------------------------------
// ITL

function decideItl(phone: PhoneTrust, file: TrustList, tvs: TvsModel): Decision {
  const signer = signerText(file);
  const rollback = phone.itl && isRollbackItl(phone.itl.list);
  if (phone.ctl) {
    const { allowed, otherRoles } = matchSigner([{ source: 'held-ctl', held: phone.ctl }], file, TRUST_LIST_SIGNER_ROLES);
    if (allowed.length > 0) return verifiedBy(file, allowed, 'itl-signer-in-held-ctl', `signed by ${signer}, which the phone's CTL lists`);
    if (rollback) return rollbackAccepts(file, phone);
    const asOther = otherRoles[0] ? `; it is in the CTL only as ${roleOf(otherRoles[0])}` : '';
    return reject(
      file,
      'itl-signer-not-in-held-ctl',
      `signed by ${signer}, which is not a SAST, CallManager or TFTP certificate of the CTL the phone holds (${phone.ctl.name})${asOther}`,
    );
  }
  if (phone.itl) {
    const { allowed } = matchSigner([{ source: 'held-itl', held: phone.itl }], file, [Role.SAST]);
    if (allowed.length > 0) return verifiedBy(file, allowed, 'itl-signed-by-held-itl-sast', `signed by ${signer}, the SAST of the ITL the phone holds`);
    if (rollback) return rollbackAccepts(file, phone);
    return viaTvs(phone, file, tvs, TRUST_LIST_SIGNER_ROLES, 'itl-signer-via-tvs', 'itl-signer-unknown', 'ITL');
  }
  return firstTrustList(file);
}

function firstTrustList(file: TrustList): Decision {
  const record = findSignerRecord(file);
  const what = file.kind.toUpperCase();
  if (!record || !record.certificate) {
    return reject(
      file,
      'signer-record-missing',
      `the ${what}'s header names ${signerText(file)}, but no record of the ${what} carries that certificate`,
    );
  }
  if (!verifySignature(file, record.certificate)) {
    return {
      verdict: 'rejected',
      rule: 'signature-invalid',
      reason: `the ${what}'s signature does not verify with its own signer record (${signerText(file)})`,
      vouchedBy: describeRecord(record, 'file'),
    };
  }
  return {
    verdict: 'accepted',
    rule: 'first-trust-list',
    reason: `the phone holds no CTL and no ITL, so it accepts this ${what} signed by ${signerText(file)}`,
    vouchedBy: describeRecord(record, 'file'),
    signerCertificate: record.certificate,
  };
}

function rollbackAccepts(file: ParsedFile | undefined, phone: PhoneTrust): Decision {
  const itlName = phone.itl?.name ?? 'ITL';
  if (file && (file.kind === 'itl' || file.kind === 'ctl')) {
    // Even under rollback, a trust list must be self-consistent: the phone keeps its signer as the next SAST.
    const record = findSignerRecord(file);
    if (!record?.certificate || !verifySignature(file, record.certificate)) {
      return {
        verdict: 'rejected',
        rule: 'signature-invalid',
        reason: `the ${file.kind.toUpperCase()}'s signature does not verify with its own signer record (${signerText(file)})`,
        missing: record?.certificate ? undefined : missingSigner(file),
      };
    }
    return {
      verdict: 'accepted',
      rule: 'rollback-itl-accepts-any',
      reason: `the phone holds the rollback ITL (${itlName}: empty TVS and TFTP sections), so it accepts this ITL signed by ${signerText(file)}`,
      vouchedBy: describeRecord(record, 'file'),
      signerCertificate: record.certificate,
    };
  }
  const what = file ? `this config signed by ${signerText(file)}` : 'this unsigned config';
  return {
    verdict: 'accepted',
    rule: 'rollback-itl-accepts-any',
    reason: `the phone holds the rollback ITL (${itlName}: empty TVS and TFTP sections), so it accepts ${what}`,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Configs

function decideConfig(phone: PhoneTrust, file: ParsedFile, tvs: TvsModel): Decision {
  if (!phone.ctl && !phone.itl) {
    return {
      verdict: 'accepted',
      rule: 'config-nothing-held',
      reason: 'the phone holds no CTL and no ITL, so it does not check the config signature',
    };
  }
  const signer = signerText(file);
  const { allowed, otherRoles } = matchSigner(
    [
      { source: 'held-ctl', held: phone.ctl },
      { source: 'held-itl', held: phone.itl },
    ],
    file,
    TFTP_CAPABLE_ROLES,
  );
  if (allowed.length > 0) {
    return verifiedBy(file, allowed, 'config-signed-by-tftp-record', `signed by ${signer}, a TFTP-capable certificate the phone holds`);
  }
  if (phone.itl && isRollbackItl(phone.itl.list)) return rollbackAccepts(file, phone);
  const tvsDecision = viaTvs(phone, file, tvs, TFTP_CAPABLE_ROLES, 'config-signer-via-tvs', 'config-signer-unknown', 'config');
  if (tvsDecision.verdict === 'rejected' && tvsDecision.rule === 'config-signer-unknown' && otherRoles[0]) {
    return reject(
      file,
      'config-signer-not-tftp-capable',
      `signed by ${signer}, which the phone holds only as ${roleOf(otherRoles[0])}: only TFTP or CCM+TFTP certificates may sign configs`,
    );
  }
  return tvsDecision;
}

function decideUnsigned(phone: PhoneTrust): Decision {
  if (!phone.ctl && !phone.itl) {
    return {
      verdict: 'accepted',
      rule: 'config-nothing-held',
      reason: 'the phone holds no CTL and no ITL, so it accepts an unsigned config',
    };
  }
  if (phone.itl && isRollbackItl(phone.itl.list)) return rollbackAccepts(undefined, phone);
  const held = [phone.ctl?.name, phone.itl?.name].filter(Boolean).join(' and ');
  return {
    verdict: 'rejected',
    rule: 'unsigned-config-refused',
    reason: `the file is not signed, and the phone holds ${held}, so it requires a signed config`,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Shared steps

/** The first matching record whose certificate verifies the signature; if none verifies, signature-invalid. */
function verifiedBy(file: ParsedFile, matches: RecordMatch[], rule: RuleId, reason: string): Decision {
  for (const m of matches) {
    if (m.record.certificate && verifySignature(file, m.record.certificate)) {
      return {
        verdict: 'accepted',
        rule,
        reason,
        vouchedBy: describeRecord(m.record, m.source),
        signerCertificate: m.record.certificate,
      };
    }
  }
  const m = matches[0]!;
  return {
    verdict: 'rejected',
    rule: 'signature-invalid',
    reason: `the header names ${signerText(file)}, which the phone holds (${m.held.name}, ${roleOf(m)}), but the signature does not verify with that certificate`,
    vouchedBy: describeRecord(m.record, m.source),
  };
}

/**
 * Ask TVS, as a phone with Security by Default does: only when the phone can reach a TVS it authenticates with
 * its ITL, and only for a certificate TVS knows in a role fit for the file.
 */
function viaTvs(
  phone: PhoneTrust,
  file: ParsedFile,
  tvs: TvsModel,
  roles: readonly number[],
  acceptRule: RuleId,
  unknownRule: RuleId,
  what: string,
): Decision {
  const signer = signerText(file);
  if (!phone.sbd) {
    return reject(
      file,
      'no-sbd-signer-change',
      `signed by ${signer}, which the phone does not hold, and the phone has no Security by Default to ask TVS: delete its CTL by hand`,
    );
  }
  const reach = tvsReachable(phone, tvs);
  const known = tvs.knows.filter(
    (k) => certNamesSigner(k.certificate, file.header.signer) && (!k.roles || k.roles.some((r) => roles.includes(r))),
  );
  if (!reach.ok) {
    return reject(file, unknownRule, `signed by ${signer}, which the phone does not hold, and ${reach.why}`);
  }
  if (known.length === 0) {
    return reject(file, unknownRule, `signed by ${signer}, which neither the phone's trust lists nor TVS vouch for`);
  }
  for (const k of known) {
    if (verifySignature(file, k.certificate)) {
      const role = k.roles?.find((r) => roles.includes(r));
      return {
        verdict: 'accepted-via-tvs',
        rule: acceptRule,
        reason: `signed by ${signer}, which the phone does not hold; TVS vouches for it`,
        vouchedBy: describeCertificate(k.certificate, 'tvs', role === undefined ? 'TVS-known' : roleName(role)),
        signerCertificate: k.certificate,
      };
    }
  }
  return {
    verdict: 'rejected',
    rule: 'signature-invalid',
    reason: `TVS vouches for ${signer}, but the ${what}'s signature does not verify with that certificate`,
    vouchedBy: describeCertificate(known[0]!.certificate, 'tvs', 'TVS-known'),
  };
}

/** Can this phone ask TVS? It needs SBD and an ITL whose TVS records authenticate the TVS service. */
export function tvsReachable(phone: PhoneTrust, tvs: TvsModel): { ok: boolean; why: string } {
  if (!phone.sbd) return { ok: false, why: 'the phone has no Security by Default (no TVS)' };
  if (!phone.itl) return { ok: false, why: 'the phone holds no ITL, so it knows no TVS to ask' };
  const tvsRecords = phone.itl.list.records.filter((r) => r.role === Role.TVS && (r.certificate || r.certHash));
  if (tvsRecords.length === 0) return { ok: false, why: `the phone's ITL (${phone.itl.name}) lists no TVS to ask` };
  if (tvs.serviceCertificates && tvs.serviceCertificates.length > 0) {
    const held = tvsRecords.some((r) => r.certificate && tvs.serviceCertificates!.some((c) => c.equals(r.certificate!)));
    if (!held) {
      return {
        ok: false,
        why: `the TVS service's certificate is not one the phone's ITL (${phone.itl.name}) holds, so the phone cannot authenticate TVS`,
      };
    }
  }
  return { ok: true, why: '' };
}

function reject(file: ParsedFile, rule: RuleId, reason: string): Decision {
  return { verdict: 'rejected', rule, reason, missing: missingSigner(file) };
}

function signerText(file: ParsedFile): string {
  return `"${shortName(file.header.signer.subject)}" (serial ${missingSigner(file).serial})`;
}

function roleOf(m: RecordMatch): string {
  return m.record.role === undefined ? 'a record without a function' : roleName(m.record.role);
}
