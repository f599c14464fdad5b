import { encodeElements, findTag, leaf, readElements } from '../../formats/tlv';
import type { Element } from '../../formats/model';
import { FormatError, OpenctlError } from '../../util/errors';
import type { Framing } from '../common/framing';

/**
 * TVS wire messages (docs: tvs-capf.md): a 10-byte header `57 01 cmd 00 | session u32 | body length u16`, then
 * elements in the project's one element codec (src/formats/tlv.ts). Bytes in, typed messages out, and back.
 */

export const TVS_PROTOCOL = 0x57;
export const TVS_VERSION = 1;
export const TVS_HEADER = 10;
export const TVS_PORT = 2445;

export const TvsCommand = { VerifyRequest: 1, VerifyResponse: 2, QueryRequest: 3, QueryResponse: 4 } as const;

export const TvsTag = { DeviceName: 1, Certificate: 2, Status: 7, Roles: 8, Ttl: 9 } as const;

export const TvsStatus = { Trusted: 0, NotTrusted: 1 } as const;

/** The device-name element starts with this byte, then ASCII (no NUL). */
const DEVICE_NAME_PREFIX = 0x01;

/** `CP-<model, 4 digits>-SEP<MAC, 12 upper hex>`: the MIC/LSC name a phone sends (what tvsd accepts too). */
export const DEVICE_NAME = /^CP-[0-9]{4}-SEP[0-9A-F]{12}$/;

export interface TvsHeader {
  command: number;
  session: number;
  bodyLength: number;
}

export interface VerifyRequest {
  session: number;
  /** Absent when the element is missing. */
  deviceName?: string;
  /** DER of the certificate in question. */
  certificate: Buffer;
}

export type VerifyResponse = { session: number; trusted: true; roles: number[]; ttl: number } | { session: number; trusted: false };

/** Framing for FrameReader: a header that is not TVS version 1 is refused before its length is believed. */
export const TVS_FRAMING: Framing = {
  headerLength: TVS_HEADER,
  bodyLength(header) {
    if (header[0] !== TVS_PROTOCOL) return `not a TVS message (first byte 0x${hex2(header[0]!)}, expected 0x57)`;
    if (header[1] !== TVS_VERSION) return `TVS protocol version ${header[1]} (only 1 exists)`;
    return header.readUInt16BE(8);
  },
};

export function encodeHeader(h: TvsHeader): Buffer {
  const b = Buffer.alloc(TVS_HEADER);
  b[0] = TVS_PROTOCOL;
  b[1] = TVS_VERSION;
  b[2] = h.command;
  b[3] = 0;
  b.writeUInt32BE(h.session >>> 0, 4);
  b.writeUInt16BE(h.bodyLength, 8);
  return b;
}

export function decodeHeader(bytes: Buffer): TvsHeader {
  if (bytes.length < TVS_HEADER) throw new FormatError(`a TVS message needs a 10-byte header, got ${bytes.length} bytes`, 0);
  const problem = TVS_FRAMING.bodyLength(bytes);
  if (typeof problem === 'string') throw new FormatError(problem, 0);
  return { command: bytes[2]!, session: bytes.readUInt32BE(4), bodyLength: bytes.readUInt16BE(8) };
}

function message(command: number, session: number, elements: Element[]): Buffer {
  const body = encodeElements(elements);
  if (body.length > 0xffff) throw new OpenctlError(`a TVS message body cannot exceed 65535 bytes (this one: ${body.length})`);
  return Buffer.concat([encodeHeader({ command, session, bodyLength: body.length }), body]);
}

/** Header and elements of a whole message, every bound checked. */
function split(bytes: Buffer, expected: number): { header: TvsHeader; elements: Element[] } {
  const header = decodeHeader(bytes);
  const end = TVS_HEADER + header.bodyLength;
  if (bytes.length !== end) throw new FormatError(`the header announces a ${header.bodyLength}-byte body, ${bytes.length - TVS_HEADER} bytes follow`, 8);
  if (header.command !== expected) throw new FormatError(`command ${header.command}, expected ${expected}`, 2);
  return { header, elements: readElements(bytes, TVS_HEADER, { end, name: 'the message' }) };
}

