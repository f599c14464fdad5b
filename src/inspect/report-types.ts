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
  body?: { length: number; sha1: string };
  verdict: { checked: boolean; valid?: boolean; reason: string; signerRecord?: number };
}
