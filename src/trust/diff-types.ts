/**
 * What `openctl diff --json` prints, as plain JSON-able types (no Buffer, no parsed file): the GUI's Compare panel
 * renders these as they are, so this module imports nothing but the verdict types.
 */
import type { FileVerdict } from './verdict';

/** One record, as a diff shows it. */
export interface RecordView {
  role: string;
  subject?: string;
  issuer?: string;
  serial?: string;
  dnsName?: string;
  ipv4?: string;
  /** SHA-1 of the certificate DER; the certificate hash (tag 11) for hash-only records. */
  certificate?: string;
  /** The certificate's notAfter (ISO 8601), when the record holds a readable certificate. */
  notAfter?: string;
}

export interface RecordChange {
  before: RecordView;
  after: RecordView;
  /** What differs: 'certificate', 'role', 'dnsName', 'ipv4'. */
  changes: string[];
}

export interface Change<T> {
  before: T;
  after: T;
  changed: boolean;
}

export interface TrustListDiff {
  kind: 'ctl' | 'itl';
  added: RecordView[];
  removed: RecordView[];
  changed: RecordChange[];
  unchanged: number;
  signer: Change<{ subject: string; issuer: string; serial: string }>;
  version: Change<string>;
  signerVersion: Change<string | undefined>;
  digest: Change<string>;
  timestamp: Change<number>;
  sha1: Change<string>;
  /** Does a phone holding OLD accept NEW? */
  acceptance: FileVerdict;
  /** ITLs: is OLD / NEW the rollback ITL (phones holding it accept any config and any new ITL)? */
  rollback: Change<boolean>;
}

