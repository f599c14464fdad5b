import { HASH_CODE, digest, type HashAlgorithm } from '../crypto/hash';
import { certificateInfo, type CertificateInfo } from '../crypto/certificate';
import { OpenctlError } from '../util/errors';
import { formatDn } from './dn';
import type { DnStyle, Element, RecordSpec, TrustRecord } from './model';
import { RecordTag, parseRecord } from './records';
import { encodeElements, encodedLength, leaf } from './tlv';
import { ipElement, stringElement, uintElement } from './values';

/** A raw element to add to a new record or header (tests, future tags): written after the known ones. */
export interface ExtraElement {
  tag: number;
  value: Buffer;
}

export interface RecordOptions {
  dnStyle?: DnStyle;
  extraElements?: readonly ExtraElement[];
}

/** Tags 2 to 6 of a record naming a certificate: DNS name, subject, function, issuer, serial. */
function identityElements(spec: RecordSpec, info: CertificateInfo, options: RecordOptions): Element[] {
  const style = options.dnStyle ?? 'comma';
  return [
    stringElement(RecordTag.DNS_NAME, spec.dnsName ?? ''),
    stringElement(RecordTag.SUBJECT, formatDn(info.subjectAttrs, style)),
    roleElement(spec.role),
    stringElement(RecordTag.ISSUER, formatDn(info.issuerAttrs, style)),
    leaf(RecordTag.SERIAL, info.serial),
  ];
}

/**
 * A new record from a certificate, in CUCM's order 1..10: tag 2 always (a lone NUL without a DNS name),
 * tag 10 only with an address.
 */
export function recordFromSpec(spec: RecordSpec, options: RecordOptions = {}, info: CertificateInfo = certificateInfo(spec.certificate)): TrustRecord {
  const elements = [
    ...identityElements(spec, info, options),
    leaf(RecordTag.PUBLIC_KEY, info.publicKey),
    leaf(RecordTag.SIGNATURE, info.signature),
    leaf(RecordTag.CERTIFICATE, Buffer.from(spec.certificate)),
  ];
  if (spec.ipv4 !== undefined) elements.push(ipElement(RecordTag.IP_ADDRESS, spec.ipv4));
  return assemble(elements, options.extraElements);
}

/** A non-secure stub as CUCM leaves it: tags 1, 2 (DNS name, often the IP as text), 4 and 10, no certificate. */
export function stubRecord(spec: { role: number; dnsName?: string; ipv4?: string }, options: RecordOptions = {}): TrustRecord {
  const elements = [stringElement(RecordTag.DNS_NAME, spec.dnsName ?? spec.ipv4 ?? ''), roleElement(spec.role)];
  if (spec.ipv4 !== undefined) elements.push(ipElement(RecordTag.IP_ADDRESS, spec.ipv4));
  return assemble(elements, options.extraElements);
}

/** A record that names a certificate by its hash (tags 11, 12) instead of carrying it (tags 7, 8, 9). */
export function hashRecord(spec: RecordSpec & { hash?: HashAlgorithm }, options: RecordOptions = {}): TrustRecord {
  const info = certificateInfo(spec.certificate);
  const hash = spec.hash ?? 'sha1';
  const elements = [
    ...identityElements(spec, info, options),
    leaf(RecordTag.CERT_HASH, digest(hash, spec.certificate)),
    uintElement(RecordTag.CERT_HASH_ALGORITHM, HASH_CODE[hash], 1),
  ];
  if (spec.ipv4 !== undefined) elements.push(ipElement(RecordTag.IP_ADDRESS, spec.ipv4));
  return assemble(elements, options.extraElements);
}

function roleElement(role: number): Element {
  if (!Number.isInteger(role) || role < 0 || role > 0xffff) throw new OpenctlError(`invalid record function ${role} (0-65535)`);
  return uintElement(RecordTag.ROLE, role, 2);
}

/** Prefix the record length (tag 1) and re-read the record, so that what is returned is exactly what parses. */
function assemble(elements: Element[], extra: readonly ExtraElement[] = []): TrustRecord {
  for (const e of extra) {
    if (e.tag === RecordTag.LENGTH) throw new OpenctlError('an extra record element cannot use tag 1 (the record length)');
    elements.push(leaf(e.tag, e.value));
  }
  const length = 5 + elements.reduce((n, e) => n + encodedLength(e), 0);
  if (length > 0xffff) throw new OpenctlError(`a record would be ${length} bytes; the format allows at most 65535 (certificate too large?)`);
  const bytes = encodeElements([uintElement(RecordTag.LENGTH, length, 2), ...elements]);
  return parseRecord(bytes, 0);
}
