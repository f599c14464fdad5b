import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { parseFile, parseTrustList, type ParsedFile } from '../../src/formats';
import { FormatError } from '../../src/util/errors';
import { SIGNER_OF, VECTOR_FILES, certPath, nodeVerifies, readVector, vectorCert } from './support/fixtures';

/** Parse, and insist that failure is a FormatError with an offset inside the input, never anything else. */
function outcome(bytes: Buffer, file = 'input'): ParsedFile | FormatError {
  try {
    return parseFile(bytes, { file });
  } catch (err) {
    assert.ok(err instanceof FormatError, `${file}: expected a FormatError, got ${String(err)}`);
    assert.ok(Number.isInteger(err.offset) && err.offset >= 0 && err.offset <= bytes.length, `${file}: offset ${err.offset} outside 0..${bytes.length}`);
    assert.equal(err.file, file);
    assert.ok(!err.message.includes('\n'), 'one line');
    return err;
  }
}

function expectError(bytes: Buffer, pattern: RegExp, offset?: number): FormatError {
  const result = outcome(bytes);
  assert.ok(result instanceof FormatError, `expected a FormatError matching ${pattern}`);
  assert.match(result.problem, pattern);
  if (offset !== undefined) assert.equal(result.offset, offset, result.message);
  return result;
}

/** A copy of `bytes` with the 2-byte big-endian value at `at` replaced. */
function withU16(bytes: Buffer, at: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeUInt16BE(value, at);
  return copy;
}

const CTL = () => readVector('CTLFile-sha1.tlv'); // header 480 bytes, first record at 480 (1700 bytes)

describe('formats: negative corpus (codec level)', () => {
  for (const file of VECTOR_FILES) {
    it(`${file}: truncation at every offset gives a FormatError or a whole structure that does not verify`, () => {
      const bytes = readVector(file);
      const cert = vectorCert(SIGNER_OF[file]!);
      let whole = 0;
      for (let n = 0; n < bytes.length; n++) {
        const result = outcome(bytes.subarray(0, n), file);
        if (result instanceof FormatError) continue;
        whole++;
        // Only a cut at a record boundary (trust list) or inside the body (signed file) leaves a whole structure.
        if (result.kind === 'ctl' || result.kind === 'itl') {
          const last = result.records[result.records.length - 1];
          assert.equal(n, last ? last.offset + last.length : result.header.headerLength);
        } else assert.ok(n >= result.header.headerLength);
        assert.equal(nodeVerifies(result, cert), false, `${file} cut at ${n} must not verify`);
      }
      assert.ok(whole < bytes.length);
    });
  }

  it('empty file', () => {
    expectError(Buffer.alloc(0), /empty file/, 0);
  });

  it('a PEM where a TLV is expected', () => {
    expectError(fs.readFileSync(certPath('sast-a.pem')), /PEM/, 0);
  });

  it('a file that does not start with the version', () => {
    expectError(Buffer.from('<?xml version="1.0"?><device/>'), /starts with tag 60/, 0);
  });

  it('an element length past the end of the file', () => {
    expectError(withU16(CTL().subarray(0, 100), 1, 0xffff), /runs past the end of the file/, 0);
  });

  it('header length past the end of the file', () => {
    const bytes = CTL().subarray(0, 470);
    expectError(bytes, /header length 480 runs past the end of the file \(470 bytes\)/, 5);
    expectError(withU16(CTL(), 8, 0xfff0), /header length 65520 runs past the end/, 5);
  });

  it('header length that does not cover the header elements', () => {
    expectError(withU16(CTL(), 8, 6), /header length 6 does not cover/, 5);
    expectError(withU16(CTL(), 8, 300), /overruns the header \(header length 300\)/, 0xc1);
  });

  it('header length that stops before required fields', () => {
    // 0xc1 is the signature element: a header that ends there lacks the signature, filename and timestamp.
    expectError(withU16(CTL(), 8, 0xc1), /missing signature \(tag 12\)/);
  });

  it('zero lengths where a value is required', () => {
    expectError(synthetic({ version: el(1) }), /version \(tag 1\) must be 2 bytes, found 0/, 0);
    expectError(synthetic({ hash: el(8) }), /hash algorithm \(tag 8\) must be 1 byte, found 0/, 36); // 10 + signer info (23) + tag 7 header (3)
    expectError(synthetic({ signature: el(12) }), /signature \(tag 12\) is empty/);
    expectError(synthetic({ filename: el(14) }), /filename \(tag 14\) is empty/);
    expectError(synthetic({ signerInfo: el(3) }), /missing signer name \(tag 4\)/, 10);
    expectError(withU16(CTL(), 0x1e0 + 3, 0), /record length 0 is too small/, 0x1e0);
    expectError(withU16(CTL(), 0x1e0 + 1, 0), /record does not start with its 2-byte record length/, 0x1e0);
    assert.ok(!(outcome(synthetic({})) instanceof FormatError), 'the synthetic file itself is whole');
  });

  it('missing required header fields', () => {
    for (const [field, pattern] of [
      ['signerInfo', /missing signer info \(tag 3\)/],
      ['signatureInfo', /missing signature info \(tag 7\)/],
      ['signature', /missing signature \(tag 12\)/],
      ['filename', /missing filename \(tag 14\)/],
      ['timestamp', /missing timestamp \(tag 15\)/],
    ] as const) {
      expectError(synthetic({ [field]: Buffer.alloc(0) }), pattern);
    }
    expectError(Buffer.concat([el(1, '0100'), el(14, '612e73676e00')]), /missing header length \(tag 2\)/, 14);
    expectError(synthetic({}, 2), /missing version|starts with tag 2/, 0);
  });

  it('a container overrunning its parent', () => {
    // Signer name (tag 4 at 0x12) claims more than container tag 3 (at 0x0f) holds.
    expectError(withU16(CTL(), 0x13, 0x9d), /element tag 4 of length 157 overruns container tag 3 at byte 15/, 0x12);
    // Signature algorithm info (tag 9 at 0xb6) claims more than signature info (tag 7 at 0xaf) holds.
    expectError(withU16(CTL(), 0xb7, 20), /element tag 9 of length 20 overruns container tag 7 at byte 175/, 0xb6);
    // A container ending with a cut element.
    expectError(synthetic({ signatureInfo: el(7, Buffer.concat([el(8, '01'), el(9, Buffer.concat([el(10, '00'), el(11, '02')])), Buffer.from('0b00', 'hex')])) }), /truncated element \(tag 11\): 2 bytes left in container tag 7/);
  });

  it('record length past the end and records that overrun', () => {
    const cut = CTL().subarray(0, 0x1e0 + 100);
    expectError(cut, /record length 1700 runs past the end of the file \(100 bytes left\)/, 0x1e0);
    expectError(withU16(CTL(), 0x1e0 + 3, 10), /overruns the record at byte 480/, 0x1e0 + 5);
  });

  it('an unknown hash algorithm code', () => {
    const bytes = Buffer.from(CTL());
    assert.equal(bytes[0xb5], 1, 'the SHA-1 code of the vector');
    bytes[0xb5] = 9;
    expectError(bytes, /unknown hash algorithm code 9/, 0xb2);
  });

  it('an encrypted config (header 2.0) without its encryption info', () => {
    expectError(synthetic({ version: el(1, '0200') }), /without encryption info \(tag 16\)/);
  });

  it('an unsupported header version', () => {
    const bytes = Buffer.from(CTL());
    bytes[4] = 7;
    expectError(bytes, /unsupported header version 1\.7/, 3);
  });

  it('a 64 KiB (0xFFFF length) element', () => {
    // In a record: a record cannot hold it, the record length field is 2 bytes too.
    const big = Buffer.concat([Buffer.from('010002ffff' + '09ffff', 'hex'), Buffer.alloc(0xffff)]);
    expectError(Buffer.concat([CTL(), big]), /overruns the record/, CTL().length + 5);
    // In the header: longer than any header can be.
    const header = Buffer.concat([CTL().subarray(0, 10), Buffer.from('28ffff', 'hex'), Buffer.alloc(0xffff)]);
    expectError(header, /overruns the header/, 10);
    // As a signed file's body it is fine: the body is not made of elements.
    const sgn = readVector('configs/Ringlist.xml.sgn');
    const parsed = outcome(Buffer.concat([sgn.subarray(0, 436), Buffer.from('09ffff', 'hex'), Buffer.alloc(0xffff)]));
    assert.ok(!(parsed instanceof FormatError) && parsed.kind === 'signed' && parsed.body.length === 0x10002);
  });

  it('a 50 MB random file fails early (within the first 64 KiB)', () => {
    const random = randomBytes(50 * 1024 * 1024);
    for (const start of [Buffer.from([0x42]), Buffer.from('0100020102', 'hex'), Buffer.from('0100020100', 'hex')]) {
      start.copy(random);
      const result = outcome(random, 'random.bin');
      assert.ok(result instanceof FormatError);
      assert.ok(result.offset < 0x10000, result.message);
    }
  });

  it('parseTrustList refuses a signed file', () => {
    assert.throws(() => parseTrustList(readVector('configs/Ringlist.xml.sgn'), { file: 'Ringlist.xml.sgn' }), (e: unknown) => e instanceof FormatError && /not a trust list: header version 1\.0/.test(e.message) && /^Ringlist\.xml\.sgn: at byte 3:/.test(e.message));
  });
});

