import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliProcess, runCliCaptured } from '../helpers/run-cli';
import { vector } from '../helpers/paths';
import { makeCert } from '../helpers/pki';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';

/** Every command that signs, as args for a given signer (and its extra options). */
function signingCommands(dir: string): Array<{ name: string; args: (signer: string[]) => string[] }> {
  const config = path.join(dir, 'SEP001122334455.cnf.xml');
  return [
    { name: 'sign', args: (s) => ['sign', config, ...s, '--out-dir', path.join(dir, 'signed'), '--force'] },
    { name: 'encrypt', args: (s) => ['encrypt', config, ...s, '--device-cert', vector('certs/device-lsc.pem'), '--out-dir', path.join(dir, 'encrypted'), '--force'] },
    { name: 'ctl build', args: (s) => ['ctl', 'build', ...s, '--sast', vector('certs/sast-a.pem'), '--sast', vector('certs/sast-b.pem'), '--out', path.join(dir, 'CTLFile.tlv'), '--force'] },
    { name: 'itl build', args: (s) => ['itl', 'build', ...s, '--tvs', vector('certs/tvs-ec.pem'), '--out', path.join(dir, 'ITLFile.tlv'), '--force'] },
  ];
}

describe('signing commands: the same signer options, the same signer warnings, errors named by the right file', function () {
  this.timeout(180_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-signer-consistency-'));
    fs.mkdirSync(path.join(dir, 'signed'));
    fs.mkdirSync(path.join(dir, 'encrypted'));
    fs.writeFileSync(path.join(dir, 'SEP001122334455.cnf.xml'), '<device><x>1</x></device>\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('--module on every signing command (a real SoftHSM token)', () => {
    let hsm: SoftHsmFixture;
    before(async () => {
      hsm = await createSoftHsm({ tokens: [{ label: 'eToken-A', keyBits: 2048, subject: 'CN=SAST-eToken-A-module-test' }] });
    });
    after(() => hsm.cleanup());

    for (const index of [0, 1, 2, 3]) {
      it(`${['sign', 'encrypt', 'ctl build', 'itl build'][index]} takes --module PATH (the environment names no usable module)`, async () => {
        const { name, args } = signingCommands(dir)[index];
        const env = hsm.env({ OPENCTL_PKCS11_MODULE: path.join(dir, 'no-such-module.so'), OPENCTL_PIN_ETOKEN_A: hsm.pin, OPENCTL_CONFIG: path.join(dir, 'none.json') });
        const r = await runCliProcess(args(['--signer', 'pkcs11:token=eToken-A', '--module', hsm.modulePath]), { env, timeoutMs: 60_000 });
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
        // Without --module the same command fails on the module the environment names: --module did the work.
        const without = await runCliProcess(args(['--signer', 'pkcs11:token=eToken-A']), { env, timeoutMs: 60_000 });
        assert.equal(without.code, 3, `${name} without --module: ${without.stderr}`);
      });
    }
  });

  it('ctl build, itl build, sign, encrypt and batch sign all warn about an expired signer, as verify does', async () => {
    const expired = await makeCert({ cn: 'expired-signer', notBefore: new Date('2015-01-01T00:00:00Z'), notAfter: new Date('2016-01-01T00:00:00Z') });
    const { signer } = await expired.write(dir, 'expired');
    for (const { name, args } of signingCommands(dir)) {
      const r = await runCliCaptured(args(['--signer', signer]));
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.match(r.stderr, /^openctl: warning: the signer certificate "expired-signer" expired on 2016-01-01$/m, `${name}: ${r.stderr}`);
    }
    const v = await runCliCaptured(['verify', path.join(dir, 'CTLFile.tlv')]);
    assert.match(v.stdout + v.stderr, /the signer certificate "expired-signer" expired on 2016-01-01/);
    // batch sign warns once, before the first file, and still signs (phones ignore the signer's dates).
    const src = path.join(dir, 'batch-src');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'SEP00112233445A.cnf.xml'), '<device/>\n');
    const b = await runCliCaptured(['batch', 'sign', src, '--out', path.join(dir, 'batch-out'), '--signer', signer, '--force']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stderr.match(/^openctl: warning: the signer certificate "expired-signer" expired on 2016-01-01$/gm)?.length, 1, b.stderr);
    assert.ok(fs.existsSync(path.join(dir, 'batch-out', 'SEP00112233445A.cnf.xml.sgn')));
  });

  it('a certificate that does not match the key is named by the certificate file, not the key or the output', async () => {
    const mine = await makeCert({ cn: 'key-owner' });
    const { signer: keyFile } = await mine.write(dir, 'key-owner');
    for (const { name, args } of signingCommands(dir)) {
      const r = await runCliCaptured(args(['--key', keyFile, '--cert', vector('certs/ccm.pem')]));
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.equal(r.stderr, `openctl: ${vector('certs/ccm.pem')}: the certificate does not belong to the private key ${keyFile}\n`, name);
    }
  });

  it('encrypt names the phone certificate file when it is not one, or holds a key configs cannot be encrypted to', async () => {
    const { signer } = await (await makeCert({ cn: 'tftp-for-encrypt' })).write(dir, 'tftp');
    const notCert = path.join(dir, 'not-a-cert.pem');
    fs.writeFileSync(notCert, 'hello\n');
    const config = path.join(dir, 'SEP001122334455.cnf.xml');
    const bad = await runCliCaptured(['encrypt', config, '--signer', signer, '--device-cert', notCert, '--out-dir', path.join(dir, 'encrypted'), '--force']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, new RegExp(`^openctl: ${notCert.replace(/[.]/g, '\\.')}: not a certificate`));
    const ec = await runCliCaptured(['encrypt', config, '--signer', signer, '--device-cert', vector('certs/tvs-ec.pem'), '--out-dir', path.join(dir, 'encrypted'), '--force']);
    assert.equal(ec.code, 2);
    assert.equal(ec.stderr, `openctl: ${vector('certs/tvs-ec.pem')}: the phone certificate holds an EC key: configs are encrypted for RSA keys only\n`);
  });
});
