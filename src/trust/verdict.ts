/**
 * What the trust model decides about a file, as plain JSON-able data (no Buffer, no parsed file): the CLI's
 * `--json` output and the GUI renderer use these types as they are.
 */

export type PhoneFileKind = 'ctl' | 'itl' | 'signed' | 'encrypted' | 'unsigned';

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
