import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { certificateInfo } from '../../src/crypto/certificate';
import { formatVersion, parseFile, roleName, serializeFile, type ParsedFile, type TrustList } from '../../src/formats';
import { REFERENCE_DUMPS } from './support/reference-dumps';
import { SIGNER_OF, VECTOR_FILES, nodeVerifies, readVector, utc, vectorCert } from './support/fixtures';

const DIGEST_NAME = { sha1: 'SHA1', sha256: 'SHA256', sha512: 'SHA512' } as const;

describe('formats: interop vectors against the reference dumps', () => {
  for (const dump of REFERENCE_DUMPS) {
    describe(dump.file, () => {
      let parsed: ParsedFile;
      before(() => {
        parsed = parseFile(readVector(dump.file), { file: dump.file });
      });

      it('has the header of the dump', () => {
        const h = parsed.header;
        assert.equal(formatVersion(h.version), dump.version);
        assert.equal(h.headerLength, dump.headerLength);
        assert.equal(h.signerVersion && formatVersion(h.signerVersion), dump.signerVersion);
        assert.equal(h.signer.subject, dump.signer);
        assert.equal(h.signer.issuer, dump.issuer);
        assert.equal(h.signer.serial.toString('hex'), dump.serial);
        assert.equal(DIGEST_NAME[h.hash], dump.digest);
        assert.equal(h.signature.length, dump.signatureLength);
        assert.equal(h.filename, dump.filename);
        assert.equal(utc(h.timestamp!), dump.timestampUtc);
        assert.equal(h.signatureAlgorithm, 0);
      });

      it('has the records of the dump', () => {
        const records = parsed.kind === 'ctl' || parsed.kind === 'itl' ? parsed.records : [];
        const expected = dump.records ?? [];
        assert.equal(records.length, expected.length);
        records.forEach((r, i) => {
          const e = expected[i]!;
          assert.equal(r.length, e.length, `record ${i} length`);
          assert.equal(r.subject, e.subject);
          assert.equal(r.issuer, e.issuer);
          assert.equal(r.serial?.toString('hex'), e.serial);
          assert.equal(roleName(r.role!), e.role);
          assert.equal(r.publicKey?.length, e.publicKeyLength);
          assert.equal(r.certSignature?.length, e.signatureLength);
          assert.equal(r.certificate?.length, e.certificateLength);
          assert.equal(createHash('sha1').update(r.certificate!).digest('hex'), e.certificateSha1);
          assert.equal(r.dnsName, undefined, 'this writer leaves tag 2 out');
        });
      });

      it('reaches the dump verdict (checked with node:crypto)', () => {
        assert.equal(nodeVerifies(parsed, vectorCert(SIGNER_OF[dump.file]!)), dump.valid);
      });

      if (dump.encryption) {
        it('has the encryption info of the dump', () => {
          assert.equal(parsed.kind, 'encrypted');
          const enc = parsed.header.encryption!;
          assert.equal(enc.iv.length, dump.encryption!.ivLength);
          assert.equal(enc.wrappedKey.length, dump.encryption!.wrappedKeyLength);
          assert.equal(DIGEST_NAME[enc.plaintextHash], dump.encryption!.digest);
          assert.equal(enc.plaintextDigest.toString('hex'), dump.encryption!.plaintextDigest);
        });
      }
    });
  }

  it('detects the kind of every vector from content', () => {
    const kinds = VECTOR_FILES.map((f) => parseFile(readVector(f)).kind);
    assert.deepEqual(kinds, ['ctl', 'ctl', 'ctl', 'itl', 'itl', 'signed', 'signed', 'signed', 'encrypted', 'signed', 'ctl', 'itl']);
  });

  it('tells CTL from ITL by the header filename, then the file name; --kind overrides', () => {
    assert.equal(parseFile(readVector('CTLFile-sha1.tlv'), { kind: 'itl' }).kind, 'itl');
    assert.equal(parseFile(readVector('ITLFile-sha1.tlv'), { kind: 'ctl' }).kind, 'ctl');
    // A header filename that names neither: the name on disk decides, else CTL.
    const bytes = Buffer.from(readVector('ITLFile-sha1.tlv'));
    const at = bytes.indexOf('ITLFile.tlv');
    bytes.write('XYZ', at, 'latin1');
    assert.equal(parseFile(bytes, { file: '/tftp/ITLSEP001122334455.tlv' }).kind, 'itl');
    assert.equal(parseFile(bytes).kind, 'ctl');
  });

  it('round-trips every vector byte for byte, from the model', () => {
    for (const file of VECTOR_FILES) {
      const bytes = readVector(file);
      const parsed = parseFile(bytes);
      const copy = parseFile(Buffer.from(bytes)); // a model that does not share memory with `bytes`
      assert.ok(serializeFile(parsed).equals(bytes), file);
      assert.ok(serializeFile(copy).equals(bytes), file);
    }
  });

  it('keeps the payload of signed files: the body is the plain file beside it', () => {
    for (const name of ['Ringlist.xml', 'SEP001122334455.cnf.xml', 'SEP0011223344AA.cnf.xml']) {
      const parsed = parseFile(readVector(`configs/${name}.sgn`));
      assert.equal(parsed.kind, 'signed');
      assert.ok(parsed.kind === 'signed' && parsed.body.equals(readVector(`configs/${name}`)), name);
    }
  });

  it('records carry the public key and signature of their own certificate (RSA and EC)', () => {
    const list = parseFile(readVector('CTLFile-sha1.tlv')) as TrustList;
    for (const r of list.records) {
      const info = certificateInfo(r.certificate!);
      assert.ok(info.publicKey.equals(r.publicKey!), r.subject);
      assert.ok(info.signature.equals(r.certSignature!), r.subject);
      assert.ok(info.serial.equals(r.serial!), r.subject);
      assert.equal(info.subject, r.subject);
    }
  });

  it('reports the signature element that the signature does not cover', () => {
    const parsed = parseFile(readVector('CTLFile-sha1.tlv'));
    assert.deepEqual(parsed.header.signatureElement, { offset: 0xc1, length: 259 });
    assert.equal(parsed.bytes[0xc1], 12);
  });
});
