import * as fs from 'node:fs';
import * as path from 'node:path';
import { vector } from './paths';

export interface LabServer {
  name: string;
  dns: string;
  ip: string;
  itlSigner?: string;
  certificates: Array<{ role: string | number; cert: string }>;
}

const cert = (name: string) => vector('certs', name);

/** The vectors' publisher: CCM+TFTP, signing its ITLs with the ITLRecovery vector, plus `more` certificates. */
export function labPublisher(more: LabServer['certificates'] = []): LabServer {
  return {
    name: 'cucm-pub', dns: 'cucm-pub.example.net', ip: '10.0.0.5', itlSigner: cert('itlrecovery.pem'),
    certificates: [{ role: 'ccm-tftp', cert: cert('ccm-tftp.pem') }, ...more],
  };
}

/** Write `DIR/cluster.json` for the vectors' two SAST tokens and these servers; returns its path. */
export function writeLabCluster(dir: string, servers: LabServer[]): string {
  const file = path.join(dir, 'cluster.json');
  fs.writeFileSync(file, JSON.stringify({ name: 'lab', sast: [cert('sast-a.pem'), cert('sast-b.pem')], servers }));
  return file;
}
