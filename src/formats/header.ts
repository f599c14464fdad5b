import { hashFromCode } from '../crypto/hash';
import { FormatError } from '../util/errors';
import type { Element, EncryptionInfo, FileHeader, SignerId, Version } from './model';
import { HEADER_CONTAINERS, findTag, readElement, elementEnd, type Bound } from './tlv';
import { readBytes, readFixed, readRequiredString, readUInt, readVersion } from './values';

/** Header tags (formats.md). */
export const HeaderTag = {
  VERSION: 1,
  HEADER_LENGTH: 2,
  SIGNER_INFO: 3,
  SIGNER_NAME: 4,
  SERIAL: 5,
  ISSUER_NAME: 6,
  SIGNATURE_INFO: 7,
  HASH: 8,
  SIGNATURE_ALGORITHM_INFO: 9,
  SIGNATURE_ALGORITHM: 10,
  MODULUS: 11,
  SIGNATURE: 12,
  PADDING: 13,
  FILENAME: 14,
  TIMESTAMP: 15,
  ENCRYPTION_INFO: 16,
  IV_INFO: 17,
  IV_UNKNOWN: 18,
  IV: 19,
  PAD_COUNT: 20,
  KEY_INFO: 21,
  KEY_UNKNOWN: 22,
  KEY_SIZE: 23,
  KEY_ALGORITHM: 24,
  WRAPPED_KEY: 25,
  PLAINTEXT_HASH: 26,
  PLAINTEXT_DIGEST: 27,
  SIGNER_VERSION: 28,
} as const;

/** The header length is a 2-byte field: a header can never be longer, so a search for tag 2 stops here. */
const MAX_HEADER = 0xffff;

/** Read and check the header at the start of `bytes`. */
export function parseHeader(bytes: Buffer): FileHeader {
  const elements = readHeaderElements(bytes);
  return interpretHeader(elements);
}

function readHeaderElements(bytes: Buffer): Element[] {
  if (bytes.length === 0) throw new FormatError('empty file', 0);
  if (bytes.subarray(0, 10).toString('latin1') === '-----BEGIN') {
    throw new FormatError('PEM text where a Cisco TLV file (CTL, ITL or .sgn) was expected', 0);
  }
  if (bytes[0] !== HeaderTag.VERSION) {
    throw new FormatError(`not a Cisco TLV file: it starts with tag ${bytes[0]}, expected the version element (tag 1)`, 0);
  }
  const elements: Element[] = [];
  const options = { containers: HEADER_CONTAINERS, padding: true };
  // Until tag 2 is read, the header can be no longer than its 2-byte length field allows.
  let bound: Bound =
    bytes.length <= MAX_HEADER ? { end: bytes.length, name: 'the file' } : { end: MAX_HEADER, name: `the largest possible header (${MAX_HEADER} bytes)` };
  let headerLength: number | undefined;
  let offset = 0;
  while (headerLength === undefined || offset < headerLength) {
    if (headerLength === undefined && offset >= bound.end) {
      throw new FormatError('missing header length (tag 2) at the header top level', offset);
    }
    const element = readElement(bytes, offset, bound, options);
    elements.push(element);
    offset = elementEnd(element);
    if (element.tag === HeaderTag.HEADER_LENGTH && headerLength === undefined && !element.padding) {
      headerLength = readUInt(element, 'header length', 2);
      if (headerLength > bytes.length) {
        throw new FormatError(`header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`, element.offset);
      }
      if (headerLength < offset) {
        throw new FormatError(`header length ${headerLength} does not cover the header elements read so far (${offset} bytes)`, element.offset);
      }
      bound = { end: headerLength, name: `the header (header length ${headerLength})` };
    }
  }
  return elements;
}

function required(elements: readonly Element[] | undefined, tag: number, what: string, where: number): Element {
  const element = findTag(elements, tag);
  if (!element) throw new FormatError(`missing ${what} (tag ${tag})`, where);
  return element;
}

