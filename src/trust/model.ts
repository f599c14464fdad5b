import type { ParsedFile, TrustList } from '../formats/model';

/**
 * The trust model's vocabulary: what a phone holds, what TVS will vouch for, and what the phone decides about
 * each file it downloads. Pure data: the model reads parsed files and never touches a disk, a network or a token.
 */

/** A file as a phone downloads it: parsed when it is a Cisco TLV file, raw when it is a plain (unsigned) config. */
export interface PhoneFile {
  /** The name it is served under (e.g. `ITLFile.tlv`, `SEP001122334455.cnf.xml.sgn`). */
  name: string;
  /** Absent for an unsigned file (plain XML config, ringlist...). */
  parsed?: ParsedFile;
  bytes: Buffer;
}

export type PhoneFileKind = 'ctl' | 'itl' | 'signed' | 'encrypted' | 'unsigned';

export function phoneFileKind(file: PhoneFile): PhoneFileKind {
  return file.parsed ? file.parsed.kind : 'unsigned';
}

/** A trust list a phone holds, with the name it was downloaded under. */
export interface HeldList {
  name: string;
  list: TrustList;
}

/** What one phone (or a group of identical phones) holds before a rollout. */
export interface PhoneTrust {
  ctl?: HeldList;
  itl?: HeldList;
  /**
   * Security by Default: the phone can ask TVS about certificates it does not hold. False for 7940/7960 and
   * older models, which therefore reject any change of signer until their CTL is deleted by hand.
   */
  sbd: boolean;
}

/** One certificate TVS vouches for, optionally only for some record functions (as CUCM's TVS answers by role). */
export interface TvsCertificate {
  certificate: Buffer;
  /** Record functions TVS reports for it; absent means TVS vouches for it in any role. */
  roles?: readonly number[];
}

/** The cluster's Trust Verification Service as phones see it. */
export interface TvsModel {
  knows: readonly TvsCertificate[];
  /**
   * The TVS service's own certificates. A phone authenticates TVS with the TVS records of its ITL, so when these
   * are given a phone reaches TVS only if its ITL holds one of them (a regenerated TVS certificate the phone does
   * not hold yet makes TVS unreachable). Absent: any TVS record in the phone's ITL is enough.
   */
  serviceCertificates?: readonly Buffer[];
}

export const NO_TVS: TvsModel = { knows: [] };

export type VerdictKind = 'accepted' | 'accepted-via-tvs' | 'rejected';

/** A record (or TVS certificate) that vouched for a file. */
export interface VouchingRecord {
  /** Where the phone found it. */
  source: 'held-ctl' | 'held-itl' | 'tvs' | 'file';
  role: string;
  subject: string;
  issuer: string;
  /** Hex, no sign byte. */
  serial: string;
  /** SHA-1 of the certificate DER, hex. */
  certificateSha1?: string;
}

/** The signing certificate a phone looked for and did not find (from the file header). */
export interface MissingCertificate {
  subject: string;
  issuer: string;
  serial: string;
}

/** A short description of one held trust list, for "what the phone holds afterwards". */
export interface HeldSummary {
  name: string;
  kind: 'ctl' | 'itl';
  signer: string;
  sha1: string;
  records: number;
  /** An ITL with empty TVS and TFTP sections. */
  rollback?: boolean;
}

export interface HoldingSummary {
  ctl?: HeldSummary;
  itl?: HeldSummary;
  sbd: boolean;
}

export type WarningId =
  | 'ctl-few-sast'
  | 'certificate-expired'
  | 'certificate-expiring'
  | 'itl-size'
  | 'sha512-older-phones';

/** Something an admin should know although phones would work. Never changes a verdict. */
export interface TrustWarning {
  id: WarningId;
  message: string;
}

export interface FileVerdict {
  name: string;
  kind: PhoneFileKind;
  verdict: VerdictKind;
  /** Stable identifier of the rule that decided (see RULES). */
  rule: string;
  /** The rule as one sentence. */
  ruleText: string;
  /** Why, for this file, in one sentence naming the certificates involved. */
  reason: string;
  vouchedBy?: VouchingRecord;
  missing?: MissingCertificate;
  holdsAfter: HoldingSummary;
  warnings: TrustWarning[];
}
