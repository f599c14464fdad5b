import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { promisify } from 'node:util';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { runCliCaptured } from '../helpers/run-cli';
import { createSoftHsm, SOFTHSM_MODULE, type SoftHsmFixture } from '../helpers/softhsm';
import { testp11Available, testp11Path, writeControl } from '../helpers/testp11';
import { usePostgres } from '../helpers/postgres';
import { issue, pem, type Issued } from './pki';
import { eventually, startServe, type ServeProcess } from './support';

const run = promisify(execFile);
type X509Crypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;

async function commonPki(dir: string) {
  const root = await issue({ subject: 'CN=openctl test root,O=Example,C=FR', ca: true });
  const capfTls = await issue({ subject: 'CN=CAPF-lab,O=Example Corp' });
  const rootFiles = await root.write(dir, 'root');
  const capfFiles = await capfTls.write(dir, 'capf');
  return { root, capfTls, rootCert: rootFiles.cert, capf: capfFiles.bundle, capfCert: capfFiles.cert };
}

function enrollArgs(port: number, device: string, capfCert: string, out: string, extra: string[] = []): string[] {
  fs.mkdirSync(out, { recursive: true });
  return ['capf', 'enroll', `127.0.0.1:${port}`, device, '--capf-cert', capfCert, '--out', out, '--json', ...extra];
}

