import type { Element } from '../../formats/model';
import { encodeElements, findTag, leaf, readElements } from '../../formats/tlv';
import { FormatError } from '../../util/errors';

/**
 * CAPF wire messages (docs: tvs-capf.md): an 8-byte header `0x55 | command u8 | session u32 | body length u16`
 * and a body of elements in the project's one element codec (src/formats/tlv). Bytes in, typed messages out,
 * and back; nothing here knows a socket.
 */

export const CAPF_PROTOCOL = 0x55;
export const CAPF_HEADER_LENGTH = 8;
/** The protocol version the server announces and phones echo (tag 7). */
export const CAPF_VERSION = 3;

export const CapfCommand = {
  AuthRequest: 1,
  AuthResponse: 2,
  KeyGenRequest: 3,
  KeyGenResponse: 4,
  StoreCertRequest: 9,
  StoreCertResponse: 10,
  FetchCertRequest: 11,
  FetchCertResponse: 12,
  DeleteCertRequest: 13,
  DeleteCertResponse: 14,
  EndSession: 15,
  RetryLater: 16,
  InProgress: 17,
} as const;
export type CapfCommand = (typeof CapfCommand)[keyof typeof CapfCommand];

export const CapfTag = {
  Reason: 1,
  CertificateType: 3,
  Certificate: 4,
  SignedData: 6,
  Version: 7,
  AuthType: 8,
  PublicKey: 9,
  KeySize: 10,
  Password: 11,
  DeviceName: 13,
  SudiData: 16,
  KeyType: 17,
  Curve: 18,
  Sha2SignedData: 20,
} as const;

/** Reasons: in end-session (the server's verdict) and in the phone's responses (1 = done). */
export const CapfReason = {
  Nothing: 0,
  Done: 1,
  Invalid: 7,
  UnknownDevice: 9,
} as const;

export const CertificateType = { Lsc: 1, Mic: 2 } as const;
export const KeyType = { Rsa: 0, Ec: 1 } as const;
export const CURVES = ['P-256', 'P-384', 'P-521'] as const;
export type Curve = (typeof CURVES)[number];
/** Tag 20's algorithm byte: SHA-512. */
export const SHA2_ALG_SHA512 = 3;

export interface CapfMessage {
  command: number;
  session: number;
  elements: Element[];
}

export function commandName(command: number): string {
  const entry = Object.entries(CapfCommand).find(([, v]) => v === command);
  return entry ? entry[0] : `command ${command}`;
}

export function encodeMessage(message: CapfMessage): Buffer {
  const body = encodeElements(message.elements);
  const header = Buffer.alloc(CAPF_HEADER_LENGTH);
  header[0] = CAPF_PROTOCOL;
  header[1] = message.command;
  header.writeUInt32BE(message.session >>> 0, 2);
  header.writeUInt16BE(body.length, 6);
  return Buffer.concat([header, body]);
}

export interface CapfHeader {
  command: number;
  session: number;
  bodyLength: number;
}

/** Read the header at the start of `buf` (which holds at least 8 bytes); refuses anything that is not CAPF. */
export function decodeHeader(buf: Buffer): CapfHeader {
  if (buf.length < CAPF_HEADER_LENGTH) throw new FormatError(`a CAPF header is 8 bytes, got ${buf.length}`, 0);
  if (buf[0] !== CAPF_PROTOCOL) {
    throw new FormatError(`not a CAPF message (first byte 0x${buf[0].toString(16).padStart(2, '0')}, expected 0x55)`, 0);
  }
  return { command: buf[1], session: buf.readUInt32BE(2), bodyLength: buf.readUInt16BE(6) };
}

/** One whole message: header and exactly `bodyLength` bytes of elements. */
export function decodeMessage(buf: Buffer): CapfMessage {
  const header = decodeHeader(buf);
  const end = CAPF_HEADER_LENGTH + header.bodyLength;
  if (buf.length !== end) {
    throw new FormatError(`CAPF ${commandName(header.command)}: body length ${header.bodyLength} but ${buf.length - CAPF_HEADER_LENGTH} bytes follow the header`, 6);
  }
  const elements = readElements(buf, CAPF_HEADER_LENGTH, { end, name: `the ${commandName(header.command)} body` });
  return { command: header.command, session: header.session, elements };
}

// ---- element values ----------------------------------------------------------------------------------

export function u8Element(tag: number, value: number): Element {
  return leaf(tag, Buffer.of(value));
}

