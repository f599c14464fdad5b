import * as fs from 'node:fs';
import { buildSignedFile, buildTrustList, hashRecord, recordFromSpec, stubRecord } from '../../../src/formats';
import { vector } from '../../helpers/paths';
import { certPath, ownFixture, vectorCert } from './fixtures';
import { testSigner } from './test-signer';

/**
 * Fixtures for what the vectors lack, made by openctl's own builder (RSA PKCS#1 v1.5 is deterministic, so the
 * same inputs give the same bytes: a test rebuilds them and compares). Regenerate with
 * `node dist/test/formats/support/own-fixtures.js` after a deliberate format change.
 */
export const TIMESTAMP = 1767225600; // 2026-01-01 00:00:00 UTC

export async function buildOwnFixtures(): Promise<Record<string, Buffer>> {
  const sastA = testSigner(certPath('sast-a.pem'));
  const recovery = testSigner(certPath('itlrecovery.pem'));
  const tftp = testSigner(certPath('ccm-tftp.pem'));
  const ccmTftp = { role: 2, certificate: vectorCert('ccm-tftp.pem'), dnsName: 'cucm-pub.example.net', ipv4: '10.0.0.5' };
  return {
    'CTLFile-sha256.tlv': await buildTrustList({
      kind: 'ctl',
      filename: 'CTLFile.tlv',
      signer: sastA,
      hash: 'sha256',
      timestamp: TIMESTAMP,
      records: [{ role: 0, certificate: vectorCert('sast-a.pem') }, { role: 0, certificate: vectorCert('sast-b.pem') }, ccmTftp, { role: 4, certificate: vectorCert('capf.pem') }],
    }),
    'CTLFile-cucm-dn-v1.1.tlv': await buildTrustList({
      kind: 'ctl',
      filename: 'CTLFile.tlv',
      signer: sastA,
      hash: 'sha512',
      signerVersion: { major: 1, minor: 1 },
      dnStyle: 'cucm',
      timestamp: TIMESTAMP,
      records: [{ role: 0, certificate: vectorCert('sast-b.pem') }, ccmTftp, { role: 21, certificate: vectorCert('tvs-ec.pem'), dnsName: 'cucm-pub.example.net' }],
    }),
    'ITLFile-stub-hash.tlv': await buildTrustList({
      kind: 'itl',
      filename: 'ITLFile.tlv',
      signer: recovery,
      hash: 'sha1',
      timestamp: TIMESTAMP,
      extraHeaderElements: [{ tag: 40, value: Buffer.from('0102', 'hex') }],
      records: [
        ccmTftp,
        stubRecord({ role: 2, ipv4: '10.0.0.6' }),
        hashRecord({ role: 21, certificate: vectorCert('tvs-ec.pem'), dnsName: 'cucm-sub1.example.net', hash: 'sha256' }),
        recordFromSpec({ role: 4, certificate: vectorCert('capf.pem'), dnsName: 'cucm-pub.example.net' }, { extraElements: [{ tag: 30, value: Buffer.from('beef', 'hex') }] }),
      ],
    }),
    'Ringlist-sha256.xml.sgn': await buildSignedFile({
      body: fs.readFileSync(vector('configs', 'Ringlist.xml')),
      filename: 'Ringlist.xml.sgn',
      signer: tftp,
      hash: 'sha256',
      timestamp: TIMESTAMP,
    }),
  };
}

if (require.main === module) {
  void buildOwnFixtures().then((files) => {
    for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(ownFixture(name), bytes);
    process.stdout.write(`wrote ${Object.keys(files).join(', ')}\n`);
  });
}
