import { FormatError } from '../util/errors';
import { containerKind, trustListKind } from './detect';
import { isFirmwareVersion, parseHeader } from './header';
import type { FileHeader, ParsedFile, TimestampedHeader, TrustList, TrustListKind } from './model';
import { parseRecords } from './records';
import { formatVersion } from './values';

export interface ParseOptions {
  /** Override the CTL/ITL decision (the user's --kind). */
  kind?: TrustListKind;
  /** The file's name, for error messages (and as a CTL/ITL hint when the header filename says nothing). */
  file?: string;
}

/**
 * Parse any of the four kinds, detected from content. Never reads certificates (records keep DER bytes), so a
 * 1,000-record list parses in milliseconds. Throws FormatError (with the byte offset) on any structural problem.
 */
export function parseFile(bytes: Buffer, options: ParseOptions = {}): ParsedFile {
  return withFile(options.file, () => fromHeader(bytes, parseHeader(bytes), options));
}

/** Parse a CTL or ITL; anything else is a FormatError. */
export function parseTrustList(bytes: Buffer, options: ParseOptions = {}): TrustList {
  return withFile(options.file, () => {
    const header = parseHeader(bytes);
    if (containerKind(header) !== 'trust-list') {
      throw new FormatError(`not a trust list: header version ${formatVersion(header.version)} (CTL and ITL files are 1.2)`, 3);
    }
    return fromHeader(bytes, header, options) as TrustList;
  });
}

function fromHeader(bytes: Buffer, header: FileHeader, options: ParseOptions): ParsedFile {
  const body = bytes.subarray(header.headerLength);
  switch (containerKind(header)) {
    case 'trust-list':
      return { kind: trustListKind(header, options.kind, options.file), header: timestamped(header), bytes, records: parseRecords(bytes, header.headerLength) };
    case 'signed':
      return isFirmwareVersion(header.version) ? { kind: 'signed', firmware: true, header, bytes, body } : { kind: 'signed', header, bytes, body };
    case 'encrypted':
      if (!header.encryption) throw new FormatError('encrypted config (header 2.0) without encryption info (tag 16)', header.headerLength);
      return { kind: 'encrypted', header: timestamped(header), bytes, ciphertext: body };
  }
}

/** parseHeader lets only firmware containers (header 1.1) go without a timestamp; this says so to the types. */
function timestamped(header: FileHeader): TimestampedHeader {
  if (header.timestamp === undefined) throw new FormatError('missing timestamp (tag 15)', header.headerLength);
  return header as TimestampedHeader;
}

function withFile<T>(file: string | undefined, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (file && err instanceof FormatError && err.file === undefined) throw err.withFile(file);
    throw err;
  }
}
