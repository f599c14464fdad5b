import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import type { CliIO } from '../../src/cli/io';
import { loadCertificateSpec, openSigner } from '../../src/cli/signer-spec';
import { digest } from '../../src/crypto/hash';
import { ExitCode, OpenctlError } from '../../src/util/errors';
import { vector } from '../helpers/paths';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';

describe('SIGNER and certificate arguments (files and pkcs11: URIs)', function () {
  this.timeout(60_000);
  let hsm: SoftHsmFixture;
  const io = (env: NodeJS.ProcessEnv = {}): CliIO => ({ stdout: new PassThrough(), stderr: new PassThrough(), stdin: Readable.from([]), env, cwd: vector('certs') });

  before(async () => {
    hsm = await createSoftHsm({ tokens: [{ label: 'eToken-B', keyBits: 1024 }] });
    hsm.activate();
  });
  after(() => hsm.cleanup());

  it('opens a PEM SIGNER relative to the working folder', async () => {
    const signer = await openSigner('sast-a.pem', { io: io(), interactive: false });
    assert.match(signer.description, /^pem:.*sast-a\.pem$/);
    assert.equal((await signer.sign(digest('sha1', Buffer.from('x')), 'sha1')).length, signer.keyBits / 8);
  });

  it('opens a pkcs11: SIGNER with the PIN from the environment', async () => {
    const signer = await openSigner('pkcs11:token=eToken-B', { io: io({ OPENCTL_PIN_ETOKEN_B: hsm.pin }), interactive: false, modules: [hsm.modulePath] });
    try {
      assert.equal(signer.keyBits, 1024);
      assert.equal(signer.tokenSerial, hsm.tokens[0].serial);
    } finally {
      await signer.close?.();
    }
  });

  it('loads a certificate from a file or from a token (no PIN needed)', async () => {
    const fromFile = await loadCertificateSpec('ccm-tftp.pem', { io: io(), interactive: false });
    assert.ok(new X509Certificate(fromFile).subject.length > 0);
    const fromToken = await loadCertificateSpec('pkcs11:token=eToken-B;object=SAST', { io: io(), interactive: false, modules: [hsm.modulePath] });
    assert.deepEqual(fromToken, hsm.tokens[0].keys[0].certificate);
  });

  it('names the file and the problem when a certificate file is missing or not one', async () => {
    await assert.rejects(loadCertificateSpec('missing.pem', { io: io(), interactive: false }), (e: unknown) => e instanceof OpenctlError && e.exitCode === ExitCode.BadInput && /missing\.pem: cannot read the certificate: no such file$/.test(e.message));
    const notCert = `${hsm.dir}/not-a-cert.txt`;
    fs.writeFileSync(notCert, 'hello');
    await assert.rejects(loadCertificateSpec(notCert, { io: io(), interactive: false }), (e: unknown) => e instanceof OpenctlError && e.message.startsWith(`${notCert}: `));
  });
});