export function encodeVerifyRequest(request: VerifyRequest): Buffer {
  const elements: Element[] = [];
  if (request.deviceName !== undefined) {
    elements.push(leaf(TvsTag.DeviceName, Buffer.concat([Buffer.of(DEVICE_NAME_PREFIX), Buffer.from(request.deviceName, 'latin1')])));
  }
  elements.push(leaf(TvsTag.Certificate, request.certificate));
  return message(TvsCommand.VerifyRequest, request.session, elements);
}

/** Unknown elements are skipped (later phones may add some); a repeated known element is refused. */
export function decodeVerifyRequest(bytes: Buffer): VerifyRequest {
  const { header, elements } = split(bytes, TvsCommand.VerifyRequest);
  const seen = new Set<number>();
  for (const e of elements) {
    if ((e.tag === TvsTag.DeviceName || e.tag === TvsTag.Certificate) && seen.has(e.tag)) throw new FormatError(`element tag ${e.tag} appears twice`, e.offset);
    seen.add(e.tag);
  }
  const cert = findTag(elements, TvsTag.Certificate);
  if (!cert) throw new FormatError('no certificate element (tag 2)', TVS_HEADER);
  if (cert.value.length === 0) throw new FormatError('empty certificate element (tag 2)', cert.offset);
  const device = findTag(elements, TvsTag.DeviceName);
  let deviceName: string | undefined;
  if (device) {
    if (device.value[0] !== DEVICE_NAME_PREFIX) throw new FormatError('device name element (tag 1) does not start with byte 0x01', device.offset);
    deviceName = device.value.subarray(1).toString('latin1');
  }
  return { session: header.session, certificate: Buffer.from(cert.value), ...(deviceName === undefined ? {} : { deviceName }) };
}

export function encodeVerifyResponse(response: VerifyResponse): Buffer {
  if (!response.trusted) return message(TvsCommand.VerifyResponse, response.session, [leaf(TvsTag.Status, Buffer.of(TvsStatus.NotTrusted))]);
  const ttl = Buffer.alloc(4);
  ttl.writeUInt32BE(response.ttl);
  for (const role of response.roles) if (!Number.isInteger(role) || role < 0 || role > 255) throw new OpenctlError(`role ${role} does not fit TVS's one-byte roles`);
  return message(TvsCommand.VerifyResponse, response.session, [
    leaf(TvsTag.Status, Buffer.of(TvsStatus.Trusted)),
    leaf(TvsTag.Roles, Buffer.from(response.roles)),
    leaf(TvsTag.Ttl, ttl),
  ]);
}

export function decodeVerifyResponse(bytes: Buffer): VerifyResponse {
  const { header, elements } = split(bytes, TvsCommand.VerifyResponse);
  const status = findTag(elements, TvsTag.Status);
  if (!status || status.value.length !== 1) throw new FormatError('no one-byte status element (tag 7)', TVS_HEADER);
  if (status.value[0] === TvsStatus.NotTrusted) return { session: header.session, trusted: false };
  if (status.value[0] !== TvsStatus.Trusted) throw new FormatError(`status ${status.value[0]} (0 trusted, 1 not trusted)`, status.offset);
  const roles = findTag(elements, TvsTag.Roles);
  const ttl = findTag(elements, TvsTag.Ttl);
  if (ttl && ttl.value.length !== 4) throw new FormatError(`TTL element (tag 9) of ${ttl.value.length} bytes, expected 4`, ttl.offset);
  return { session: header.session, trusted: true, roles: roles ? [...roles.value] : [], ttl: ttl ? ttl.value.readUInt32BE(0) : 0 };
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
