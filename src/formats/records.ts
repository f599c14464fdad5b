import { FormatError } from '../util/errors';
import type { Element, TrustRecord } from './model';
import { findTag, readElements } from './tlv';
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
  const get = (tag: number) => findTag(elements.slice(1), tag);
  const dns = get(RecordTag.DNS_NAME);
  if (dns) record.dnsName = readString(dns);
  const subject = get(RecordTag.SUBJECT);
  if (subject) record.subject = readString(subject);
  const role = get(RecordTag.ROLE);
  if (role) record.role = readUInt(role, 'function', 2, 1);
  const issuer = get(RecordTag.ISSUER);
  if (issuer) record.issuer = readString(issuer);
  const serial = get(RecordTag.SERIAL);
  if (serial) record.serial = readBytes(serial, 'serial number');
  const publicKey = get(RecordTag.PUBLIC_KEY);
  if (publicKey) record.publicKey = readBytes(publicKey, 'public key');
  const signature = get(RecordTag.SIGNATURE);
  if (signature) record.certSignature = readBytes(signature, 'certificate signature');
  const certificate = get(RecordTag.CERTIFICATE);
  if (certificate) record.certificate = readBytes(certificate, 'certificate');
  const ip = get(RecordTag.IP_ADDRESS);
  if (ip) record.ipv4 = readIp(ip);
  const hash = get(RecordTag.CERT_HASH);
  if (hash) record.certHash = readBytes(hash, 'certificate hash');
  const hashAlgorithm = get(RecordTag.CERT_HASH_ALGORITHM);
  if (hashAlgorithm) record.certHashAlgorithm = readUInt(hashAlgorithm, 'certificate hash algorithm', 1);
  return record;
}
