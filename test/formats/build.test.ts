import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import {
  buildSignedFile,
  buildTrustList,
  hashRecord,
  parseFile,
  parseTrustList,
  recordFromSpec,
  serializeFile,
  stubRecord,
  type DnStyle,
  type TrustList,
} from '../../src/formats';
import type { HashAlgorithm } from '../../src/crypto/hash';
import { FormatError, OpenctlError } from '../../src/util/errors';
import { certPath, nodeVerifies, ownFixture, vectorCert } from './support/fixtures';
import { buildOwnFixtures } from './support/own-fixtures';
import { testSigner } from './support/test-signer';

const SAST_A = {
  comma: 'CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ',
  cucm: 'CN=SAST-eToken-A;OU=UC Security;O=Example Voice;L=Wellington;C=NZ',
};
const TVS = { comma: 'CN=tvs-pub.example.net,O=Example Voice,OU=UC', cucm: 'CN=tvs-pub.example.net;OU=UC;O=Example Voice' };
const TIMESTAMP = 1767225600;
const tags = (elements: ReadonlyArray<{ tag: number }>) => elements.map((e) => e.tag);

function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  return assert.rejects(promise, (err: unknown) => err instanceof OpenctlError && !(err instanceof FormatError) && pattern.test(err.message));
}

describe('formats: building trust lists and signed files', () => {
  const sastA = testSigner(certPath('sast-a.pem'));

  for (const hash of ['sha1', 'sha256', 'sha512'] as HashAlgorithm[]) {
    for (const dnStyle of ['comma', 'cucm'] as DnStyle[]) {
      for (const minor of [0, 1]) {
        it(`CTL with ${hash}, ${dnStyle} DNs, signer version 1.${minor} parses back to what was asked`, async () => {
          const bytes = await buildTrustList({
            kind: 'ctl',
            filename: 'CTLFile.tlv',
            signer: sastA,
            hash,
            dnStyle,
            signerVersion: { major: 1, minor },
            timestamp: TIMESTAMP,
            records: [
              { role: 0, certificate: vectorCert('sast-a.pem') },
              { role: 0, certificate: vectorCert('sast-b.pem') },
              { role: 2, certificate: vectorCert('ccm-tftp.pem'), dnsName: 'cucm-pub.example.net', ipv4: '10.0.0.5' },
              { role: 21, certificate: vectorCert('tvs-ec.pem'), dnsName: 'tvs.example.net' },
              { role: 3, certificate: vectorCert('tftp-4096.pem') },
            ],
          });
          const list = parseTrustList(bytes);
          const h = list.header;
          assert.equal(list.kind, 'ctl');
          assert.deepEqual([h.version, h.signerVersion, h.hash, h.filename, h.timestamp], [{ major: 1, minor: 2 }, { major: 1, minor }, hash, 'CTLFile.tlv', TIMESTAMP]);
          assert.equal(h.signer.subject, SAST_A[dnStyle]);
          assert.equal(h.signer.issuer, SAST_A[dnStyle]);
          assert.equal(h.signer.serial.toString('hex'), '9ff7b09849136c18ce71a47bffdd4c7b');
          assert.deepEqual(tags(h.elements).filter((t) => t !== 13), [1, 2, 28, 3, 7, 12, 14, 15]);
          assert.deepEqual(tags(h.elements.find((e) => e.tag === 3)!.children!), [4, 5, 6]);
          assert.deepEqual(tags(h.elements.find((e) => e.tag === 7)!.children!), [8, 9]);
          assert.equal(h.headerLength % 4, 0);
          assert.equal(h.modulusIndex, 2);
          assert.deepEqual(list.records.map((r) => r.role), [0, 0, 2, 21, 3]);
          assert.deepEqual(tags(list.records[2]!.elements), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
          assert.deepEqual(tags(list.records[0]!.elements), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
          assert.equal(list.records[0]!.dnsName, '');
          assert.equal(list.records[0]!.elements[1]!.value.toString('hex'), '00', 'no DNS name: a lone NUL');
          assert.equal(list.records[2]!.ipv4, '10.0.0.5');
          assert.equal(list.records[3]!.subject, TVS[dnStyle]);
          assert.equal(list.records[3]!.publicKey!.length, 65, 'EC: uncompressed point');
          assert.equal(list.records[4]!.publicKey!.length, 526);
          assert.ok(list.records[4]!.certificate!.equals(vectorCert('tftp-4096.pem')));
          assert.ok(nodeVerifies(list, vectorCert('sast-a.pem')));
          assert.ok(serializeFile(list).equals(bytes));
        });
      }
    }
  }

  it('adds the signer as the first SAST record when missing, even if it is listed with another role', async () => {
    const signer = testSigner(certPath('ccm-tftp.pem'));
    const list = parseTrustList(
      await buildTrustList({ kind: 'itl', filename: 'ITLFile.tlv', signer, timestamp: TIMESTAMP, records: [{ role: 2, certificate: vectorCert('ccm-tftp.pem') }] }),
    );
    assert.equal(list.kind, 'itl');
    assert.deepEqual(list.records.map((r) => r.role), [0, 2]);
    assert.ok(list.records[0]!.certificate!.equals(vectorCert('ccm-tftp.pem')));
    assert.equal(list.records[0]!.dnsName, '');
  });

  it('does not add the signer when a SAST record already holds it', async () => {
    const list = parseTrustList(
      await buildTrustList({
        kind: 'ctl',
        filename: 'CTLFile.tlv',
        signer: sastA,
        timestamp: TIMESTAMP,
        records: [{ role: 0, certificate: vectorCert('sast-b.pem') }, { role: 0, certificate: vectorCert('sast-a.pem') }],
      }),
    );
    assert.deepEqual(list.records.map((r) => r.subject), [
      'CN=SAST-eToken-B,O=Example Voice,OU=UC Security,L=Wellington,C=NZ',
      'CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ',
    ]);
  });

  it('ITL with a stub record, a hash record and unknown tags in header and record', async () => {
    const recovery = testSigner(certPath('itlrecovery.pem'));
    const bytes = await buildTrustList({
      kind: 'itl',
      filename: 'ITLSEP001122334455.tlv',
      signer: recovery,
      hash: 'sha256',
      timestamp: TIMESTAMP,
      extraHeaderElements: [{ tag: 40, value: Buffer.from('ab', 'hex') }, { tag: 77, value: Buffer.alloc(0) }],
      records: [
        stubRecord({ role: 2, ipv4: '10.0.0.6' }),
        hashRecord({ role: 21, certificate: vectorCert('tvs-ec.pem'), dnsName: 'cucm-sub1.example.net' }),
        recordFromSpec({ role: 99, certificate: vectorCert('capf.pem'), ipv4: '10.0.0.7' }, { extraElements: [{ tag: 30, value: Buffer.from('beef', 'hex') }] }),
      ],
    });
    const list = parseFile(bytes) as TrustList;
    assert.equal(list.kind, 'itl');
    assert.deepEqual(tags(list.header.elements).filter((t) => t !== 13), [1, 2, 28, 3, 7, 12, 14, 15, 40, 77]);
    assert.equal(list.header.elements.find((e) => e.tag === 40)!.value.toString('hex'), 'ab');
    const [sast, stub, hashed, odd] = list.records;
    assert.equal(sast!.role, 0);
    assert.deepEqual(tags(stub!.elements), [1, 2, 4, 10]);
    assert.deepEqual([stub!.dnsName, stub!.ipv4, stub!.certificate], ['10.0.0.6', '10.0.0.6', undefined]);
    assert.deepEqual(tags(hashed!.elements), [1, 2, 3, 4, 5, 6, 11, 12]);
    assert.equal(hashed!.certHash!.toString('hex'), '47b9b590a9305c3d3791113282d73bf9b9efd323');
    assert.equal(hashed!.certHashAlgorithm, 1);
    assert.deepEqual(tags(odd!.elements), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30]);
    assert.equal(odd!.role, 99);
    assert.ok(nodeVerifies(list, vectorCert('itlrecovery.pem')));
    assert.ok(serializeFile(list).equals(bytes));
  });

  it('signs with 1024 and 4096-bit keys (modulus index 1 and 3)', async () => {
    for (const [pem, index, bytes] of [[certPath('../../own/rsa-1024.pem'), 1, 128], [certPath('tftp-4096.pem'), 3, 512]] as const) {
      const signer = testSigner(pem);
      const list = parseTrustList(await buildTrustList({ kind: 'ctl', filename: 'CTLFile.tlv', signer, timestamp: TIMESTAMP, records: [] }));
      assert.equal(list.header.modulusIndex, index);
      assert.equal(list.header.signature.length, bytes);
      assert.ok(nodeVerifies(list, Buffer.from(signer.certificate)));
    }
  });

  it('refuses a 3072-bit signing key with a clear error, for every builder', async () => {
    const signer = testSigner(ownFixture('rsa-3072.pem'));
    await rejects(buildTrustList({ kind: 'ctl', filename: 'CTLFile.tlv', signer, records: [] }), /3072-bit.*1024, 2048 or 4096/);
    await rejects(buildSignedFile({ body: Buffer.from('x'), filename: 'a.sgn', signer }), /3072-bit/);
  });

  it('refuses an EC signer, a signer whose key size disagrees with its certificate, and a CTL named like an ITL', async () => {
    const ec = { ...sastA, certificate: vectorCert('tvs-ec.pem') };
    await rejects(buildSignedFile({ body: Buffer.from('x'), filename: 'a.sgn', signer: ec }), /EC key/);
    await rejects(buildSignedFile({ body: Buffer.from('x'), filename: 'a.sgn', signer: { ...sastA, keyBits: 4096 } }), /4096-bit key but its certificate holds a 2048/);
    await rejects(buildTrustList({ kind: 'ctl', filename: 'ITLFile.tlv', signer: sastA, records: [] }), /names an ITL/);
  });

  it('refuses bad record input with one-line errors', async () => {
    await rejects(buildTrustList({ kind: 'ctl', filename: 'CTLFile.tlv', signer: sastA, records: [{ role: 1, certificate: vectorCert('ccm.pem'), ipv4: '10.0.0.256' }] }), /invalid IPv4/);
    await rejects(buildTrustList({ kind: 'ctl', filename: 'CTLFile.tlv', signer: sastA, records: [{ role: 70000, certificate: vectorCert('ccm.pem') }] }), /invalid record function/);
    await rejects(buildTrustList({ kind: 'ctl', filename: 'CTLFile.tlv', signer: sastA, records: [{ role: 1, certificate: Buffer.from('junk') }] }), /not a valid X.509/);
    await rejects(buildTrustList({ kind: 'ctl', filename: 'CTLFile.tlv', signer: sastA, records: [], timestamp: -1 }), /invalid timestamp/);
    await rejects(buildSignedFile({ body: Buffer.from('x'), filename: 'a.sgn', signer: sastA, extraHeaderElements: [{ tag: 13, value: Buffer.alloc(0) }] }), /tag 13/);
  });

  it('builds signed files that wrap the body unchanged', async () => {
    const body = Buffer.from('<device><fullConfig>true</fullConfig></device>\n');
    const tftp = testSigner(certPath('ccm-tftp.pem'));
    const bytes = await buildSignedFile({ body, filename: 'SEP001122334455.cnf.xml.sgn', signer: tftp, hash: 'sha512', timestamp: TIMESTAMP, dnStyle: 'cucm' });
    const parsed = parseFile(bytes);
    assert.equal(parsed.kind, 'signed');
    assert.ok(parsed.kind === 'signed' && parsed.body.equals(body));
    assert.equal(parsed.header.signerVersion, undefined, 'tag 28 is for trust lists only');
    assert.equal(parsed.header.signer.subject, 'CN=cucm-pub.example.net;OU=UC;O=Example Voice');
    assert.equal(parsed.header.hash, 'sha512');
    assert.ok(nodeVerifies(parsed, vectorCert('ccm-tftp.pem')));
  });

  it('is reproducible: our committed fixtures rebuild to the same bytes, and each one verifies', async () => {
    const built = await buildOwnFixtures();
    const signers: Record<string, string> = {
      'CTLFile-sha256.tlv': 'sast-a.pem',
      'CTLFile-cucm-dn-v1.1.tlv': 'sast-a.pem',
      'ITLFile-stub-hash.tlv': 'itlrecovery.pem',
      'Ringlist-sha256.xml.sgn': 'ccm-tftp.pem',
    };
    for (const [name, bytes] of Object.entries(built)) {
      assert.ok(fs.readFileSync(ownFixture(name)).equals(bytes), name);
      assert.ok(nodeVerifies(parseFile(bytes), vectorCert(signers[name]!)), name);
    }
  });

  it('defaults: SHA-1, signer version 1.0, comma DNs, the current time', async () => {
    const before = Math.floor(Date.now() / 1000);
    const list = parseTrustList(await buildTrustList({ kind: 'ctl', filename: 'CTLFile.tlv', signer: sastA, records: [] }));
    assert.equal(list.header.hash, 'sha1');
    assert.deepEqual(list.header.signerVersion, { major: 1, minor: 0 });
    assert.equal(list.header.signer.subject, SAST_A.comma);
    assert.ok(list.header.timestamp >= before && list.header.timestamp <= before + 3600);
  });
});
