import { FormatError, OpenctlError } from '../util/errors';
import type { Element, Version } from './model';
import { leaf } from './tlv';

/** Decoders and encoders of element values. Decoders check the value's size and name the tag on failure. */

function expectLength(element: Element, what: string, ...lengths: number[]): void {
  if (!lengths.includes(element.value.length)) {
    const expected = lengths.join(' or ');
    throw new FormatError(
      `${what} (tag ${element.tag}) must be ${expected} byte${expected === '1' ? '' : 's'}, found ${element.value.length}`,
      element.offset,
    );
  }
}

export function readUInt(element: Element, what: string, ...lengths: number[]): number {
  expectLength(element, what, ...lengths);
  return element.value.readUIntBE(0, element.value.length);
}

/** A value of exactly `length` raw bytes. */
export function readFixed(element: Element, what: string, length: number): Buffer {
  expectLength(element, what, length);
  return element.value;
}

export function readVersion(element: Element, what: string): Version {
  expectLength(element, what, 2);
  return { major: element.value[0]!, minor: element.value[1]! };
}

/** A string value: UTF-8 with one trailing NUL (tolerated when missing: the raw bytes are kept anyway). */
export function readString(element: Element): string {
  const v = element.value;
  const end = v.length > 0 && v[v.length - 1] === 0 ? v.length - 1 : v.length;
  return v.toString('utf8', 0, end);
}

/** A string that must hold something (a filename, a signer name). */
export function readRequiredString(element: Element, what: string): string {
  const s = readString(element);
  if (s.length === 0) throw new FormatError(`${what} (tag ${element.tag}) is empty`, element.offset);
  return s;
}

export function readBytes(element: Element, what: string): Buffer {
  if (element.value.length === 0) throw new FormatError(`${what} (tag ${element.tag}) is empty`, element.offset);
  return element.value;
}

export function readIp(element: Element): string {
  expectLength(element, 'IP address', 4);
  return Array.from(element.value).join('.');
}

export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}`;
}

// --- encoders -------------------------------------------------------------------------------------------

export function stringElement(tag: number, s: string): Element {
  return leaf(tag, Buffer.concat([Buffer.from(s, 'utf8'), Buffer.of(0)]));
}

export function uintElement(tag: number, value: number, bytes: number): Element {
  const b = Buffer.alloc(bytes);
  b.writeUIntBE(value, 0, bytes);
  return leaf(tag, b);
}

export function versionElement(tag: number, v: Version): Element {
  if (![v.major, v.minor].every((n) => Number.isInteger(n) && n >= 0 && n <= 255)) {
    throw new OpenctlError(`invalid version ${v.major}.${v.minor}: major and minor are single bytes`);
  }
  return leaf(tag, Buffer.of(v.major, v.minor));
}

export function ipElement(tag: number, ip: string): Element {
  return leaf(tag, parseIpv4(ip));
}

export function parseIpv4(ip: string): Buffer {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new OpenctlError(`invalid IPv4 address '${ip}' (expected a dotted quad such as 10.0.0.5)`);
  }
  return Buffer.from(parts.map(Number));
}

export function parseVersion(s: string): Version {
  const m = /^(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) throw new OpenctlError(`invalid version '${s}' (expected MAJOR.MINOR, e.g. 1.0)`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}
