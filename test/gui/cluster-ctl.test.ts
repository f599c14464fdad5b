import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { clusterCtlRecords } from '../../src/gui/service/cluster';
import { Role } from '../../src/formats/model';
import { vector } from '../helpers/paths';

const cert = (name: string) => vector('certs', name);
const der = (name: string) => new X509Certificate(fs.readFileSync(cert(name))).raw.toString('base64');

describe("gui: the Cluster screen's CTL records are the CLI's (ctl build --cluster)", () => {
  it('lists the itlSigner as SAST and leaves TVS and application servers to the ITLs', async () => {
    const records = await clusterCtlRecords({
      sast: [{ role: Role.SAST, source: cert('sast-a.pem') }, { role: Role.SAST, source: cert('sast-b.pem') }],
      servers: [
        {
          name: 'cucm-pub',
          dns: 'cucm-pub.example.net',
          itlSigner: cert('itlrecovery.pem'),
          certificates: [
            { role: Role.CCM_TFTP, source: cert('ccm-tftp.pem') },
            { role: Role.TVS, source: cert('tvs-ec.pem') },
            { role: Role.CAPF, source: cert('capf.pem') },
            { role: Role.APP_SERVER, source: cert('device-lsc.pem') },
          ],
        },
      ],
    });
    const added = records.map((r) => (r.from === 'certificate' ? r : assert.fail('only new records')));
    assert.deepEqual(added.map((r) => r.role), [Role.SAST, Role.SAST, Role.SAST, Role.CCM_TFTP, Role.CAPF]);
    assert.equal(added[2]!.certificate, der('itlrecovery.pem'));
  });
});
