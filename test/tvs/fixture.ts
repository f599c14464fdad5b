import { promises as fs } from 'node:fs';
import { execFile } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildTrustList } from '../../src/formats';
import { Role } from '../../src/formats/model';
import { makeCerts, type TestCert } from '../helpers/pki';
import { REPO_ROOT } from '../helpers/paths';

/** Real keys and files for the TVS tests: the TVS identity, certificates to vouch for, an ITL naming TVS. */
export interface TvsPki {
  tvs: TestCert;
  otherTvs: TestCert;
  app: TestCert;
  ccm: TestCert;
  stranger: TestCert;
  itlRecovery: TestCert;
}

let cached: Promise<TvsPki> | undefined;
export function tvsPki(): Promise<TvsPki> {
  cached ??= makeCerts({
    tvs: { cn: 'tvs.cucm-pub.example.net' },
    otherTvs: { cn: 'tvs.impostor.example.net' },
    app: { cn: 'apps.example.net' },
    ccm: { cn: 'cucm-pub.example.net' },
    stranger: { cn: 'stranger.example.net' },
    itlRecovery: { cn: 'ITLRECOVERY_cucm-pub' },
  });
  return cached;
}

/** An ITL as CUCM builds it: signed by ITLRecovery, listing CCM+TFTP and TVS. */
export async function itlWithTvs(p: TvsPki, tvs: TestCert = p.tvs): Promise<Buffer> {
  return buildTrustList({
    kind: 'itl',
    filename: 'ITLFile.tlv',
    signer: p.itlRecovery.signer,
    records: [
      { role: Role.CCM_TFTP, certificate: p.ccm.certDer },
      { role: Role.TVS, certificate: tvs.certDer },
    ],
    timestamp: 1_700_000_000,
  });
}

export async function tempDir(prefix = 'openctl-tvs-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export const EMULATOR = path.join(REPO_ROOT, 'test', 'tvs', 'phone_emulator.py');

export interface PhoneAnswer {
  status?: number;
  roles?: number[];
  ttl?: number;
  session?: number;
  hex?: string;
  error?: string;
}

/** Ask like a phone, through the independent Python emulator. */
export function phoneAsks(
  port: number,
  tvsCertPem: string,
  certDerFile: string,
  options: { device?: string; tls10?: boolean; chunk?: number; session?: number } = {},
): Promise<PhoneAnswer> {
  const args = [EMULATOR, '127.0.0.1', String(port), tvsCertPem, options.device ?? 'CP-8845-SEP0011223344AA', certDerFile];
  if (options.tls10) args.push('--tls1.0');
  if (options.chunk) args.push('--chunk', String(options.chunk));
  if (options.session !== undefined) args.push('--session', String(options.session));
  return new Promise((resolve, reject) => {
    execFile('python3', args, { timeout: 30_000 }, (err, stdout) => {
      const text = stdout.trim();
      if (!text) return reject(err ?? new Error('the phone emulator printed nothing'));
      resolve(JSON.parse(text) as PhoneAnswer);
    });
  });
}
