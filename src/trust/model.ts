import type { ParsedFile, TrustList } from '../formats/model';
import type { PhoneFileKind } from './verdict';

export type * from './verdict';

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
