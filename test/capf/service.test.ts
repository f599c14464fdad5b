import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { promisify } from 'node:util';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { runCliCaptured } from '../helpers/run-cli';
import { enroll } from '../../src/services/capf/client';
import { issue, type Issued } from './pki';
import { eventually, startServe, type ServeProcess } from './support';

const run = promisify(execFile);

/**
 * CAPF end to end: `capf serve` as a real process on loopback TLS, devices declared with `capf device ...`
 * on a real SQLite store, phones played by `capf enroll` (the CLI, in process) and the client library.
 */
describe('capf: devices, serve and enroll (SQLite store, PEM CA through an intermediate)', function () {
  this.timeout(120_000);
  let dir: string;
  let db: string;
  let out: string;
  let root: Issued;
  let issuing: Issued;
  let capfTls: Issued;
  let micRoot: Issued;
  let micSub: Issued;
  let files: Record<string, string>;
  let server: ServeProcess;
  const dev = (n: number) => `SEP00112233${(0x4400 + n).toString(16).toUpperCase()}`;

  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCliCaptured(args, env);
  const phoneDir = (name: string) => {
    const d = path.join(dir, 'phones', name);
    fs.mkdirSync(d, { recursive: true });
    return d;
  };
  const enrollCli = (device: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
    cli(['capf', 'enroll', `127.0.0.1:${server.port}`, device, '--capf-cert', files.capfCert, '--out', phoneDir(device), '--json', ...extra], env);
  const list = async () => {
    const r = await cli(['capf', 'device', 'list', '--db', db, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { devices: Array<Record<string, unknown>> }).devices;
  };
  const deviceRow = async (name: string) => (await list()).find((d) => d.device === name)!;
  const audit = () =>
    fs
      .readFileSync(path.join(out, 'capf-audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  /** The device's latest audit entry once it has `result` (the server appends it just after the phone hears the end). */
  const auditOf = async (name: string, result: string) => {
    let entry: Record<string, unknown> | undefined;
    await eventually(`an audit entry ${result} for ${name}`, () => {
      entry = audit().filter((a) => a.device === name).pop();
      return entry?.result === result;
    });
    return entry!;
  };
  const mic = async (subject: string, options: { kind?: 'rsa' | 'ec'; notAfter?: Date; issuer?: Issued } = {}) => {
    const cert = await issue({ subject, issuer: options.issuer ?? micSub, kind: options.kind, notAfter: options.notAfter, notBefore: options.notAfter ? new Date(options.notAfter.getTime() - 86_400_000 * 30) : undefined });
    const file = path.join(dir, `mic-${subject.replace(/\W+/g, '_')}-${Math.random().toString(36).slice(2)}.pem`);
    fs.writeFileSync(file, cert.bundlePem, { mode: 0o600 });
    return file;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-capf-'));
    db = path.join(dir, 'capf.db');
    out = path.join(dir, 'lsc');
    fs.mkdirSync(out);
    root = await issue({ subject: 'CN=openctl test root,O=Example,C=FR', ca: true });
    issuing = await issue({ subject: 'CN=CAPF issuing CA,O=Example Corp,OU=Voice,L=Lyon,ST=ARA,C=FR', ca: true, issuer: root });
    capfTls = await issue({ subject: 'CN=CAPF-lab,O=Example Corp' });
    micRoot = await issue({ subject: 'CN=Test Manufacturing Root,O=Phone Maker', ca: true });
    micSub = await issue({ subject: 'CN=Test Manufacturing CA,O=Phone Maker', ca: true, issuer: micRoot });
    const w = async (c: Issued, n: string) => c.write(dir, n);
    files = {
      rootCert: (await w(root, 'root')).cert,
      issuer: (await w(issuing, 'issuing')).bundle,
      issuerCert: path.join(dir, 'issuing.crt'),
      capf: (await w(capfTls, 'capf')).bundle,
      capfCert: path.join(dir, 'capf.crt'),
      micRoot: (await w(micRoot, 'microot')).cert,
      micSub: (await w(micSub, 'micsub')).cert,
    };
    server = await startServe(['--db', db, '--signer', files.capf, '--issuer', files.issuer, '--chain', files.rootCert, '--mic-ca', files.micRoot, '--mic-ca', files.micSub, '--out', out, '--days', '30']);
  });

  after(async () => {
    const code = await server?.stop();
    assert.equal(code, 0, 'SIGTERM ends capf serve with exit 0');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('auth none, RSA key: the phone gets an LSC exactly as described, chaining through the intermediate (openssl verify -untrusted)', async () => {
    const name = dev(1);
    const add = await cli(['capf', 'device', 'add', '--db', db, name, '--op', 'install', '--auth', 'none', '--key', 'rsa:2048']);
    assert.equal(add.code, 0, add.stderr);
    const r = await enrollCli(name);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { status: string; serial: string };
    assert.equal(result.status, 'installed');
    const lscPem = fs.readFileSync(path.join(phoneDir(name), `${name}.pem`), 'utf8');
    assert.equal(fs.readFileSync(path.join(out, `${name}.pem`), 'utf8'), lscPem, 'the server wrote the same LSC to --out');
    assert.equal((fs.statSync(path.join(phoneDir(name), `${name}.key`)).mode & 0o777).toString(8), '600');

    const lsc = new X509Certificate(lscPem);
    assert.ok(lsc.checkPrivateKey(require('node:crypto').createPrivateKey(fs.readFileSync(path.join(phoneDir(name), `${name}.key`)))));
    assert.equal(lsc.subject, `CN=${name}\nO=Example Corp\nOU=Voice\nL=Lyon\nST=ARA\nC=FR`);
    const p = new x509.X509Certificate(lsc.raw);
    assert.deepEqual(Buffer.from(p.issuerName.toArrayBuffer()), Buffer.from(new x509.X509Certificate(issuing.der).subjectName.toArrayBuffer()), 'issuer = the issuing CA subject, byte for byte');
    assert.equal(lsc.serialNumber.length, 32, '128-bit serial');
    assert.equal(lsc.serialNumber.toLowerCase(), result.serial);
    assert.equal(p.signatureAlgorithm.hash.name, 'SHA-256');
    const bc = p.getExtension(x509.BasicConstraintsExtension)!;
    assert.equal(bc.ca, false);
    assert.equal(bc.critical, true);
    const ku = p.getExtension(x509.KeyUsagesExtension)!;
    assert.equal(ku.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
    assert.equal(ku.critical, true);
    assert.deepEqual([...p.getExtension(x509.ExtendedKeyUsageExtension)!.usages], ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.5']);
    assert.equal(lsc.subjectAltName, `URI:${name}`);
    const days = (new Date(lsc.validTo).getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days < 30.1, `--days 30 (got ${days})`);

    const lscFile = path.join(phoneDir(name), `${name}.pem`);
    const verified = await run('openssl', ['verify', '-CAfile', files.rootCert, '-untrusted', files.issuerCert, lscFile]);
    assert.match(verified.stdout, /: OK$/m);
    await assert.rejects(run('openssl', ['verify', '-CAfile', files.rootCert, lscFile]), 'and not without the intermediate');

    const row = await deviceRow(name);
    assert.equal(row.operation, 'none', 'the install is done');
    assert.equal(row.lscSerial, result.serial);
    assert.equal(row.lastResult, 'installed');
    const history = JSON.parse((await cli(['capf', 'history', '--db', db, name, '--json'])).stdout) as { lscs: Array<{ status: string; serial: string }> };
    assert.deepEqual(history.lscs.map((h) => [h.status, h.serial]), [['installed', result.serial]]);
    const entry = await auditOf(name, 'installed');
    assert.equal(entry.serial, result.serial);
    assert.match(String(entry.peer), /^127\.0\.0\.1:\d+$/);
    // The server logs the session after the phone saw its end: wait for the line, do not race it.
    await eventually('one JSON log line per session', () => server.events('session').some((e) => e.device === name && e.result === 'installed'));

    // Nothing scheduled any more: the next session ends with "nothing to do".
    const again = await enrollCli(name);
    assert.equal(again.code, 0);
    assert.equal(JSON.parse(again.stdout).status, 'nothing-to-do');
  });

  it('password auth and EC keys (P-256, P-384, P-521): the right password enrols; a wrong one is refused and counted', async () => {
    const pw = path.join(dir, 'pw');
    fs.writeFileSync(pw, 'S3cret-pass\n');
    const names = [dev(2), dev(3), dev(4)];
    const curves = ['ec:p256', 'ec:p384', 'ec:p521'];
    for (let i = 0; i < 3; i += 1) {
      const r = await cli(['capf', 'device', 'add', '--db', db, names[i]!, '--auth', 'password', '--key', curves[i]!, '--password-file', pw]);
      assert.equal(r.code, 0, r.stderr);
    }
    const stored = fs.readFileSync(db).toString('latin1');
    assert.ok(!stored.includes('S3cret-pass'), 'the password is not in the store');
    const bad = path.join(dir, 'badpw');
    fs.writeFileSync(bad, 'wrong\n');
    const refused = await enrollCli(names[0]!, ['--password-file', bad]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.deepEqual([JSON.parse(refused.stdout).status, JSON.parse(refused.stdout).reason], ['refused', 7]);
    assert.equal((await deviceRow(names[0]!)).failures, 1);
    const curvesSeen: string[] = [];
    for (const name of names) {
      const r = await enrollCli(name, [], { OPENCTL_CAPF_PASSWORD: 'S3cret-pass' });
      assert.equal(r.code, 0, r.stderr);
      const lsc = new X509Certificate(fs.readFileSync(path.join(phoneDir(name), `${name}.pem`)));
      curvesSeen.push(String(lsc.publicKey.asymmetricKeyDetails?.namedCurve));
      assert.ok(lsc.verify(new X509Certificate(issuing.der).publicKey));
    }
    assert.deepEqual(curvesSeen, ['prime256v1', 'secp384r1', 'secp521r1']);
    assert.equal((await deviceRow(names[0]!)).failures, 0, 'a success clears the count');
  });

  it('locks a device after 5 wrong passwords, even against the right one, until device set --unlock', async () => {
    const name = dev(5);
    const r = await cli(['capf', 'device', 'add', '--db', db, name, '--auth', 'password'], { OPENCTL_CAPF_PASSWORD: 'right' });
    assert.equal(r.code, 0, r.stderr);
    for (let i = 0; i < 5; i += 1) assert.equal((await enrollCli(name, [], { OPENCTL_CAPF_PASSWORD: `wrong${i}` })).code, 1);
    assert.equal((await deviceRow(name)).failures, 5);
    const locked = await enrollCli(name, [], { OPENCTL_CAPF_PASSWORD: 'right' });
    assert.equal(locked.code, 1);
    assert.match(String((await auditOf(name, 'locked')).detail), /locked after 5 failed/);
    assert.equal((await cli(['capf', 'device', 'set', '--db', db, name, '--unlock'])).code, 0);
    const ok = await enrollCli(name, [], { OPENCTL_CAPF_PASSWORD: 'right' });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).status, 'installed');
  });

  it('MIC auth: RSA and EC MICs through the manufacturer intermediate enrol; another device\'s MIC, an expired MIC, an unknown CA are refused', async () => {
    const [a, b, c, d, e] = [dev(6), dev(7), dev(8), dev(9), dev(10)];
    assert.equal((await cli(['capf', 'device', 'add', '--db', db, a, b, c, d, e, '--auth', 'mic', '--key', 'ec:p256'])).code, 0);
    const rsaMic = await mic(`CN=CP-8841-${a}`);
    const ecMic = await mic(`CN=CP-8865-${b}`, { kind: 'ec' });
    assert.equal((await enrollCli(a, ['--mic', rsaMic])).code, 0);
    assert.equal((await enrollCli(b, ['--mic', ecMic])).code, 0);

    const other = await enrollCli(c, ['--mic', rsaMic]);
    assert.equal(other.code, 1);
    assert.match(String((await auditOf(c, 'auth-failed')).detail), new RegExp(`names "CP-8841-${a}", not ${c}`));
    const expired = await enrollCli(d, ['--mic', await mic(`CN=CP-8841-${d}`, { notAfter: new Date(Date.now() - 86_400_000) })]);
    assert.equal(expired.code, 1);
    assert.match(String((await auditOf(d, 'auth-failed')).detail), /expired on/);
    const stranger = await issue({ subject: 'CN=Someone else CA', ca: true });
    const unknown = await enrollCli(e, ['--mic', await mic(`CN=CP-8841-${e}`, { issuer: stranger })]);
    assert.equal(unknown.code, 1);
    assert.match(String((await auditOf(e, 'auth-failed')).detail), /does not chain/);
    const none = await enrollCli(e);
    assert.equal(none.code, 1, 'no certificate at all');
    for (const name of [c, d, e]) assert.equal((await deviceRow(name)).operation, 'install', `${name} still pending`);
  });

  it('a tampered signature over the MIC is refused (bit flip in the SHA-512 signature)', async () => {
    const name = dev(11);
    assert.equal((await cli(['capf', 'device', 'add', '--db', db, name, '--auth', 'mic'])).code, 0);
    const bundle = fs.readFileSync(await mic(`CN=CP-8841-${name}`), 'utf8');
    const { parsePemBundle } = await import('../../src/crypto/pem-signer');
    const { key, certificate } = parsePemBundle(bundle, 'mic');
    const { certSignatures } = await import('../../src/services/capf/client');
    const { signedBytes } = await import('../../src/services/capf/cert-auth');
    const sigs = certSignatures(key, signedBytes(name, certificate));
    sigs.sha512Signature[10] ^= 0x01;
    const { CertificateAuthenticator } = await import('../../src/services/capf/cert-auth');
    const auth = new CertificateAuthenticator([micRoot.der, micSub.der], [issuing.der]);
    assert.deepEqual(auth.check({ device: name, certificate, ...sigs }), { ok: false, reason: 'the SHA-512 signature (tag 20) does not verify' });
    const good = certSignatures(key, signedBytes(name, certificate));
    assert.equal(auth.check({ device: name, certificate, ...good }).ok, true);
    good.sha1Signature[5] ^= 0x80;
    assert.deepEqual(auth.check({ device: name, certificate, ...good }), { ok: false, reason: 'the SHA-1 signature (tag 6) does not verify' });
    assert.match((auth.check({ device: name, certificate: Buffer.concat([certificate.subarray(0, 100), Buffer.from([certificate[100]! ^ 1]), certificate.subarray(101)]) }) as { reason: string }).reason, /not a valid X.509|does not chain|no signature/);
  });

  it('LSC auth: a phone re-enrols with its current LSC (it chains to the issuing CA)', async () => {
    const name = dev(1); // installed by the first test
    const dirOf = phoneDir(name);
    const bundle = path.join(dir, 'lsc-bundle.pem');
    fs.writeFileSync(bundle, fs.readFileSync(path.join(dirOf, `${name}.key`), 'utf8') + fs.readFileSync(path.join(dirOf, `${name}.pem`), 'utf8'), { mode: 0o600 });
    const before = (await deviceRow(name)).lscSerial;
    assert.equal((await cli(['capf', 'device', 'set', '--db', db, name, '--auth', 'mic', '--op', 'install'])).code, 0);
    const r = await enrollCli(name, ['--mic', bundle]);
    assert.equal(r.code, 0, r.stderr);
    const after = (await deviceRow(name)).lscSerial;
    assert.notEqual(after, before);
    const history = JSON.parse((await cli(['capf', 'history', '--db', db, name, '--json'])).stdout) as { lscs: Array<{ serial: string }> };
    assert.deepEqual(history.lscs.map((h) => h.serial), [before, after], 'both LSCs are kept');
  });

  it('a phone that drops before confirming the store leaves the install pending (history: issued)', async () => {
    const name = dev(12);
    assert.equal((await cli(['capf', 'device', 'add', '--db', db, name])).code, 0);
    await assert.rejects(
      enroll({ host: '127.0.0.1', port: server.port, device: name, capfCertificates: [capfTls.der], outDir: phoneDir(name), dropBeforeConfirm: true }),
      /dropped before confirming/,
    );
    await auditOf(name, 'pending');
    const row = await deviceRow(name);
    assert.equal(row.operation, 'install');
    assert.equal(row.lscSerial, null);
    const history = JSON.parse((await cli(['capf', 'history', '--db', db, name, '--json'])).stdout) as { lscs: Array<{ status: string }> };
    assert.deepEqual(history.lscs.map((h) => h.status), ['issued']);
    assert.ok(!fs.existsSync(path.join(out, `${name}.pem`)), 'no LSC file for an unconfirmed install');
    const retry = await enrollCli(name);
    assert.equal(JSON.parse(retry.stdout).status, 'installed');
  });

  it('fetch and delete scheduled while the server runs', async () => {
    const name = dev(13);
    assert.equal((await cli(['capf', 'device', 'add', '--db', db, name])).code, 0);
    assert.equal((await enrollCli(name)).code, 0);
    const installed = fs.readFileSync(path.join(phoneDir(name), `${name}.pem`), 'utf8');
    fs.rmSync(path.join(out, `${name}.pem`));

    assert.equal((await cli(['capf', 'device', 'set', '--db', db, name, '--op', 'fetch'])).code, 0);
    const fetched = await enrollCli(name);
    assert.equal(JSON.parse(fetched.stdout).status, 'fetched');
    assert.equal(fs.readFileSync(path.join(out, `${name}.pem`), 'utf8'), installed, 'the server has the phone\'s LSC again');
    assert.equal((await deviceRow(name)).operation, 'none');

    assert.equal((await cli(['capf', 'device', 'set', '--db', db, name, '--op', 'delete'])).code, 0);
    const deleted = await enrollCli(name);
    assert.equal(JSON.parse(deleted.stdout).status, 'deleted');
    assert.ok(!fs.existsSync(path.join(phoneDir(name), `${name}.pem`)));
    assert.ok(!fs.existsSync(path.join(phoneDir(name), `${name}.key`)));
    const row = await deviceRow(name);
    assert.deepEqual([row.operation, row.lscSerial], ['none', null]);
    const history = JSON.parse((await cli(['capf', 'history', '--db', db, name, '--json'])).stdout) as { lscs: Array<{ status: string }> };
    assert.deepEqual(history.lscs.map((h) => h.status), ['installed', 'fetched']);
  });

  it('unknown devices get reason 9; a key of the wrong kind is refused', async () => {
    const unknown = await enrollCli('SEP00000000FFFF');
    assert.equal(unknown.code, 1);
    assert.equal(JSON.parse(unknown.stdout).reason, 9);
    const name = dev(14);
    assert.equal((await cli(['capf', 'device', 'add', '--db', db, name, '--key', 'rsa:2048'])).code, 0);
    const wrong = await enrollCli(name, ['--key', 'ec:p256']);
    assert.equal(wrong.code, 1);
    assert.match(String((await auditOf(name, 'refused')).detail), /asked for an RSA 2048-bit key, got an EC P-256 key/);
    assert.equal((await deviceRow(name)).operation, 'install');
  });

  it('concurrent enrolments, with garbage, plain TCP and HTTP connections among them', async () => {
    const names = Array.from({ length: 24 }, (_, i) => dev(0x80 + i));
    assert.equal((await cli(['capf', 'device', 'add', '--db', db, ...names, '--key', 'ec:p256'])).code, 0);
    const junk = [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from([0x55, 0x02, 0, 0, 0, 1, 0xff, 0xff]), // not TLS at all
    ].map(
      (bytes) =>
        new Promise<void>((resolve) => {
          const s = net.connect(server.port, '127.0.0.1', () => s.write(bytes));
          s.on('error', () => resolve());
          s.on('close', () => resolve());
        }),
    );
    // TLS, then garbage inside it.
    const inside = new Promise<Buffer>((resolve) => {
      const s = tls.connect({ port: server.port, host: '127.0.0.1', rejectUnauthorized: false }, () => s.write('GET / HTTP/1.1\r\n\r\n'));
      const got: Buffer[] = [];
      s.on('data', (c: Buffer) => got.push(c));
      s.on('error', () => undefined);
      s.on('close', () => resolve(Buffer.concat(got)));
    });
    const results = await Promise.all(names.map((n) => enrollCli(n)));
    await Promise.all(junk);
    const answered = await inside;
    assert.equal(answered[0], 0x55, 'the TLS garbage peer got the auth request first');
    assert.deepEqual(answered.subarray(answered.length - 12, answered.length - 4).subarray(0, 2), Buffer.from([0x55, 0x0f]), 'then end session 7');
    assert.equal(answered[answered.length - 1], 7);
    assert.deepEqual(results.map((r) => r.code), names.map(() => 0), results.map((r) => r.stderr).join(''));
    const serials = results.map((r) => (JSON.parse(r.stdout) as { serial: string }).serial);
    assert.equal(new Set(serials).size, names.length, 'distinct serials');
    await eventually('garbage before TLS is logged', () => server.events('tls-error').length >= 2);
  });

  it('reassembles a phone\'s messages sent one byte at a time', async () => {
    const name = dev(15);
    assert.equal((await cli(['capf', 'device', 'add', '--db', db, name, '--op', 'none'])).code, 0);
    const { authResponse, encodeMessage } = await import('../../src/services/capf/messages');
    const socket = tls.connect({ port: server.port, host: '127.0.0.1', rejectUnauthorized: false });
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    // Listen for the end before writing: the server may answer and close before the last pause ends.
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    await eventually('the auth request', () => Buffer.concat(received).length >= 16);
    const request = Buffer.concat(received);
    const session = request.readUInt32BE(2);
    const bytes = encodeMessage(authResponse(session, { device: name }));
    for (const byte of bytes) {
      socket.write(Buffer.of(byte));
      await new Promise((r) => setTimeout(r, 2));
    }
    await closed;
    const answer = Buffer.concat(received).subarray(16);
    assert.deepEqual([...answer], [0x55, 0x0f, ...request.subarray(2, 6), 0x00, 0x04, 0x01, 0x00, 0x01, 0x00], 'end session, reason 0: nothing to do');
    assert.equal((await auditOf(name, 'nothing-to-do')).device, name);
  });

  it('device add/set refuse bad input with one line and exit 2', async () => {
    const r1 = await cli(['capf', 'device', 'add', '--db', db, 'SEP123', '--auth', 'none']);
    assert.equal(r1.code, 2);
    assert.match(r1.stderr, /^openctl: device "SEP123": a device is SEP followed by its 12-hex-digit MAC/);
    const r2 = await cli(['capf', 'device', 'add', '--db', db, dev(0x70), '--auth', 'password'], { OPENCTL_CAPF_PASSWORD: '' });
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /a password is needed: --password-file FILE or OPENCTL_CAPF_PASSWORD \(never on the command line\)/);
    const r3 = await cli(['capf', 'device', 'add', '--db', db, dev(0x71), '--key', 'rsa:512']);
    assert.equal(r3.code, 2);
    assert.match(r3.stderr, /--key must be rsa:1024\.\.4096/);
    const r4 = await cli(['capf', 'device', 'add', '--db', db, dev(1)]);
    assert.equal(r4.code, 2);
    assert.match(r4.stderr, /exist already/);
    const r5 = await cli(['capf', 'device', 'set', '--db', db, 'SEP00000000EEEE', '--op', 'fetch']);
    assert.equal(r5.code, 2);
    assert.match(r5.stderr, /no such device: SEP00000000EEEE \(nothing changed\)/);
    const fifo = path.join(dir, 'pw.fifo');
    await run('mkfifo', [fifo]);
    const r7 = await cli(['capf', 'device', 'add', '--db', db, dev(0x73), '--auth', 'password', '--password-file', fifo]);
    assert.equal(r7.code, 2, 'a FIFO is refused, not waited on');
    assert.match(r7.stderr, /pw\.fifo: cannot read the password file: is a named pipe \(FIFO\), not a regular file\n$/);
    const r6 = await cli(['capf', 'device', 'add', '--db', db, dev(0x72), '--password', 'x']);
    assert.equal(r6.code, 2, 'no password option on add');
    assert.equal((await list()).some((d) => [dev(0x70), dev(0x71), dev(0x72), dev(0x73)].includes(String(d.device))), false, 'nothing half-added');
  });

  it('--from-csv: thousands of devices in one transaction, per-row passwords hashed, remove', async () => {
    const csv = path.join(dir, 'devices.csv');
    const rows = ['device,op,auth,key,password'];
    for (let i = 0; i < 2000; i += 1) rows.push(`SEP1000${i.toString(16).toUpperCase().padStart(8, '0')},install,${i % 2 ? 'password' : 'none'},${i % 3 ? 'rsa:2048' : 'ec:p384'},${i % 2 ? `pw${i % 4}` : ''}`);
    fs.writeFileSync(csv, rows.join('\n'));
    const r = await cli(['capf', 'device', 'add', '--db', db, '--from-csv', csv]);
    assert.equal(r.code, 0, r.stderr);
    const devices = (await list()).filter((d) => String(d.device).startsWith('SEP1000'));
    assert.equal(devices.length, 2000);
    assert.deepEqual([devices[3]!.auth, devices[3]!.key, devices[3]!.passwordSet], ['password', 'ec:p384', true]);
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, 'device,auth\nSEP20000000001,none\nSEP200000000002,maybe\n');
    const b = await cli(['capf', 'device', 'add', '--db', db, '--from-csv', bad]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /bad\.csv: line 2: device "SEP20000000001"/);
    const rm = await cli(['capf', 'device', 'remove', '--db', db, devices[0]!.device as string, 'SEP00000000DDDD']);
    assert.equal(rm.code, 1);
    assert.match(rm.stdout, /^1 device\(s\) removed/);
    assert.match(rm.stderr, /no such device: SEP00000000DDDD/);
  });
});
