import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI_BIN, REPO_ROOT, vector } from '../helpers/paths';
import { runCliCaptured, runCliProcess } from '../helpers/run-cli';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('openctl tokens, and signing with tokens through the CLI (SoftHSM)', function () {
  this.timeout(60_000);
  let hsm: SoftHsmFixture;
  let work: string;

  before(async () => {
    hsm = await createSoftHsm({
      tokens: [
        { label: 'eToken-A', keyBits: 2048, subject: 'CN=SAST-eToken-A,OU=IPCBU,O=openctl test,C=US' },
        { label: 'eToken-B', keyBits: 2048, subject: 'CN=SAST-eToken-B,OU=IPCBU,O=openctl test,C=US' },
      ],
    });
    hsm.activate();
    work = path.join(hsm.dir, 'work');
    fs.mkdirSync(work);
  });
  after(() => hsm.cleanup());

  it('lists tokens as JSON in-process', async () => {
    const r = await runCliCaptured(['tokens', '--json', '--module', hsm.modulePath]);
    assert.equal(r.code, 0, r.stderr);
    const { modules } = JSON.parse(r.stdout);
    assert.equal(modules.length, 1);
    assert.equal(modules[0].path, hsm.modulePath);
    const slots = modules[0].slots as Array<{ token: { label: string; serial: string; flags: { loginRequired: boolean } }; objects: Array<{ id: string; label: string; keyBits: number; certificate: { subject: string } }> }>;
    assert.deepEqual(slots.map((s) => s.token.label).sort(), ['eToken-A', 'eToken-B']);
    const a = slots.find((s) => s.token.label === 'eToken-A')!;
    assert.equal(a.token.serial, hsm.tokens[0].serial);
    assert.equal(a.token.flags.loginRequired, true);
    assert.deepEqual(a.objects.map((o) => [o.id, o.label, o.keyBits, o.certificate.subject]), [['01', 'SAST', 2048, 'CN=SAST-eToken-A,OU=IPCBU,O=openctl test,C=US']]);
  });

  it('lists tokens as text with their URIs, and traces PKCS#11 calls with --debug', async () => {
    const r = await runCliCaptured(['--debug', 'tokens', '--module', hsm.modulePath]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /token "eToken-A"  serial [0-9a-f]+  SoftHSM project SoftHSM v2  \[login required\]/);
    assert.ok(r.stdout.includes(`pkcs11:token=eToken-B;serial=${hsm.tokens[1].serial}`));
    assert.match(r.stdout, /id 01  "SAST"  RSA 2048  CN=SAST-eToken-B,OU=IPCBU,O=openctl test,C=US  \(private key: after login\)/);
    assert.match(r.stderr, /^pkcs11: libsofthsm2\.so C_Initialize -> CKR_OK/m);
    assert.match(r.stderr, /^pkcs11: libsofthsm2\.so C_GetTokenInfo slot=\d+ -> CKR_OK/m);
    assert.match(r.stderr, /^pkcs11: libsofthsm2\.so C_Finalize -> CKR_OK/m);
  });

  it('fails with exit 3 and one line when the module named cannot be loaded', async () => {
    for (const module of ['/nonexistent/libeTPkcs11.so', vector('certs', 'sast-a.pem')]) {
      const r = await runCliCaptured(['tokens', '--module', module]);
      assert.equal(r.code, 3);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(r.stderr.startsWith(`openctl: ${module}: `), r.stderr);
    }
  });

  it('lists tokens from a spawned process (module from OPENCTL_PKCS11_MODULE)', async () => {
    const r = await runCliProcess(['tokens', '--json'], { env: hsm.env({ OPENCTL_PKCS11_MODULE: hsm.modulePath }) });
    assert.equal(r.code, 0, r.stderr);
    const labels = JSON.parse(r.stdout).modules[0].slots.map((s: { token: { label: string } }) => s.token.label);
    assert.deepEqual(labels.sort(), ['eToken-A', 'eToken-B']);
  });

  it('builds a CTL signed on eToken-A listing both tokens as SAST, which verify accepts', async () => {
    const out = path.join(work, 'CTLFile.tlv');
    const r = await runCliProcess(
      ['ctl', 'build', '--out', out, '--signer', 'pkcs11:token=eToken-A', '--sast', 'pkcs11:token=eToken-B', '--ccm-tftp', vector('certs', 'ccm-tftp.pem')],
      { env: hsm.env({ OPENCTL_PKCS11_MODULE: hsm.modulePath, OPENCTL_PIN_ETOKEN_A: hsm.pin }) },
    );
    assert.equal(r.code, 0, r.stderr);
    const v = await runCliCaptured(['verify', out]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const show = await runCliCaptured(['show', '--json', out]);
    const report = JSON.parse(show.stdout);
    const sastSubjects = report.records
      .filter((x: { roleName: string }) => x.roleName === 'SAST')
      .map((x: { subject: string }) => x.subject)
      .sort();
    const tokenSubjects = hsm.tokens.map((t) => new X509Certificate(t.keys[0].certificate!).subject.split('\n').join(','));
    assert.deepEqual(sastSubjects, tokenSubjects.sort());
  });

  it('asks for the PIN on a real terminal without echoing it', async function () {
    if (!hasScript()) this.skip();
    const file = path.join(work, 'SEP0001.cnf.xml');
    fs.writeFileSync(file, '<device/>');
    const command = [process.execPath, CLI_BIN, 'sign', '--signer', 'pkcs11:token=eToken-A', '--force', file].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      cwd: REPO_ROOT,
      env: hsm.env({ OPENCTL_PKCS11_MODULE: hsm.modulePath }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString('utf8');
      if (output.includes('PIN for eToken-A: ') && !child.stdin.writableEnded) child.stdin.end(`${hsm.pin}\r`);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, output);
    assert.ok(output.includes('PIN for eToken-A: '), output);
    assert.ok(!output.includes(hsm.pin), 'the PIN is not echoed');
    assert.ok(fs.existsSync(`${file}.sgn`));
  });

  it('prints insert events with tokens --watch until interrupted', async () => {
    const child = spawn(process.execPath, [CLI_BIN, 'tokens', '--watch', '--json', '--module', hsm.modulePath], {
      env: hsm.env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Array<{ type: string; token: { label: string } }> = [];
    let buffered = '';
    const seen = (type: string, label: string) => lines.some((l) => l.type === type && l.token.label === label);
    const waitFor = (type: string, label: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => (seen(type, label) ? resolve() : undefined);
        child.stdout.on('data', (c: Buffer) => {
          buffered += c.toString('utf8');
          let nl;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            lines.push(JSON.parse(buffered.slice(0, nl)));
            buffered = buffered.slice(nl + 1);
          }
          check();
        });
        child.on('close', () => reject(new Error(`watch ended before ${type} ${label}: ${JSON.stringify(lines)}`)));
        check();
      });
    try {
      await waitFor('present', 'eToken-B');
      const { provisionTokens } = await import('../../src/pkcs11/provision');
      const inserted = waitFor('inserted', 'eToken-C');
      await provisionTokens({ dir: hsm.dir, tokens: [{ label: 'eToken-C', keyBits: 1024 }], pin: hsm.pin, soPin: hsm.soPin });
      await inserted;
    } finally {
      child.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('close', resolve)));
    assert.equal(code, 130);
  });
});
