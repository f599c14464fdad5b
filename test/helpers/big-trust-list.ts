import * as path from 'node:path';
import { buildTrustList, Role, type RecordSpec } from '../../src/formats';
import { certDer, testSigner } from '../formats/support/test-signer';
import { VECTORS } from './paths';

const CERTS: ReadonlyArray<[string, number]> = [
  ['sast-b.pem', Role.SAST],
  ['ccm-tftp.pem', Role.CCM_TFTP],
  ['ccm.pem', Role.CCM],
  ['capf.pem', Role.CAPF],
  ['tvs-ec.pem', Role.TVS],
  ['tftp-4096.pem', Role.TFTP],
  ['itlrecovery.pem', Role.APP_SERVER],
];

/**
 * An n-record CTL (n >= 1) signed by vectors/certs/sast-a.pem (SHA-1, fixed timestamp): the signer's SAST
 * record first, then the vector certificates in turn with distinct DNS names and addresses. For CLI tests and
 * the benchmark (`openctl show` on 1,000 records).
 */
export async function makeBigTrustList(n: number): Promise<Buffer> {
  const signer = testSigner(path.join(VECTORS, 'certs', 'sast-a.pem'));
  const ders = CERTS.map(([pem, role]) => ({ der: certDer(path.join(VECTORS, 'certs', pem)), role }));
  const records: RecordSpec[] = [{ role: Role.SAST, certificate: Buffer.from(signer.certificate) }];
  for (let i = 1; i < n; i++) {
    const { der, role } = ders[(i - 1) % ders.length]!;
    records.push({ role, certificate: der, dnsName: `node${i}.example.net`, ipv4: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` });
  }
  return buildTrustList({ kind: 'ctl', filename: 'CTLFile.tlv', signer, records, timestamp: 1767225600 });
}