function interpretHeader(elements: Element[]): FileHeader {
  const top = elements;
  const headerEnd = elementEnd(elements[elements.length - 1]!);
  const version = readVersion(required(top, HeaderTag.VERSION, 'version', 0), 'version');
  const headerLength = readUInt(required(top, HeaderTag.HEADER_LENGTH, 'header length', 0), 'header length', 2);
  const signerVersionElement = findTag(top, HeaderTag.SIGNER_VERSION);

  const signerInfo = required(top, HeaderTag.SIGNER_INFO, 'signer info', headerEnd);
  const signer: SignerId = {
    subject: readRequiredString(required(signerInfo.children, HeaderTag.SIGNER_NAME, 'signer name', signerInfo.offset), 'signer name'),
    issuer: readRequiredString(required(signerInfo.children, HeaderTag.ISSUER_NAME, 'issuer name', signerInfo.offset), 'issuer name'),
    serial: readBytes(required(signerInfo.children, HeaderTag.SERIAL, 'serial number', signerInfo.offset), 'serial number'),
  };

  const signatureInfo = required(top, HeaderTag.SIGNATURE_INFO, 'signature info', headerEnd);
  const hashElement = required(signatureInfo.children, HeaderTag.HASH, 'hash algorithm', signatureInfo.offset);
  const algorithmInfo = required(signatureInfo.children, HeaderTag.SIGNATURE_ALGORITHM_INFO, 'signature algorithm info', signatureInfo.offset);
  const signatureElement = required(top, HeaderTag.SIGNATURE, 'signature', headerEnd);
  const signature = readBytes(signatureElement, 'signature');

  const header: FileHeader = {
    version,
    headerLength,
    signer,
    hash: readHash(hashElement),
    signatureAlgorithm: readUInt(required(algorithmInfo.children, HeaderTag.SIGNATURE_ALGORITHM, 'signature algorithm', algorithmInfo.offset), 'signature algorithm', 1),
    modulusIndex: readUInt(required(algorithmInfo.children, HeaderTag.MODULUS, 'signature modulus', algorithmInfo.offset), 'signature modulus', 1),
    signature,
    signatureElement: { offset: signatureElement.offset, length: 3 + signature.length },
    filename: readRequiredString(required(top, HeaderTag.FILENAME, 'filename', headerEnd), 'filename'),
    elements,
  };
  const timestampElement = findTag(top, HeaderTag.TIMESTAMP);
  if (timestampElement) header.timestamp = readUInt(timestampElement, 'timestamp', 4);
  else if (!isFirmwareVersion(version)) required(top, HeaderTag.TIMESTAMP, 'timestamp', headerEnd);
  if (signerVersionElement) header.signerVersion = readVersion(signerVersionElement, 'signer version');
  if (findTag(top, HeaderTag.ENCRYPTION_INFO)) header.encryption = readEncryption(top, headerEnd);
  return header;
}

/**
 * Header 1.1: the firmware containers phones fetch over TFTP (`.loads`, `.sbn`, `.zz.sgn`), signed files whose
 * header carries no timestamp. Every other kind must have one.
 */
export function isFirmwareVersion(version: Version): boolean {
  return version.major === 1 && version.minor === 1;
}

function readHash(element: Element) {
  const code = readUInt(element, 'hash algorithm', 1);
  const hash = hashFromCode(code);
  if (!hash) throw new FormatError(`unknown hash algorithm code ${code} (expected 1 = SHA-1, 2 = SHA-256, 3 = SHA-512)`, element.offset);
  return hash;
}

function readEncryption(top: Element[], headerEnd: number): EncryptionInfo {
  const info = required(top, HeaderTag.ENCRYPTION_INFO, 'encryption info', headerEnd);
  const ivInfo = required(info.children, HeaderTag.IV_INFO, 'IV info', info.offset);
  const keyInfo = required(info.children, HeaderTag.KEY_INFO, 'key info', info.offset);
  return {
    iv: readFixed(required(ivInfo.children, HeaderTag.IV, 'IV', ivInfo.offset), 'IV', 16),
    padCount: readUInt(required(ivInfo.children, HeaderTag.PAD_COUNT, 'padding count', ivInfo.offset), 'padding count', 2),
    keyBits: readUInt(required(keyInfo.children, HeaderTag.KEY_SIZE, 'key size', keyInfo.offset), 'key size', 2),
    keyAlgorithm: readUInt(required(keyInfo.children, HeaderTag.KEY_ALGORITHM, 'key algorithm', keyInfo.offset), 'key algorithm', 1),
    wrappedKey: readBytes(required(keyInfo.children, HeaderTag.WRAPPED_KEY, 'wrapped key', keyInfo.offset), 'wrapped key'),
    plaintextHash: readHash(required(top, HeaderTag.PLAINTEXT_HASH, 'plaintext hash algorithm', headerEnd)),
    plaintextDigest: readBytes(required(top, HeaderTag.PLAINTEXT_DIGEST, 'plaintext digest', headerEnd), 'plaintext digest'),
  };
}
