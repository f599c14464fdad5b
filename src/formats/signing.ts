import { HASH_CODE, digest, type HashAlgorithm } from '../crypto/hash';
import { MODULUS_INDEX, type Signer } from '../crypto/signer';
import { certificateInfo, type CertificateInfo } from '../crypto/certificate';
import { OpenctlError } from '../util/errors';
import { formatDn } from './dn';
import { HeaderTag } from './header';
import type { DnStyle, Element, Version } from './model';
import { cutOut } from './serialize';
import { container, encodeElements, encodedLength, leaf, paddingElement } from './tlv';
import { stringElement, uintElement, versionElement } from './values';
import type { ExtraElement } from './record-build';

/** What a new file's header says, apart from the signer (which comes from the Signer's certificate). */
export interface HeaderSpec {
  version: Version;
  signerVersion?: Version; // trust lists only
  hash: HashAlgorithm;
  filename: string;
  timestamp: number;
  dnStyle: DnStyle;
  /** Elements written after the timestamp, before the padding: encryption info, or extra (unknown) tags. */
  trailing?: Element[];
}

/** Key sizes openctl signs with. The header could say 512 too, but no phone or CA should rely on that. */
export const SIGNING_KEY_BITS: readonly number[] = [1024, 2048, 4096];

/** Refuse what the header cannot express (3072-bit keys) before anything is hashed or signed. */
export function checkSigningKey(signer: Signer, info: CertificateInfo = certificateInfo(signer.certificate)): number {
  if (info.keyAlgorithm !== 'RSA') {
    throw new OpenctlError(`the signing certificate ${info.subject} holds an ${info.keyAlgorithm} key: Cisco files are signed with RSA only`);
  }
  const bits = info.keyBits;
  if (!SIGNING_KEY_BITS.includes(bits)) {
    throw new OpenctlError(
      `the signing key of ${info.subject} is ${bits}-bit RSA: the file header (tag 11) can only express 1024, 2048 or 4096-bit signing keys; use a key of one of those sizes`,
    );
  }
  if (signer.keyBits !== bits) {
    throw new OpenctlError(`signer ${signer.description} reports a ${signer.keyBits}-bit key but its certificate holds a ${bits}-bit key`);
  }
  return MODULUS_INDEX.get(bits)!;
}

/**
 * Write header + payload and sign them: the header length already counts a zero-filled signature of the modulus
 * size; the signature covers the file without that element, and is then written in its place.
 */
export async function signFile(spec: HeaderSpec, payload: Buffer, signer: Signer): Promise<Buffer> {
  const info = certificateInfo(signer.certificate);
  const modulusIndex = checkSigningKey(signer, info);
  const signatureLength = info.keyBits / 8;
  const elements = headerElements(spec, info, modulusIndex, signatureLength);
  const header = encodeElements(elements);
  const signatureOffset = offsetOf(elements, HeaderTag.SIGNATURE);
  const bytes = Buffer.concat([header, payload]);
  const toSign = cutOut(bytes, signatureOffset, 3 + signatureLength);
  const signature = Buffer.from(
    signer.signData ? await signer.signData(toSign, spec.hash) : await signer.sign(digest(spec.hash, toSign), spec.hash),
  );
  if (signature.length !== signatureLength) {
    throw new OpenctlError(`signer ${signer.description} returned a ${signature.length}-byte signature, expected ${signatureLength}`);
  }
  signature.copy(bytes, signatureOffset + 3);
  return bytes;
}

function headerElements(spec: HeaderSpec, info: CertificateInfo, modulusIndex: number, signatureLength: number): Element[] {
  checkTimestamp(spec.timestamp);
  if (spec.filename === '') throw new OpenctlError('the header filename (tag 14) cannot be empty');
  const lengthElement = uintElement(HeaderTag.HEADER_LENGTH, 0, 2);
  const elements: Element[] = [versionElement(HeaderTag.VERSION, spec.version), lengthElement];
  if (spec.signerVersion) elements.push(versionElement(HeaderTag.SIGNER_VERSION, spec.signerVersion));
  elements.push(
    // CUCM's order (its `show ctl` lists SIGNERNAME, SERIALNUMBER, CANAME); readers accept any order.
    container(HeaderTag.SIGNER_INFO, [
      stringElement(HeaderTag.SIGNER_NAME, formatDn(info.subjectAttrs, spec.dnStyle)),
      leaf(HeaderTag.SERIAL, info.serial),
      stringElement(HeaderTag.ISSUER_NAME, formatDn(info.issuerAttrs, spec.dnStyle)),
    ]),
    container(HeaderTag.SIGNATURE_INFO, [
      uintElement(HeaderTag.HASH, HASH_CODE[spec.hash], 1),
      container(HeaderTag.SIGNATURE_ALGORITHM_INFO, [
        uintElement(HeaderTag.SIGNATURE_ALGORITHM, 0, 1),
        uintElement(HeaderTag.MODULUS, modulusIndex, 1),
      ]),
    ]),
    leaf(HeaderTag.SIGNATURE, Buffer.alloc(signatureLength)),
    stringElement(HeaderTag.FILENAME, spec.filename),
    uintElement(HeaderTag.TIMESTAMP, spec.timestamp, 4),
    ...(spec.trailing ?? []),
  );
  const size = elements.reduce((n, e) => n + encodedLength(e), 0);
  const padding = (4 - (size % 4)) % 4;
  for (let i = 0; i < padding; i++) elements.push(paddingElement());
  const headerLength = size + padding;
  if (headerLength > 0xffff) throw new OpenctlError(`the header would be ${headerLength} bytes; the format allows at most 65535`);
  lengthElement.value.writeUInt16BE(headerLength);
  return elements;
}

function offsetOf(elements: readonly Element[], tag: number): number {
  let offset = 0;
  for (const element of elements) {
    if (element.tag === tag && !element.padding) return offset;
    offset += encodedLength(element);
  }
  throw new Error(`internal: no tag ${tag} in the header`);
}

function checkTimestamp(timestamp: number): void {
  if (!Number.isInteger(timestamp) || timestamp < 0 || timestamp > 0xffffffff) {
    throw new OpenctlError(`invalid timestamp ${timestamp}: expected Unix seconds between 0 and 4294967295`);
  }
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

const WRITTEN_BY_OPENCTL: ReadonlySet<number> = new Set(Object.values(HeaderTag));

/** Unknown header elements to write after the timestamp (tests, future tags); known tags are openctl's own. */
export function extraHeaderElements(extra: readonly ExtraElement[] = []): Element[] {
  return extra.map((e) => {
    if (WRITTEN_BY_OPENCTL.has(e.tag)) {
      throw new OpenctlError(`an extra header element cannot use tag ${e.tag}: openctl writes that tag itself`);
    }
    return leaf(e.tag, e.value);
  });
}
