import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { certificateInfo, readCertificates } from '../../src/crypto/certificate';
import { formatDn } from '../../src/formats';
import { OpenctlError } from '../../src/util/errors';
import { certPath, ownFixture, vectorCert } from './support/fixtures';

/** Subjects as the vectors write them (comma, certificate order) and as cucm-style/expected.json does. */
const SUBJECTS: Record<string, [string, string]> = {
  'sast-a.pem': ['CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ', 'CN=SAST-eToken-A;OU=UC Security;O=Example Voice;L=Wellington;C=NZ'],
  'sast-b.pem': ['CN=SAST-eToken-B,O=Example Voice,OU=UC Security,L=Wellington,C=NZ', 'CN=SAST-eToken-B;OU=UC Security;O=Example Voice;L=Wellington;C=NZ'],
  'ccm-tftp.pem': ['CN=cucm-pub.example.net,O=Example Voice,OU=UC', 'CN=cucm-pub.example.net;OU=UC;O=Example Voice'],
  'capf.pem': ['CN=CAPF-1a2b3c4d,O=Example Voice,OU=UC', 'CN=CAPF-1a2b3c4d;OU=UC;O=Example Voice'],
  'itlrecovery.pem': ['CN=ITLRECOVERY_cucm-pub,O=Example Voice,OU=UC', 'CN=ITLRECOVERY_cucm-pub;OU=UC;O=Example Voice'],
  'tvs-ec.pem': ['CN=tvs-pub.example.net,O=Example Voice,OU=UC', 'CN=tvs-pub.example.net;OU=UC;O=Example Voice'],
  'ccm.pem': ['CN=cucm-sub1.example.net,O=Example Voice,OU=UC', 'CN=cucm-sub1.example.net;OU=UC;O=Example Voice'],
  'tftp-4096.pem': ['CN=tftp-alt.example.net,O=Example Voice,OU=UC', 'CN=tftp-alt.example.net;OU=UC;O=Example Voice'],
};

describe('crypto: certificate facts', () => {
  for (const [pem, [comma, cucm]] of Object.entries(SUBJECTS)) {
    it(`${pem}: both DN spellings match the vectors`, () => {
      const info = certificateInfo(vectorCert(pem));
      assert.equal(info.subject, comma);
      assert.equal(info.issuer, comma, 'self-signed');
      assert.equal(formatDn(info.subjectAttrs, 'cucm'), cucm);
    });
  }

  it('gives serial without sign byte, key facts, hashes and dates', () => {
    const a = certificateInfo(vectorCert('sast-a.pem'));
    assert.equal(a.serialHex, '9ff7b09849136c18ce71a47bffdd4c7b');
    assert.equal(a.serial.length, 16);
    assert.deepEqual([a.keyAlgorithm, a.keyBits, a.publicKey.length, a.signature.length], ['RSA', 2048, 270, 256]);
    assert.equal(a.sha1, '27122bf325393a6f59e427fc01cdd6e495c70cca');
    assert.match(a.md5, /^[0-9a-f]{32}$/);
    assert.ok(a.notBefore < a.notAfter);
    const ec = certificateInfo(vectorCert('tvs-ec.pem'));
    assert.deepEqual([ec.keyAlgorithm, ec.keyBits, ec.publicKey.length, ec.publicKey[0], ec.signature.length], ['EC', 256, 65, 4, 71]);
    assert.equal(certificateInfo(vectorCert('tftp-4096.pem')).keyBits, 4096);
    assert.equal(certificateInfo(vectorCert('device-lsc.pem')).md5, '1139775c59460e05c210f831f1f9dc9c');
  });

  it('reads PEM (with a key before the certificate), DER, and PKCS#7 in PEM and DER', () => {
    const a = vectorCert('sast-a.pem');
    assert.deepEqual(readCertificates(fs.readFileSync(certPath('sast-a.pem'))), [a]);
    assert.deepEqual(readCertificates(a), [a]);
    assert.deepEqual(readCertificates(fs.readFileSync(ownFixture('tvs-ec.der'))), [vectorCert('tvs-ec.pem')]);
    for (const bundle of ['sast-bundle.p7b', 'sast-bundle.p7b.der']) {
      assert.deepEqual(readCertificates(fs.readFileSync(ownFixture(bundle))), [a, vectorCert('sast-b.pem')], bundle);
    }
    assert.deepEqual(readCertificates(Buffer.concat([a, vectorCert('ccm.pem')])), [a, vectorCert('ccm.pem')]);
  });

  it('keeps awkward names intact: quotes, separators, UTF-8, email', () => {
    const info = certificateInfo(readCertificates(fs.readFileSync(ownFixture('awkward-dn.pem')))[0]!);
    assert.deepEqual(info.subjectAttrs, [['CN', 'Zoë "quoted" host;one'], ['E', 'admin@example.net'], ['O', 'Example Voice, Inc.'], ['C', 'NZ']]);
    assert.equal(info.subject, 'CN="Zoë \\"quoted\\" host;one",E=admin@example.net,O="Example Voice, Inc.",C=NZ');
  });

  it('refuses what is not a certificate with an OpenctlError', () => {
    for (const junk of [Buffer.alloc(0), Buffer.from('hello'), Buffer.from('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), Buffer.from('3003020101', 'hex')]) {
      assert.throws(() => readCertificates(junk), OpenctlError);
    }
    assert.throws(() => certificateInfo(Buffer.from('junk')), OpenctlError);
  });
});
