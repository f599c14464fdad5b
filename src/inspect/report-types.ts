/* Types only, no imports: the GUI renderer type-checks against these without pulling in Node modules. */

/**
 * What `openctl show` prints and the GUI's Inspect screen draws: a plain, JSON-ready description of a parsed
 * file. Certificates are described by the hash of their DER bytes, never parsed, so a 1,000-record list stays fast.
 */
export interface ElementRow {
  offset: number;
  tag: number;
  name: string;
  length: number;
  /** A printable value, or undefined when the value is only shown as a length (keys, signatures). */
  value?: string;
  depth: number;
}

export interface RecordReport {
  index: number;
  offset: number;
  length: number;
  role?: number;
  roleName?: string;
  roleDescription?: string;
  dnsName?: string;
  subject?: string;
  issuer?: string;
  serial?: string;
  ipv4?: string;
  publicKeyLength?: number;
  signatureLength?: number;
  certificateLength?: number;
  certificateSha1?: string;
  certHash?: string;
  certHashAlgorithm?: string;
  unknownTags: number[];
  signedTheFile: boolean;
  rows: ElementRow[];
}

export interface FileReport {
  file: string;
  kind: 'ctl' | 'itl' | 'signed' | 'encrypted';
  /** A signed firmware container (`.loads`, `.sbn`, `.zz.sgn`: header 1.1, no timestamp). */
  firmware?: boolean;
  size: number;
  md5: string;
  sha1: string;
  header: {
    version: string;
    headerLength: number;
    signerVersion?: string;
    signer: { subject: string; issuer: string; serial: string };
    digest: string;
    signatureAlgorithm: number;
    modulusBits?: number;
    signatureLength: number;
    filename: string;
    /** Absent in firmware containers (header 1.1), which carry no timestamp. */
    timestamp?: number;
    timestampIso?: string;
    encryption?: {
      ivLength: number;
      padCount: number;
      keyBits: number;
      keyAlgorithm: number;
      wrappedKeyLength: number;
      plaintextDigestAlgorithm: string;
      plaintextDigest: string;
    };
  };
  rows: ElementRow[];
  records?: RecordReport[];
  /** ITLs only: the rollback ITL (no TVS, no TFTP-capable record): phones that hold it accept any config and any new ITL. */
  rollback?: boolean;
  body?: { length: number; sha1: string };
  verdict: { checked: boolean; valid?: boolean; reason: string; signerRecord?: number };
  /** Trust lists, in `show --json` and the GUI's Inspect: one entry per record with its certificate's expiry. */
  summary?: RecordSummary[];
}

/**
 * One line per record of a trust list, as the Windows CTL Client lists them: what the record is for, whose
 * certificate it holds and when that certificate expires (`openctl show --summary`, and `summary` in `--json`).
 */
export interface RecordSummary {
  index: number;
  role?: number;
  roleName?: string;
  /** The certificate subject's CN (the whole subject when it has no CN). */
  name?: string;
  dnsName?: string;
  ipv4?: string;
  /** What the record holds: a certificate, only its hash (tags 11, 12), nothing (a non-secure stub), or bytes that are not a certificate. */
  certificate: 'certificate' | 'hash-only' | 'none' | 'unreadable';
  /** ISO 8601; absent unless the certificate is readable and its date valid. */
  notAfter?: string;
  /** Whole days from now to notAfter (negative once expired). */
  daysLeft?: number;
  /** expired; soon (within 90 days, as preflight warns); ok. */
  expiry?: 'expired' | 'soon' | 'ok';
  signedTheFile: boolean;
}
