import type { HashAlgorithm } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import { certificateInfo } from '../crypto/certificate';
import { OpenctlError } from '../util/errors';
import { Role, type DnStyle, type RecordSpec, type TrustListKind, type TrustRecord, type Version } from './model';
import { recordFromSpec, type ExtraElement } from './record-build';
import { checkSigningKey, extraHeaderElements, nowSeconds, signFile } from './signing';
import { encodeElements } from './tlv';

export interface BuildTrustListOptions {
  kind: TrustListKind;
  /** New records (written in CUCM's element order) or records of a parsed list (copied byte for byte). */
  records: ReadonlyArray<RecordSpec | TrustRecord>;
  signer: Signer;
  hash?: HashAlgorithm; // default sha1: the widest phone support
  /** Default 1.0; `null` leaves tag 28 out, as the CUCM-style vectors do (readers then assume 1.0). */
  signerVersion?: Version | null;
  filename: string;
  timestamp?: number; // default now
  dnStyle?: DnStyle; // default comma
  /** Extra header elements (unknown tags) written after the timestamp. */
  extraHeaderElements?: readonly ExtraElement[];
}

/** Build and sign a CTL or ITL. The signer's certificate is added as the first record (SAST) when missing. */
export async function buildTrustList(options: BuildTrustListOptions): Promise<Buffer> {
  checkFilenameKind(options.kind, options.filename);
  const dnStyle = options.dnStyle ?? 'comma';
  const signerInfo = certificateInfo(options.signer.certificate);
  checkSigningKey(options.signer, signerInfo); // refuse a 3072-bit key before any record is built
  const records = options.records.map((r) => (isTrustRecord(r) ? r : recordFromSpec(r, { dnStyle })));
  if (!records.some((r) => isSignerSast(r, options.signer.certificate))) {
    records.unshift(recordFromSpec({ role: Role.SAST, certificate: Buffer.from(options.signer.certificate) }, { dnStyle }, signerInfo));
  }
  const payload = Buffer.concat(records.map((r) => encodeElements(r.elements)));
  return signFile(
    {
      version: { major: 1, minor: 2 },
      signerVersion: options.signerVersion === null ? undefined : (options.signerVersion ?? { major: 1, minor: 0 }),
      hash: options.hash ?? 'sha1',
      filename: options.filename,
      timestamp: options.timestamp ?? nowSeconds(),
      dnStyle,
      trailing: extraHeaderElements(options.extraHeaderElements),
    },
    payload,
    options.signer,
  );
}

export function isTrustRecord(r: RecordSpec | TrustRecord): r is TrustRecord {
  return 'elements' in r && Array.isArray(r.elements);
}

/** A SAST record carrying the signer's certificate (a hash-only record cannot verify the signature). */
function isSignerSast(record: TrustRecord, certificate: Uint8Array): boolean {
  return record.role === Role.SAST && !!record.certificate && Buffer.from(certificate).equals(record.certificate);
}

/** Readers tell CTL from ITL by this name: refuse one that says the other kind. */
function checkFilenameKind(kind: TrustListKind, filename: string): void {
  const upper = filename.toUpperCase();
  const other = kind === 'ctl' ? 'ITL' : 'CTL';
  if (upper.startsWith(other)) {
    throw new OpenctlError(`header filename '${filename}' names an ${other} but a ${kind.toUpperCase()} is being built`);
  }
}