describe('capf: the issuing CA key on a SoftHSM token (removed and re-inserted while serving)', function () {
  this.timeout(120_000);
  let dir: string;
  let hsm: SoftHsmFixture;
  let server: ServeProcess;
  let control: string;
  let pki: Awaited<ReturnType<typeof commonPki>>;
  let issuingCert: string;
  let metricsUrl: string;

  before(async function () {
    if (!testp11Available()) {
      if (process.env.CI) throw new Error('native-bindings not built');
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-capf-token-'));
    hsm = await createSoftHsm({ tokens: [{ label: 'CAPF-CA', keys: [{ keyBits: 2048, label: 'issuing', subject: 'CN=token self-signed,O=Example' }] }] });
    pki = await commonPki(dir);
    // The token key becomes an intermediate CA under the PEM root: its certificate is made here, the key stays on the token.
    const tokenKey = new X509Certificate(hsm.tokens[0]!.keys[0]!.certificate!).publicKey.export({ type: 'spki', format: 'der' });
    const caCert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: '0a0b0c0d',
        subject: 'CN=Token issuing CA,O=Example Token,OU=Voice,C=DE',
        issuer: new x509.X509Certificate(pki.root.der).subjectName,
        notBefore: new Date(Date.now() - 86_400_000),
        notAfter: new Date(Date.now() + 365 * 86_400_000),
        publicKey: tokenKey,
        signingKey: pki.root.keys.privateKey as never,
        signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as never,
        extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
      },
      webcrypto as unknown as X509Crypto,
    );
    issuingCert = path.join(dir, 'token-ca.crt');
    fs.writeFileSync(issuingCert, pem('CERTIFICATE', Buffer.from(caCert.rawData)));
    control = path.join(dir, 'testp11.control');
    writeControl(control, {});
    fs.mkdirSync(path.join(dir, 'out'));
    const db = path.join(dir, 'capf.db');
    assert.equal((await runCliCaptured(['capf', 'device', 'add', '--db', db, 'SEP00AABBCC0001', 'SEP00AABBCC0002', 'SEP00AABBCC0003'])).code, 0);
    server = await startServe(
      ['--db', db, '--signer', pki.capf, '--issuer', 'pkcs11:token=CAPF-CA', '--issuer-cert', issuingCert, '--out', path.join(dir, 'out'), '--metrics', '127.0.0.1:0'],
      hsm.env({
        OPENCTL_PKCS11_MODULE: testp11Path(),
        OPENCTL_TESTP11_TARGET: SOFTHSM_MODULE,
        OPENCTL_TESTP11_CONTROL: control,
        OPENCTL_PIN: hsm.pin,
      }),
    );
    await eventually('the metrics line', () => /metrics on http:/.test(server.stdout()));
    metricsUrl = /metrics on (http:\S+)\/metrics/.exec(server.stdout())![1]!;
  });

  after(async () => {
    if (server) assert.equal(await server.stop(), 0);
    hsm?.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const enrollOne = (device: string) => runCliCaptured(enrollArgs(server.port, device, pki.capfCert, path.join(dir, 'phones', device)));
  const health = async () => {
    const r = await fetch(`${metricsUrl}/health`);
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it('signs the LSC on the token; it verifies up to the PEM root through the token CA (openssl verify -untrusted)', async () => {
    const r = await enrollOne('SEP00AABBCC0001');
    assert.equal(r.code, 0, r.stderr);
    const lscFile = path.join(dir, 'phones', 'SEP00AABBCC0001', 'SEP00AABBCC0001.pem');
    const lsc = new X509Certificate(fs.readFileSync(lscFile));
    assert.equal(lsc.issuer, 'CN=Token issuing CA\nO=Example Token\nOU=Voice\nC=DE');
    assert.equal(lsc.subject, 'CN=SEP00AABBCC0001\nO=Example Token\nOU=Voice\nC=DE');
    const { stdout } = await run('openssl', ['verify', '-CAfile', pki.rootCert, '-untrusted', issuingCert, lscFile]);
    assert.match(stdout, /: OK$/m);
    assert.equal((await health()).status, 200);
    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    assert.match(metrics, /^openctl_capf_lsc_issued_total 1$/m);
    assert.match(metrics, /^openctl_capf_requests_total\{verdict="installed"\} 1$/m);
  });

  it('a removed token fails that enrolment (retry later, a clear log line, health 503) and works again once it is back', async () => {
    writeControl(control, { token_label: 'CAPF-CA', removed: true });
    const failed = await enrollOne('SEP00AABBCC0002');
    assert.equal(failed.code, 4, failed.stderr);
    assert.match(failed.stdout, /"status": "busy"/);
    await eventually('the warning line', () => server.events('warning').some((e) => /SEP00AABBCC0002: the issuing key failed: token CAPF-CA/.test(String(e.message))));
    const h = await health();
    assert.equal(h.status, 503);
    assert.match(String(h.body.issuer), /failing/);
    const still = await enrollOne('SEP00AABBCC0002');
    assert.equal(still.code, 4, 'still out: still failing, no crash');
    const listed = JSON.parse((await runCliCaptured(['capf', 'device', 'list', '--db', path.join(dir, 'capf.db'), '--json'])).stdout) as { devices: Array<{ device: string; operation: string }> };
    assert.equal(listed.devices.find((d) => d.device === 'SEP00AABBCC0002')!.operation, 'install', 'still pending');

    writeControl(control, {});
    const back = await enrollOne('SEP00AABBCC0002');
    assert.equal(back.code, 0, back.stderr + server.stderr().slice(-2000));
    assert.equal((await health()).status, 200);
    const again = await enrollOne('SEP00AABBCC0003');
    assert.equal(again.code, 0);
  });
});

describe('capf: limits (retry later when full, silent peers time out) and a PostgreSQL store', function () {
  this.timeout(120_000);
  let dir: string;
  let pki: Awaited<ReturnType<typeof commonPki>>;
  let issuing: Issued;
  let issuerFile: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-capf-limits-'));
    pki = await commonPki(dir);
    issuing = await issue({ subject: 'CN=EC issuing CA,O=Example EC,C=FR', ca: true, kind: 'ec', curve: 'P-384', issuer: pki.root });
    issuerFile = (await issuing.write(dir, 'issuing-ec')).bundle;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a full server answers "retry later" (command 16); a silent phone is cut after --timeout; then it serves again', async () => {
    const db = path.join(dir, 'limits.db');
    const out = path.join(dir, 'out-limits');
    fs.mkdirSync(out);
    assert.equal((await runCliCaptured(['capf', 'device', 'add', '--db', db, 'SEP00AABBCC0101', '--key', 'ec:p256'])).code, 0);
    // --timeout 4: long enough for the second client (a whole CLI process) to arrive while the silent phone still
    // holds the only session, even on a slow machine.
    const server = await startServe(['--db', db, '--signer', pki.capf, '--issuer', issuerFile, '--out', out, '--max-sessions', '1', '--timeout', '4']);
    try {
      // A phone that takes the auth request and says nothing. Listen for the end at once: it may come while the
      // busy client below runs.
      const silent = tls.connect({ port: server.port, host: '127.0.0.1', rejectUnauthorized: false });
      silent.on('error', () => undefined);
      const closedAt = new Promise<number>((resolve) => silent.once('close', () => resolve(Date.now())));
      const heard = await new Promise<Buffer>((resolve) => silent.once('data', resolve));
      const heardAt = Date.now();
      assert.equal(heard[1], 1, 'auth request');
      const busy = await runCliCaptured(enrollArgs(server.port, 'SEP00AABBCC0101', pki.capfCert, path.join(dir, 'p1')));
      assert.equal(busy.code, 4, busy.stdout + busy.stderr);
      assert.match(busy.stdout, /"status": "busy"/);
      await eventually('the busy line', () => server.events('busy').length >= 1);
      const closed = (await closedAt) - heardAt;
      assert.ok(closed > 3000 && closed < 9000, `cut after about 4 s, not before (took ${closed} ms)`);
      await eventually('the timeout line', () => server.events('session').some((e) => /no AuthResponse in time/.test(String(e.detail))));
      const ok = await runCliCaptured(enrollArgs(server.port, 'SEP00AABBCC0101', pki.capfCert, path.join(dir, 'p1')));
      assert.equal(ok.code, 0, ok.stderr);
      // The LSC of an EC P-384 CA: ECDSA with SHA-256, verifying against the CA key.
      const lsc = new X509Certificate(fs.readFileSync(path.join(dir, 'p1', 'SEP00AABBCC0101.pem')));
      assert.ok(lsc.verify(new X509Certificate(issuing.der).publicKey));
      assert.equal((new x509.X509Certificate(lsc.raw).signatureAlgorithm as unknown as { name: string }).name, 'ECDSA');
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('enrols against a wrong CAPF certificate: exit 4 before any secret is sent; nobody listening: exit 4', async () => {
    const db = path.join(dir, 'wrong.db');
    const out = path.join(dir, 'out-wrong');
    fs.mkdirSync(out);
    const server = await startServe(['--db', db, '--signer', pki.capf, '--issuer', issuerFile, '--out', out]);
    try {
      const other = await issue({ subject: 'CN=not the CAPF' });
      const otherCert = (await other.write(dir, 'other')).cert;
      const r = await runCliCaptured(enrollArgs(server.port, 'SEP00AABBCC0102', otherCert, path.join(dir, 'p2')));
      assert.equal(r.code, 4);
      assert.match(r.stderr, /presented CN=CAPF-lab, O=Example Corp, which is not the CAPF certificate given with --capf-cert/);
    } finally {
      await server.stop();
    }
    const gone = await runCliCaptured(enrollArgs(server.port, 'SEP00AABBCC0102', pki.capfCert, path.join(dir, 'p2')));
    assert.equal(gone.code, 4);
    assert.match(gone.stderr, /connection refused/);
  });

  describe('PostgreSQL store', function () {
    const pg = usePostgres();

    it('devices, an install, the history and the list through one shared postgres:// store', async () => {
      const url = await pg().createDatabase('capf');
      const add = await runCliCaptured(['capf', 'device', 'add', '--db', url, 'SEP00AABBCC0201', 'SEP00AABBCC0202', '--auth', 'password', '--key', 'rsa:1024'], { OPENCTL_CAPF_PASSWORD: 'pgpass' });
      assert.equal(add.code, 0, add.stderr);
      const out = path.join(dir, 'out-pg');
      fs.mkdirSync(out);
      const server = await startServe(['--db', url, '--signer', pki.capf, '--issuer', issuerFile, '--out', out]);
      try {
        const wrong = await runCliCaptured(enrollArgs(server.port, 'SEP00AABBCC0201', pki.capfCert, path.join(dir, 'pg1')), { OPENCTL_CAPF_PASSWORD: 'nope' });
        assert.equal(wrong.code, 1);
        const r = await runCliCaptured(enrollArgs(server.port, 'SEP00AABBCC0201', pki.capfCert, path.join(dir, 'pg1')), { OPENCTL_CAPF_PASSWORD: 'pgpass' });
        assert.equal(r.code, 0, r.stderr);
        const dropped = runCliCaptured(enrollArgs(server.port, 'SEP00AABBCC0202', pki.capfCert, path.join(dir, 'pg2')), { OPENCTL_CAPF_PASSWORD: 'pgpass' });
        assert.equal((await dropped).code, 0);
      } finally {
        assert.equal(await server.stop(), 0);
      }
      const listed = JSON.parse((await runCliCaptured(['capf', 'device', 'list', '--db', url, '--json'])).stdout) as { devices: Array<Record<string, unknown>> };
      assert.deepEqual(listed.devices.map((d) => [d.device, d.operation, d.failures, typeof d.lscSerial]), [
        ['SEP00AABBCC0201', 'none', 0, 'string'],
        ['SEP00AABBCC0202', 'none', 0, 'string'],
      ]);
      const history = JSON.parse((await runCliCaptured(['capf', 'history', '--db', url, '--json'])).stdout) as { lscs: Array<{ status: string; device: string }> };
      assert.deepEqual(history.lscs.map((h) => [h.device, h.status]), [['SEP00AABBCC0201', 'installed'], ['SEP00AABBCC0202', 'installed']]);
    });
  });
});
