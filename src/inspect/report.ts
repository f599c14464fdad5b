import { createHash } from 'node:crypto';
import type { Element, ParsedFile, TrustList, TrustRecord } from '../formats/model';
import { roleDescription, roleName } from '../formats';
import { hashFromCode } from '../crypto/hash';
import type { Verdict } from '../crypto/verify';
import { isRollbackItl } from '../trust/records';
import { HEADER_TAG_NAMES, MODULUS_BITS, RECORD_TAG_NAMES } from './names';
import type { ElementRow, FileReport, RecordReport } from './report-types';

export type { ElementRow, FileReport, RecordReport } from './report-types';

const hex = (b: Buffer) => b.toString('hex');
const colonHex = (b: Buffer) => (b.toString('hex').match(/../g) ?? []).join(':').toUpperCase();
const sha1Hex = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

function cString(value: Buffer): string {
  const end = value.indexOf(0);
  return value.subarray(0, end < 0 ? value.length : end).toString('utf8');
}

function headerValue(e: Element): string | undefined {
  switch (e.tag) {
    case 1:
    case 28:
      return e.value.length === 2 ? `${e.value[0]}.${e.value[1]}` : hex(e.value);
    case 2:
    case 3:
    case 7:
    case 9:
    case 16:
    case 17:
    case 21:
      return e.tag === 2 && e.value.length === 2 ? String(e.value.readUInt16BE(0)) : undefined;
    case 4:
    case 6:
    case 14:
      return cString(e.value);
    case 5:
      return colonHex(e.value);
    case 8:
    case 26:
      return e.value.length === 1 ? (hashFromCode(e.value[0]) ?? String(e.value[0])).toUpperCase() : hex(e.value);
    case 10:
      return e.value.length === 1 && e.value[0] === 0 ? 'RSA' : hex(e.value);
    case 11:
      return e.value.length === 1 && MODULUS_BITS[e.value[0]] !== undefined ? `${MODULUS_BITS[e.value[0]]} bits` : hex(e.value);
    case 15:
      return e.value.length === 4 ? new Date(e.value.readUInt32BE(0) * 1000).toISOString() : hex(e.value);
    case 20:
    case 23:
      return e.value.length === 2 ? String(e.value.readUInt16BE(0)) : hex(e.value);
    case 13:
      return undefined;
    case 12:
    case 25:
    case 19:
      return undefined;
    default:
      return e.value.length <= 64 ? hex(e.value) : undefined;
  }
}

function headerRows(elements: Element[], depth = 0): ElementRow[] {
  return elements.flatMap((e) => [
    {
      offset: e.offset,
      tag: e.tag,
      name: HEADER_TAG_NAMES[e.tag] ?? `TAG${e.tag}`,
      length: e.padding ? 1 : e.value.length,
      value: e.padding ? undefined : headerValue(e),
      depth,
    },
    ...(e.children ? headerRows(e.children, depth + 1) : []),
  ]);
}

function recordValue(e: Element, sha1Of: (b: Buffer) => string): string | undefined {
  switch (e.tag) {
    case 1:
    case 4:
      if (e.value.length !== 2) return hex(e.value);
      return e.tag === 4 ? roleDescription(e.value.readUInt16BE(0)) : String(e.value.readUInt16BE(0));
    case 2:
    case 3:
    case 5:
      return cString(e.value);
    case 6:
      return colonHex(e.value);
    case 9:
      return `${sha1Of(e.value).toUpperCase()} (SHA1 Hash HEX)`;
    case 10:
      return e.value.length === 4 ? Array.from(e.value).join('.') : hex(e.value);
    case 11:
      return hex(e.value);
    case 12:
      return e.value.length === 1 ? (hashFromCode(e.value[0]) ?? String(e.value[0])).toUpperCase() : hex(e.value);
    case 7:
    case 8:
      return undefined;
    default:
      return e.value.length <= 64 ? hex(e.value) : undefined;
  }
}

