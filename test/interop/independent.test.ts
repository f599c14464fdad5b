import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliCaptured } from '../helpers/run-cli';
import { REPO_ROOT, vector } from '../helpers/paths';

const CHECKER = path.join(REPO_ROOT, 'test', 'interop', 'independent_check.py');
const cert = (name: string) => vector('certs', name);

/** What openctl writes, read by a second implementation (Python from the byte layout, signatures by openssl). */
function independentlyVerified(file: string, certificate?: string): string {
  return execFileSync('python3', [CHECKER, file, ...(certificate ? [certificate] : [])], { encoding: 'utf8' });
}

describe('interop: files openctl builds verify with an independent reader and openssl', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-interop-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the independent vectors the same way (sanity check of the checker)', () => {
    assert.match(independentlyVerified(vector('CTLFile-sha1.tlv')), /7 records.*Verified OK/);
    assert.doesNotMatch(independentlyVerified(vector('CTLFile-tampered.tlv')), /Verified OK/);
  });

  const cases: Array<[string, string[], string, string | undefined]> = [
    ['CTL, SHA-256, CUCM DNs', ['ctl', 'build', '--out', 'CTLFile.tlv', '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem'), '--ccm-tftp', `${cert('ccm-tftp.pem')}@cucm-pub@10.0.0.5`, '--tvs', cert('tvs-ec.pem'), '--dn-style', 'cucm', '--digest', 'sha256'], 'CTLFile.tlv', undefined],
    ['ITL, SHA-512, signer version 1.1', ['itl', 'build', '--out', 'ITLFile.tlv', '--signer', cert('itlrecovery.pem'), '--ccm-tftp', cert('ccm-tftp.pem'), '--signer-version', '1.1', '--digest', 'sha512'], 'ITLFile.tlv', undefined],
    ['signed config, SHA-512', ['sign', 'SEP001122334455.cnf.xml', '--signer', cert('ccm-tftp.pem'), '--digest', 'sha512'], 'SEP001122334455.cnf.xml.sgn', cert('ccm-tftp.pem')],
    ['encrypted config', ['encrypt', 'SEP001122334455.cnf.xml', '--signer', cert('ccm-tftp.pem'), '--device-cert', cert('device-lsc.pem'), '--out-dir', 'enc'], 'enc/SEP001122334455.cnf.xml.enc.sgn', cert('ccm-tftp.pem')],
  ];
  for (const [what, args, output, certificate] of cases) {
    it(what, async () => {
      fs.copyFileSync(vector('configs/SEP001122334455.cnf.xml'), path.join(dir, 'SEP001122334455.cnf.xml'));
      fs.mkdirSync(path.join(dir, 'enc'), { recursive: true });
      const inDir = new Set(['CTLFile.tlv', 'ITLFile.tlv', 'SEP001122334455.cnf.xml', 'enc']);
      const abs = args.map((a) => (inDir.has(a) ? path.join(dir, a) : a));
      const r = await runCliCaptured([...abs, '--force']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(independentlyVerified(path.join(dir, output), certificate), /Verified OK/);
    });
  }
});
