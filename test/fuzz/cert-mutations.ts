/**
 * Mutations aimed at the certificates embedded in a CTL or ITL (record certificates, tag 9), rather than at the
 * TLV framing: the bytes a certificate reader (node:crypto, @peculiar/x509, the DER name reader) meets. The
 * parser fuzzer finds framing bugs; these find the certificate-reading paths of show, verify, preflight and diff.
 */
import { parseFile } from '../../src/formats';

export interface CertRange {
  /** Offset of the certificate's DER in the file. */
  start: number;
  end: number;
  /** Offsets (in the file) of the digits of its validity times (UTCTime/GeneralizedTime contents). */
  timeDigits: number[];
}

/** Where each record's certificate sits in the file (records whose certificate is found verbatim). */
export function certificateRanges(file: Buffer): CertRange[] {
  const parsed = parseFile(file);
  if (parsed.kind !== 'ctl' && parsed.kind !== 'itl') return [];
  const ranges: CertRange[] = [];
  let from = 0;
  for (const record of parsed.records) {
    const der = record.certificate;
    if (!der || der.length === 0) continue;
    const start = file.indexOf(der, from);
    if (start < 0) continue;
    from = start + der.length;
    const timeDigits: number[] = [];
    // The first two time values in the certificate are notBefore and notAfter (tag 0x17 UTCTime, 0x18 Generalized).
    for (let i = 0, found = 0; i < der.length - 2 && found < 2; i += 1) {
      const tag = der[i];
      const len = der[i + 1];
      if ((tag === 0x17 && len === 13) || (tag === 0x18 && len === 15)) {
        for (let d = 0; d < len; d += 1) timeDigits.push(start + i + 2 + d);
        found += 1;
        i += 1 + len;
      }
    }
    ranges.push({ start, end: start + der.length, timeDigits });
  }
  return ranges;
}

/** Small deterministic PRNG (mulberry32): a failing mutation is replayed from its seed and index. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One mutation of `file` inside its embedded certificates: a bit flip or a byte set in a validity date (the
 * field that gave "Invalid time value"), anywhere in a certificate, or in its first 64 bytes (lengths, version,
 * serial). The TLV framing stays intact, so the file still parses and the certificate readers are reached.
 */
export function mutateCertificate(file: Buffer, ranges: readonly CertRange[], rand: () => number): Buffer {
  const out = Buffer.from(file);
  const pick = (n: number) => Math.floor(rand() * n);
  const range = ranges[pick(ranges.length)];
  const rounds = 1 + pick(3);
  for (let i = 0; i < rounds; i += 1) {
    let at: number;
    switch (pick(4)) {
      case 0:
      case 1:
        at = range.timeDigits.length ? range.timeDigits[pick(range.timeDigits.length)] : range.start + pick(range.end - range.start);
        break;
      case 2:
        at = range.start + pick(Math.min(64, range.end - range.start));
        break;
      default:
        at = range.start + pick(range.end - range.start);
    }
    if (pick(2) === 0) out[at] ^= 1 << pick(8);
    else out[at] = [0x00, 0x01, 0x0d, 0x20, 0x2f, 0x3a, 0x5a, 0x7f, 0x80, 0xff][pick(10)];
  }
  return out;
}
