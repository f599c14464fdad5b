import type { ParsedFile } from './model';
import { encodeElements } from './tlv';

/**
 * Write a model back to bytes from its elements (header, records) and payload: a parsed file comes back byte
 * for byte, unknown tags, element order and padding included.
 */
export function serializeFile(parsed: ParsedFile): Buffer {
  const header = encodeElements(parsed.header.elements);
  switch (parsed.kind) {
    case 'signed':
      return Buffer.concat([header, parsed.body]);
    case 'encrypted':
      return Buffer.concat([header, parsed.ciphertext]);
    default:
      return Buffer.concat([header, ...parsed.records.map((r) => encodeElements(r.elements))]);
  }
}

/** What the signature covers: the file with the tag-12 element (tag, length and value) cut out. */
export function signedBytes(parsed: ParsedFile): Buffer {
  const { offset, length } = parsed.header.signatureElement;
  return cutOut(parsed.bytes, offset, length);
}

export function cutOut(bytes: Buffer, offset: number, length: number): Buffer {
  return Buffer.concat([bytes.subarray(0, offset), bytes.subarray(offset + length)]);
}
