import { FormatError } from '../util/errors';
import type { Element, TrustRecord } from './model';
import { readElements } from './tlv';
import { readBytes, readIp, readString, readUInt } from './values';

/** Trust-list record tags (formats.md). */
export const RecordTag = {
  LENGTH: 1,
  DNS_NAME: 2,
  SUBJECT: 3,
  ROLE: 4,
  ISSUER: 5,
  SERIAL: 6,
  PUBLIC_KEY: 7,
  SIGNATURE: 8,
  CERTIFICATE: 9,
  IP_ADDRESS: 10,
  CERT_HASH: 11,
  CERT_HASH_ALGORITHM: 12,
} as const;

/** The record-length element (tag 1, 2-byte value) that opens every record. */
const LENGTH_ELEMENT_SIZE = 5;

/** Read the records that fill `bytes` from `start` to the end. */
export function parseRecords(bytes: Buffer, start: number): TrustRecord[] {
  const records: TrustRecord[] = [];
  let offset = start;
  while (offset < bytes.length) {
    const record = parseRecord(bytes, offset);
    records.push(record);
    offset += record.length;
  }
  return records;
}

/** Read the record at `offset`. Its length (tag 1) comes first; the other elements may come in any order. */
export function parseRecord(bytes: Buffer, offset: number): TrustRecord {
  const left = bytes.length - offset;
  if (left < LENGTH_ELEMENT_SIZE) {
    throw new FormatError(`truncated record: ${left} byte${left === 1 ? '' : 's'} left, a record starts with a 5-byte length element`, offset);
  }
  if (bytes[offset] !== RecordTag.LENGTH || bytes.readUInt16BE(offset + 1) !== 2) {
    throw new FormatError(`record does not start with its 2-byte record length (tag 1); found tag ${bytes[offset]}`, offset);
  }
  const length = bytes.readUInt16BE(offset + 3);
  if (length < LENGTH_ELEMENT_SIZE) {
    throw new FormatError(`record length ${length} is too small (a record is at least ${LENGTH_ELEMENT_SIZE} bytes)`, offset);
  }
  if (length > left) {
    throw new FormatError(`record length ${length} runs past the end of the file (${left} bytes left)`, offset);
  }
  const lengthElement: Element = { tag: RecordTag.LENGTH, offset, value: bytes.subarray(offset + 3, offset + LENGTH_ELEMENT_SIZE) };
  const rest = readElements(bytes, offset + LENGTH_ELEMENT_SIZE, { end: offset + length, name: `the record at byte ${offset} (length ${length})` });
  return interpretRecord(offset, length, [lengthElement, ...rest]);
}

function interpretRecord(offset: number, length: number, elements: Element[]): TrustRecord {
  const record: TrustRecord = { offset, length, elements };
  const seen = new Set<number>([RecordTag.LENGTH]);
  for (const e of elements) {
    if (seen.has(e.tag)) continue; // the first occurrence counts; repeats stay in `elements`
    seen.add(e.tag);
    readField(record, e);
  }
  return record;
}

function readField(record: TrustRecord, e: Element): void {
  switch (e.tag) {
    case RecordTag.DNS_NAME:
      record.dnsName = readString(e);
      break;
    case RecordTag.SUBJECT:
      record.subject = readString(e);
      break;
    case RecordTag.ROLE:
      record.role = readUInt(e, 'function', 2, 1);
      break;
    case RecordTag.ISSUER:
      record.issuer = readString(e);
      break;
    case RecordTag.SERIAL:
      record.serial = readBytes(e, 'serial number');
      break;
    case RecordTag.PUBLIC_KEY:
      record.publicKey = readBytes(e, 'public key');
      break;
    case RecordTag.SIGNATURE:
      record.certSignature = readBytes(e, 'certificate signature');
      break;
    case RecordTag.CERTIFICATE:
      record.certificate = readBytes(e, 'certificate');
      break;
    case RecordTag.IP_ADDRESS:
      record.ipv4 = readIp(e);
      break;
    case RecordTag.CERT_HASH:
      record.certHash = readBytes(e, 'certificate hash');
      break;
    case RecordTag.CERT_HASH_ALGORITHM:
      record.certHashAlgorithm = readUInt(e, 'certificate hash algorithm', 1);
      break;
  }
}