export function u16Element(tag: number, value: number): Element {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return leaf(tag, b);
}

/** ASCII, NUL-terminated (device name, password). */
export function cStringElement(tag: number, value: string): Element {
  return leaf(tag, Buffer.concat([Buffer.from(value, 'latin1'), Buffer.of(0)]));
}

/** Tag 4: `01 | u16 (DER length + 2) | 00 | 01 | DER`. */
export function certificateElement(der: Uint8Array): Element {
  const prefix = Buffer.alloc(5);
  prefix[0] = 0x01;
  prefix.writeUInt16BE(der.length + 2, 1);
  prefix[3] = 0x00;
  prefix[4] = 0x01;
  return leaf(CapfTag.Certificate, Buffer.concat([prefix, der]));
}

/** Tag 20: `alg u8 (3 = SHA-512) | u16 length | signature`. */
export function sha2SignatureElement(signature: Uint8Array): Element {
  const prefix = Buffer.alloc(3);
  prefix[0] = SHA2_ALG_SHA512;
  prefix.writeUInt16BE(signature.length, 1);
  return leaf(CapfTag.Sha2SignedData, Buffer.concat([prefix, signature]));
}

function required(message: CapfMessage, tag: number): Element {
  const element = findTag(message.elements, tag);
  if (!element) throw new FormatError(`CAPF ${commandName(message.command)}: element tag ${tag} is missing`, CAPF_HEADER_LENGTH);
  return element;
}

function sized(message: CapfMessage, element: Element, length: number): Buffer {
  if (element.value.length !== length) {
    throw new FormatError(`CAPF ${commandName(message.command)}: element tag ${element.tag} must be ${length} byte(s), is ${element.value.length}`, element.offset);
  }
  return element.value;
}

export function readU8(message: CapfMessage, tag: number): number | undefined {
  const e = findTag(message.elements, tag);
  return e ? sized(message, e, 1)[0] : undefined;
}

export function requireU8(message: CapfMessage, tag: number): number {
  return sized(message, required(message, tag), 1)[0];
}

export function requireU16(message: CapfMessage, tag: number): number {
  return sized(message, required(message, tag), 2).readUInt16BE(0);
}

/** A NUL-terminated ASCII value; the NUL is optional on read (the value ends at the first NUL). */
export function readCString(message: CapfMessage, tag: number): string | undefined {
  const e = findTag(message.elements, tag);
  if (!e) return undefined;
  const nul = e.value.indexOf(0);
  return e.value.subarray(0, nul < 0 ? e.value.length : nul).toString('latin1');
}

export function readCertificate(message: CapfMessage): Buffer | undefined {
  const e = findTag(message.elements, CapfTag.Certificate);
  if (!e) return undefined;
  const v = e.value;
  if (v.length < 5 || v[0] !== 0x01 || v[3] !== 0x00 || v[4] !== 0x01 || v.readUInt16BE(1) !== v.length - 3) {
    throw new FormatError(`CAPF ${commandName(message.command)}: certificate element is not 01 | length | 00 01 | DER`, e.offset);
  }
  return v.subarray(5);
}

export function readSha2Signature(message: CapfMessage): Buffer | undefined {
  const e = findTag(message.elements, CapfTag.Sha2SignedData);
  if (!e) return undefined;
  const v = e.value;
  if (v.length < 3 || v[0] !== SHA2_ALG_SHA512 || v.readUInt16BE(1) !== v.length - 3) {
    throw new FormatError(`CAPF ${commandName(message.command)}: SHA-2 signed data must be 03 | length | signature (SHA-512)`, e.offset);
  }
  return v.subarray(3);
}

export function readBytes(message: CapfMessage, tag: number): Buffer | undefined {
  return findTag(message.elements, tag)?.value;
}

export function requireBytes(message: CapfMessage, tag: number): Buffer {
  return required(message, tag).value;
}

// ---- the messages of the flow --------------------------------------------------------------------------

export function authRequest(session: number, authType = 0): CapfMessage {
  return { command: CapfCommand.AuthRequest, session, elements: [u8Element(CapfTag.Version, CAPF_VERSION), u8Element(CapfTag.AuthType, authType)] };
}

export interface AuthResponseFields {
  device: string;
  password?: string;
  /** Certificate authentication: the MIC or current LSC, and both signatures over `device | 00 | DER`. */
  certificate?: Uint8Array;
  sha1Signature?: Uint8Array;
  sha512Signature?: Uint8Array;
  sudi?: Uint8Array;
}

