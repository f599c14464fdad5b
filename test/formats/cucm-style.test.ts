import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { buildTrustList, hashRecord, parseFile, parseTrustList, roleName, sameDn, serializeFile, type TrustList } from '../../src/formats';
import { vector } from '../helpers/paths';
import { nodeVerifies, readVector, vectorCert } from './support/fixtures';
import { testSigner } from './support/test-signer';

interface ExpectedRecord {
  function: string | number;
  subject: string | null;
  dns: string;
  ip?: string | null;
  certificate: boolean;
  tag8?: boolean;
  signedTheFile?: boolean;
  certificateHashSha1?: string;
}
interface ExpectedFile {
  kind: string;
  version: string;
  headerLength: number;
  size: number;
  digest: string;
  signer: string;
  signatureValid: boolean;
  timestamp: number;
  records: ExpectedRecord[];
}

/** The second independent writer's own statement of every field (vectors/cucm-style/expected.json). */
const EXPECTED = JSON.parse(fs.readFileSync(vector('cucm-style', 'expected.json'), 'utf8')) as Record<string, ExpectedFile>;
const SIGNERS: Record<string, string> = { 'CTLFile-cucm-style.tlv': 'sast-a.pem', 'ITLFile-cucm-style.tlv': 'itlrecovery.pem' };

describe('formats: CUCM-style vectors (expected.json)', () => {
  for (const [file, expected] of Object.entries(EXPECTED)) {
    it(`${file} parses to every field of expected.json`, () => {
      const bytes = readVector(`cucm-style/${file}`);
      const list = parseTrustList(bytes, { file });
      assert.equal(list.kind.toUpperCase(), expected.kind);
      assert.equal(`${list.header.version.major}.${list.header.version.minor}`, expected.version);
      assert.equal(list.header.headerLength, expected.headerLength);
      assert.equal(bytes.length, expected.size);
      assert.equal(list.header.hash.toUpperCase(), expected.digest);
      assert.equal(list.header.signer.subject, expected.signer);
      assert.equal(list.header.timestamp, expected.timestamp);
      assert.equal(list.header.signerVersion, undefined, 'this writer leaves tag 28 out');
      assert.equal(nodeVerifies(list, vectorCert(SIGNERS[file]!)), expected.signatureValid);
      assert.equal(list.records.length, expected.records.length);
      list.records.forEach((r, i) => {
        const e = expected.records[i]!;
        const what = `${file} record ${i}`;
        assert.equal(typeof e.function === 'number' ? r.role : roleName(r.role!), e.function, what);
        assert.equal(r.subject ?? null, e.subject, what);
        assert.equal(r.dnsName, e.dns, what);
        if (e.ip !== undefined) assert.equal(r.ipv4 ?? null, e.ip, what);
        assert.equal(r.certificate !== undefined, e.certificate, what);
        if (e.tag8 !== undefined) assert.equal(r.certSignature !== undefined, e.tag8, what);
        if (e.certificateHashSha1) {
          assert.equal(r.certHash?.toString('hex'), e.certificateHashSha1, what);
          assert.equal(r.certHashAlgorithm, 1, what);
        }
        const signed = !!r.serial?.equals(list.header.signer.serial) && sameDn(r.issuer ?? '', list.header.signer.issuer) && r.role === 0;
        assert.equal(signed, e.signedTheFile === true, what);
      });
    });
  }

  it('keeps the unknown function 99 and the unknown tag 30, and writes them back', () => {
    const bytes = readVector('cucm-style/CTLFile-cucm-style.tlv');
    const list = parseTrustList(bytes);
    const odd = list.records[5]!;
    assert.equal(odd.role, 99);
    assert.equal(roleName(99), '99');
    const tag30 = odd.elements.find((e) => e.tag === 30);
    assert.equal(tag30?.value.toString('hex'), 'beef');
    assert.deepEqual(odd.elements.map((e) => e.tag), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30]);
    assert.ok(serializeFile(list).equals(bytes));
  });

  it('parses the non-secure stub record (tags 1, 2, 4, 10 only)', () => {
    const stub = parseTrustList(readVector('cucm-style/CTLFile-cucm-style.tlv')).records[4]!;
    assert.deepEqual(stub.elements.map((e) => e.tag), [1, 2, 4, 10]);
    assert.equal(stub.length, 29);
    assert.equal(stub.certificate, undefined);
  });

  it('reads CUCM signer info in the order 4, 5, 6', () => {
    const header = parseFile(readVector('cucm-style/ITLFile-cucm-style.tlv')).header;
    assert.deepEqual(header.elements.find((e) => e.tag === 3)?.children?.map((e) => e.tag), [4, 5, 6]);
  });

  it('rebuilding the CUCM-style ITL from its certificates gives the same bytes (layout agrees with that writer)', async () => {
    const signer = testSigner(vector('certs', 'itlrecovery.pem'));
    const tvs = vectorCert('tvs-ec.pem');
    const built = await buildTrustList({
      kind: 'itl',
      filename: 'ITLFile.tlv',
      signer,
      hash: 'sha1',
      timestamp: 1764288000,
      dnStyle: 'cucm',
      signerVersion: null,
      records: [
        { role: 0, certificate: Buffer.from(signer.certificate) },
        { role: 2, certificate: vectorCert('ccm-tftp.pem'), dnsName: 'cucm-pub.example.net', ipv4: '10.0.0.5' },
        { role: 21, certificate: tvs, dnsName: 'cucm-pub.example.net', ipv4: '10.0.0.5' },
        hashRecord({ role: 21, certificate: tvs, dnsName: 'cucm-sub1.example.net' }, { dnStyle: 'cucm' }),
        { role: 4, certificate: vectorCert('capf.pem'), dnsName: 'cucm-pub.example.net' },
      ],
    });
    const original = readVector('cucm-style/ITLFile-cucm-style.tlv');
    assert.equal(createHash('sha256').update(built).digest('hex'), createHash('sha256').update(original).digest('hex'));
  });

  it('copies parsed records as they are into a new list (eToken SAST records without tag 8 stay so)', async () => {
    const source = parseTrustList(readVector('cucm-style/CTLFile-cucm-style.tlv'));
    const signer = testSigner(vector('certs', 'sast-a.pem'));
    const built = parseTrustList(
      await buildTrustList({ kind: 'ctl', filename: 'CTLFile.tlv', signer, hash: 'sha512', records: source.records, dnStyle: 'cucm' }),
    ) as TrustList;
    assert.equal(built.records.length, source.records.length, 'the signer is already a SAST record: nothing added');
    assert.ok(built.bytes.subarray(built.header.headerLength).equals(source.bytes.subarray(source.header.headerLength)));
    assert.ok(nodeVerifies(built, Buffer.from(signer.certificate)));
  });
});