/** One element, written by hand (independent of the codec under test). */
function el(tag: number, value: Buffer | string = Buffer.alloc(0)): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value, 'hex') : value;
  return Buffer.concat([Buffer.from([tag, v.length >> 8, v.length & 0xff]), v]);
}

const STRING = (s: string) => Buffer.from(`${s}\0`);

/**
 * A signed file (header 1.0) written by hand: version at 0, header length at 5, signer info at 10, then the
 * rest; any part can be replaced (or removed with an empty buffer). Padding bytes make the length a multiple of 4.
 */
function synthetic(parts: Partial<Record<'version' | 'signerInfo' | 'signatureInfo' | 'hash' | 'signature' | 'filename' | 'timestamp', Buffer>>, firstTag?: number): Buffer {
  const version = parts.version ?? el(1, '0100');
  const hash = parts.hash ?? el(8, '01');
  const rest = Buffer.concat([
    parts.signerInfo ?? el(3, Buffer.concat([el(4, STRING('CN=a')), el(5, '01'), el(6, STRING('CN=a'))])),
    parts.signatureInfo ?? el(7, Buffer.concat([hash, el(9, Buffer.concat([el(10, '00'), el(11, '02')]))])),
    parts.signature ?? el(12, Buffer.alloc(256)),
    parts.filename ?? el(14, STRING('a.sgn')),
    parts.timestamp ?? el(15, '00000000'),
  ]);
  const size = version.length + 5 + rest.length;
  const padding = Buffer.alloc((4 - (size % 4)) % 4, 13);
  const bytes = Buffer.concat([version, el(2, Buffer.from([(size + padding.length) >> 8, (size + padding.length) & 0xff])), rest, padding, Buffer.from('body')]);
  if (firstTag !== undefined) bytes[0] = firstTag;
  return bytes;
}