export function authResponse(session: number, fields: AuthResponseFields): CapfMessage {
  const elements: Element[] = [
    u8Element(CapfTag.Reason, CapfReason.Done),
    u8Element(CapfTag.Version, CAPF_VERSION),
    cStringElement(CapfTag.Password, fields.password ?? ''),
    cStringElement(CapfTag.DeviceName, fields.device),
  ];
  if (fields.certificate) elements.push(certificateElement(fields.certificate));
  if (fields.sha1Signature) elements.push(leaf(CapfTag.SignedData, Buffer.from(fields.sha1Signature)));
  if (fields.sha512Signature) elements.push(sha2SignatureElement(fields.sha512Signature));
  if (fields.sudi) elements.push(leaf(CapfTag.SudiData, Buffer.from(fields.sudi)));
  return { command: CapfCommand.AuthResponse, session, elements };
}

export interface ParsedAuthResponse extends AuthResponseFields {
  reason?: number;
  version?: number;
}

export function parseAuthResponse(message: CapfMessage): ParsedAuthResponse {
  const device = readCString(message, CapfTag.DeviceName);
  if (device === undefined) throw new FormatError('CAPF AuthResponse: the device name (tag 13) is missing', CAPF_HEADER_LENGTH);
  return {
    device,
    reason: readU8(message, CapfTag.Reason),
    version: readU8(message, CapfTag.Version),
    password: readCString(message, CapfTag.Password),
    certificate: readCertificate(message),
    sha1Signature: readBytes(message, CapfTag.SignedData),
    sha512Signature: readSha2Signature(message),
    sudi: readBytes(message, CapfTag.SudiData),
  };
}

export type KeyRequest = { type: 'rsa'; bits: number } | { type: 'ec'; curve: Curve };

export function keyGenRequest(session: number, key: KeyRequest): CapfMessage {
  const elements =
    key.type === 'rsa'
      ? [u8Element(CapfTag.KeyType, KeyType.Rsa), u16Element(CapfTag.KeySize, key.bits)]
      : [u8Element(CapfTag.KeyType, KeyType.Ec), u8Element(CapfTag.Curve, CURVES.indexOf(key.curve))];
  return { command: CapfCommand.KeyGenRequest, session, elements };
}

export function parseKeyGenRequest(message: CapfMessage): KeyRequest {
  const type = readU8(message, CapfTag.KeyType) ?? KeyType.Rsa; // version-2 servers sent only the key size
  if (type === KeyType.Rsa) return { type: 'rsa', bits: requireU16(message, CapfTag.KeySize) };
  if (type === KeyType.Ec) {
    const curve = CURVES[requireU8(message, CapfTag.Curve)];
    if (!curve) throw new FormatError('CAPF KeyGenRequest: unknown curve', CAPF_HEADER_LENGTH);
    return { type: 'ec', curve };
  }
  throw new FormatError(`CAPF KeyGenRequest: unknown key type ${type}`, CAPF_HEADER_LENGTH);
}

export function keyGenResponse(session: number, spki: Uint8Array): CapfMessage {
  return { command: CapfCommand.KeyGenResponse, session, elements: [leaf(CapfTag.PublicKey, Buffer.from(spki))] };
}

export function storeCertRequest(session: number, lsc: Uint8Array): CapfMessage {
  return { command: CapfCommand.StoreCertRequest, session, elements: [u8Element(CapfTag.CertificateType, CertificateType.Lsc), certificateElement(lsc)] };
}

export function simpleMessage(command: CapfCommand, session: number): CapfMessage {
  return { command, session, elements: [] };
}

/** A phone's answer to store/fetch/delete: reason 1 = done, and for fetch its LSC. */
export function phoneResponse(command: CapfCommand, session: number, reason: number, certificate?: Uint8Array): CapfMessage {
  const elements = [u8Element(CapfTag.Reason, reason)];
  if (certificate) elements.push(certificateElement(certificate));
  return { command, session, elements };
}

export function endSession(session: number, reason: number): CapfMessage {
  return { command: CapfCommand.EndSession, session, elements: [u8Element(CapfTag.Reason, reason)] };
}

export const REASON_TEXT: Readonly<Record<number, string>> = {
  0: 'nothing to do',
  1: 'done',
  7: 'invalid element or failed authentication',
  9: 'unknown device',
};