function recordReport(record: TrustRecord, index: number, signerIndex: number | undefined): RecordReport {
  // The certificate is hashed once, for the record's summary and its CERTIFICATE row alike.
  const certificateSha1 = record.certificate && sha1Hex(record.certificate);
  const sha1Of = (b: Buffer) => (certificateSha1 !== undefined && b.equals(record.certificate!) ? certificateSha1 : sha1Hex(b));
  return {
    index,
    offset: record.offset,
    length: record.length,
    role: record.role,
    roleName: record.role === undefined ? undefined : roleName(record.role),
    roleDescription: record.role === undefined ? undefined : roleDescription(record.role),
    dnsName: record.dnsName,
    subject: record.subject,
    issuer: record.issuer,
    serial: record.serial && hex(record.serial),
    ipv4: record.ipv4,
    publicKeyLength: record.publicKey?.length,
    signatureLength: record.certSignature?.length,
    certificateLength: record.certificate?.length,
    certificateSha1,
    certHash: record.certHash && hex(record.certHash),
    certHashAlgorithm:
      record.certHashAlgorithm === undefined ? undefined : (hashFromCode(record.certHashAlgorithm) ?? String(record.certHashAlgorithm)),
    unknownTags: record.elements.map((e) => e.tag).filter((t) => RECORD_TAG_NAMES[t] === undefined),
    signedTheFile: signerIndex === index - 1,
    rows: record.elements.map((e) => ({
      offset: e.offset,
      tag: e.tag,
      name: RECORD_TAG_NAMES[e.tag] ?? `TAG${e.tag}`,
      length: e.value.length,
      value: recordValue(e, sha1Of),
      depth: 0,
    })),
  };
}

export function buildReport(file: string, parsed: ParsedFile, verdict: Verdict | undefined): FileReport {
  const h = parsed.header;
  const signerIndex =
    verdict?.record && parsed.kind !== 'signed' && parsed.kind !== 'encrypted'
      ? (parsed as TrustList).records.indexOf(verdict.record)
      : undefined;
  const report: FileReport = {
    file,
    kind: parsed.kind,
    size: parsed.bytes.length,
    md5: createHash('md5').update(parsed.bytes).digest('hex'),
    sha1: sha1Hex(parsed.bytes),
    header: {
      version: `${h.version.major}.${h.version.minor}`,
      headerLength: h.headerLength,
      signerVersion: h.signerVersion && `${h.signerVersion.major}.${h.signerVersion.minor}`,
      signer: { subject: h.signer.subject, issuer: h.signer.issuer, serial: hex(h.signer.serial) },
      digest: h.hash,
      signatureAlgorithm: h.signatureAlgorithm,
      modulusBits: MODULUS_BITS[h.modulusIndex],
      signatureLength: h.signature.length,
      filename: h.filename,
      timestamp: h.timestamp,
      timestampIso: h.timestamp === undefined ? undefined : new Date(h.timestamp * 1000).toISOString(),
      encryption: h.encryption && {
        ivLength: h.encryption.iv.length,
        padCount: h.encryption.padCount,
        keyBits: h.encryption.keyBits,
        keyAlgorithm: h.encryption.keyAlgorithm,
        wrappedKeyLength: h.encryption.wrappedKey.length,
        plaintextDigestAlgorithm: h.encryption.plaintextHash,
        plaintextDigest: hex(h.encryption.plaintextDigest),
      },
    },
    rows: headerRows(h.elements),
    verdict: verdict
      ? {
          checked: true,
          valid: verdict.valid,
          reason: verdict.reason,
          signerRecord: signerIndex !== undefined && signerIndex >= 0 ? signerIndex + 1 : undefined,
        }
      : { checked: false, reason: 'not checked: give --cert or --trust to check a signed file' },
  };
  if (parsed.kind === 'ctl' || parsed.kind === 'itl') {
    report.records = parsed.records.map((r, i) => recordReport(r, i + 1, signerIndex));
    if (parsed.kind === 'itl') report.rollback = isRollbackItl(parsed);
  } else if (parsed.kind === 'signed') {
    if (parsed.firmware) report.firmware = true;
    report.body = { length: parsed.body.length, sha1: sha1Hex(parsed.body) };
  } else if (parsed.kind === 'encrypted') {
    report.body = { length: parsed.ciphertext.length, sha1: sha1Hex(parsed.ciphertext) };
  }
  return report;
}
