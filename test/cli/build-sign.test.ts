import { strict as assert } from 'node:assert';
import { createHash, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliCaptured } from '../helpers/run-cli';
import { labPublisher, writeLabCluster } from '../helpers/cluster-file';
import { vector } from '../helpers/paths';
import { makeCert } from '../helpers/pki';

const cert = (name: string) => vector('certs', name);

describe('openctl ctl/itl build, sign, unsign, encrypt, decrypt, certhash (PEM signers)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-build-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function showJson(file: string) {
    const r = await runCliCaptured(['show', '--json', file]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  }

  it('builds a two-SAST CTL in CUCM record order that verifies, with DNS and IPv4 where given', async () => {
    const out = path.join(dir, 'CTLFile.tlv');
    const r = await runCliCaptured([
      'ctl', 'build', '--out', out, '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem'),
      '--ccm-tftp', `${cert('ccm-tftp.pem')}@cucm-pub.example.net@10.0.0.5`, '--capf', cert('capf.pem'),
      '--tvs', `${cert('tvs-ec.pem')}@tvs.example.net`, '--timestamp', '1764288000',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const v = await runCliCaptured(['verify', out]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const report = await showJson(out);
    assert.equal(report.header.filename, 'CTLFile.tlv');
    assert.equal(report.header.timestamp, 1764288000);
    assert.equal(report.header.digest, 'sha1');
    assert.equal(report.header.signerVersion, '1.0');
    assert.deepEqual(report.records.map((x: { roleName: string }) => x.roleName), ['SAST', 'SAST', 'CCM+TFTP', 'TVS', 'CAPF']);
    assert.equal(report.records[0].subject, 'CN=SAST-eToken-A,O=Example Voice,OU=UC Security,L=Wellington,C=NZ');
    assert.equal(report.records[0].signedTheFile, true);
    assert.equal(report.records[2].dnsName, 'cucm-pub.example.net');
    assert.equal(report.records[2].ipv4, '10.0.0.5');
    assert.equal(report.records[3].dnsName, 'tvs.example.net');
    assert.equal(report.records[3].ipv4, undefined);
    // CUCM's record order 1..10 for every new record.
    for (const rec of report.records) {
      const tags = rec.rows.map((row: { tag: number }) => row.tag);
      assert.deepEqual(tags, [...tags].sort((a: number, b: number) => a - b), `record ${rec.index} tags ${tags}`);
      assert.equal(tags[1], 2, 'tag 2 always present');
    }
  });

  it('is reproducible with --timestamp: the same inputs give the same bytes', async () => {
    const args = (out: string) => ['ctl', 'build', '--out', out, '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem'), '--timestamp', '1700000000', '--digest', 'sha256', '--filename', 'CTLFile.tlv'];
    assert.equal((await runCliCaptured(args(path.join(dir, 'a.tlv')))).code, 0);
    assert.equal((await runCliCaptured(args(path.join(dir, 'b.tlv')))).code, 0);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'a.tlv')), fs.readFileSync(path.join(dir, 'b.tlv')));
    assert.equal((await showJson(path.join(dir, 'a.tlv'))).header.digest, 'sha256');
  });

  it('writes CUCM-style DNs with --dn-style cucm', async () => {
    const out = path.join(dir, 'CTLFile.tlv');
    const r = await runCliCaptured(['ctl', 'build', '--out', out, '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem'), '--dn-style', 'cucm']);
    assert.equal(r.code, 0, r.stderr);
    const report = await showJson(out);
    // The attribute order of cucm-style/expected.json.
    assert.equal(report.records[0].subject, 'CN=SAST-eToken-A;OU=UC Security;O=Example Voice;L=Wellington;C=NZ');
    assert.equal(report.header.signer.subject, 'CN=SAST-eToken-A;OU=UC Security;O=Example Voice;L=Wellington;C=NZ');
    assert.equal((await runCliCaptured(['verify', out])).code, 0);
  });

  it('refuses a CTL with a single SAST (exit 2) unless --allow-single-sast', async () => {
    const out = path.join(dir, 'CTLFile.tlv');
    const r = await runCliCaptured(['ctl', 'build', '--out', out, '--signer', cert('sast-a.pem'), '--ccm-tftp', cert('ccm-tftp.pem')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /at least two SAST/);
    assert.equal(fs.existsSync(out), false, 'nothing written');
    const ok = await runCliCaptured(['ctl', 'build', '--out', out, '--signer', cert('sast-a.pem'), '--ccm-tftp', cert('ccm-tftp.pem'), '--allow-single-sast']);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('builds an ITL with one SAST (the ITL recovery signer)', async () => {
    const out = path.join(dir, 'ITLFile.tlv');
    const r = await runCliCaptured(['itl', 'build', '--out', out, '--signer', cert('itlrecovery.pem'), '--ccm-tftp', cert('ccm-tftp.pem'), '--tvs', cert('tvs-ec.pem'), '--capf', cert('capf.pem')]);
    assert.equal(r.code, 0, r.stderr);
    const report = await showJson(out);
    assert.equal(report.kind, 'itl');
    assert.deepEqual(report.records.map((x: { roleName: string }) => x.roleName), ['SAST', 'CCM+TFTP', 'TVS', 'CAPF']);
    assert.equal((await runCliCaptured(['verify', out])).code, 0);
  });

  it('does not overwrite without --force', async () => {
    const out = path.join(dir, 'CTLFile.tlv');
    fs.writeFileSync(out, 'keep me');
    const r = await runCliCaptured(['ctl', 'build', '--out', out, '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /already exists/);
    assert.equal(fs.readFileSync(out, 'utf8'), 'keep me');
    const forced = await runCliCaptured(['ctl', 'build', '--out', out, '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem'), '--force']);
    assert.equal(forced.code, 0, forced.stderr);
  });

  it('refuses a 3072-bit signing key with one clear line', async () => {
    const key = path.join(dir, 'k3072.pem');
    const crt = path.join(dir, 'c3072.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:3072', '-nodes', '-subj', '/CN=SAST-3072', '-days', '30', '-keyout', key, '-out', crt], { stdio: 'ignore' });
    const r = await runCliCaptured(['ctl', 'build', '--out', path.join(dir, 'x.tlv'), '--key', key, '--cert', crt, '--sast', cert('sast-b.pem')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /3072-bit/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('--update keeps the current records and refuses a signer phones would reject; --force does not override that', async () => {
    const current = path.join(dir, 'current.tlv');
    assert.equal((await runCliCaptured(['ctl', 'build', '--out', current, '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem'), '--ccm-tftp', cert('ccm-tftp.pem')])).code, 0);
    const next = path.join(dir, 'next.tlv');
    const refused = await runCliCaptured(['ctl', 'build', '--update', current, '--out', next, '--signer', cert('ccm.pem'), '--capf', cert('capf.pem')]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /phones holding it would reject/);
    assert.match(refused.stderr, /--i-understand-phones-will-reject/);
    assert.doesNotMatch(refused.stderr, /--force/);
    assert.equal(fs.existsSync(next), false);
    const forced = await runCliCaptured(['ctl', 'build', '--update', current, '--out', next, '--signer', cert('ccm.pem'), '--capf', cert('capf.pem'), '--force']);
    assert.equal(forced.code, 1, '--force only replaces outputs');
    assert.equal(fs.existsSync(next), false);
    const ok = await runCliCaptured(['ctl', 'build', '--update', current, '--out', next, '--signer', cert('sast-b.pem'), '--capf', cert('capf.pem')]);
    assert.equal(ok.code, 0, ok.stderr);
    const report = await showJson(next);
    assert.deepEqual(report.records.map((x: { roleName: string }) => x.roleName), ['SAST', 'SAST', 'CCM+TFTP', 'CAPF']);
    assert.equal(report.records[1].signedTheFile, true);
  });

  it('the lockout override has its own flag, says what phones will do, and preflight confirms it', async () => {
    const current = path.join(dir, 'current.tlv');
    assert.equal((await runCliCaptured(['ctl', 'build', '--out', current, '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem')])).code, 0);
    const next = path.join(dir, 'next.tlv');
    fs.writeFileSync(next, 'old');
    const exists = await runCliCaptured(['ctl', 'build', '--update', current, '--out', next, '--signer', cert('ccm.pem'), '--sast', cert('sast-b.pem'), '--i-understand-phones-will-reject']);
    assert.equal(exists.code, 2);
    assert.match(exists.stderr, /already exists \(use --force to replace it\)/);
    assert.doesNotMatch(exists.stderr, /i-understand/, 'an existing-file error never suggests the lockout override');
    const r = await runCliCaptured(['ctl', 'build', '--update', current, '--out', next, '--force', '--signer', cert('ccm.pem'), '--sast', cert('sast-b.pem'), '--i-understand-phones-will-reject']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /phones holding .*current\.tlv will REJECT .*next\.tlv and keep .*current\.tlv/);
    const pre = await runCliCaptured(['preflight', '--phone-has', current, '--deploy', next]);
    assert.equal(pre.code, 1);
    assert.match(pre.stdout, /REJECTED \[ctl-signer-not-in-held-ctl\]/);
  });

  it('--update --remove drops records by certificate file, SHA-1 or subject; an unmatched --remove is an error', async () => {
    const current = path.join(dir, 'current.tlv');
    assert.equal((await runCliCaptured([
      'ctl', 'build', '--out', current, '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem'), '--sast', cert('itlrecovery.pem'),
      '--ccm-tftp', `${cert('ccm-tftp.pem')}@cucm-pub.example.net`, '--ccm', `${cert('ccm.pem')}@cucm-sub2.example.net`, '--tftp', cert('tftp-4096.pem'), '--capf', cert('capf.pem'),
    ])).code, 0);
    const before = await showJson(current);
    const subject = (name: string) => before.records.find((x: { roleName: string }) => x.roleName === name).subject as string;
    const tftpSha1 = createHash('sha1').update(new X509Certificate(fs.readFileSync(cert('tftp-4096.pem'))).raw).digest('hex');
    const next = path.join(dir, 'next.tlv');
    const r = await runCliCaptured([
      'ctl', 'build', '--update', current, '--out', next, '--signer', cert('sast-a.pem'), '--json',
      '--remove', cert('capf.pem'), '--remove', tftpSha1.replace(/(..)(?!$)/g, '$1:').toUpperCase(), '--remove', subject('CCM'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.deepEqual(json.removed.map((x: { roleName: string }) => x.roleName).sort(), ['CAPF', 'CCM', 'TFTP']);
    const after = await showJson(next);
    assert.deepEqual(after.records.map((x: { roleName: string }) => x.roleName), ['SAST', 'SAST', 'SAST', 'CCM+TFTP']);
    // A lost token, by its subject's CN alone.
    const lost = await runCliCaptured(['ctl', 'build', '--update', next, '--out', path.join(dir, 'n2.tlv'), '--signer', cert('sast-a.pem'), '--remove', 'CN=SAST-eToken-B']);
    assert.equal(lost.code, 0, lost.stderr);
    assert.match(lost.stdout, /removed SAST "CN=SAST-eToken-B/);
    assert.equal((await showJson(path.join(dir, 'n2.tlv'))).records.filter((x: { roleName: string }) => x.roleName === 'SAST').length, 2);
    const typo = await runCliCaptured(['ctl', 'build', '--update', current, '--out', path.join(dir, 'n3.tlv'), '--signer', cert('sast-a.pem'), '--remove', 'CN=cucm-sub9.example.net']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /--remove CN=cucm-sub9\.example\.net: no record of .*current\.tlv has this subject/);
    assert.equal(fs.existsSync(path.join(dir, 'n3.tlv')), false);
    const own = await runCliCaptured(['ctl', 'build', '--update', current, '--out', path.join(dir, 'n5.tlv'), '--signer', cert('sast-a.pem'), '--remove', cert('sast-a.pem')]);
    assert.equal(own.code, 2);
    assert.match(own.stderr, /the signer's own SAST record/);
    const removeWithoutUpdate = await runCliCaptured(['ctl', 'build', '--out', path.join(dir, 'n4.tlv'), '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem'), '--remove', cert('capf.pem')]);
    assert.equal(removeWithoutUpdate.code, 2);
  });

  it('--update with a new certificate for the same server and role replaces the old record, unless --keep-old', async () => {
    const current = path.join(dir, 'current.tlv');
    assert.equal((await runCliCaptured(['ctl', 'build', '--out', current, '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem'), '--ccm-tftp', `${cert('ccm-tftp.pem')}@cucm-pub.example.net@10.0.0.5`, '--capf', cert('capf.pem')])).code, 0);
    const regenerated = await makeCert({ cn: 'cucm-pub.example.net', o: 'Example Voice' });
    const files = await regenerated.write(dir, 'ccm-tftp-new');
    const next = path.join(dir, 'next.tlv');
    const r = await runCliCaptured(['ctl', 'build', '--update', current, '--out', next, '--signer', cert('sast-a.pem'), '--ccm-tftp', `${files.cert}@cucm-pub.example.net@10.0.0.5`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /replaced CCM\+TFTP .*@cucm-pub\.example\.net/);
    const after = await showJson(next);
    assert.deepEqual(after.records.map((x: { roleName: string }) => x.roleName), ['SAST', 'SAST', 'CCM+TFTP', 'CAPF'], 'in the old record\'s place');
    const newSha1 = createHash('sha1').update(regenerated.certDer).digest('hex');
    assert.equal(after.records[2].certificateSha1, newSha1);
    const both = path.join(dir, 'both.tlv');
    const k = await runCliCaptured(['ctl', 'build', '--update', current, '--out', both, '--signer', cert('sast-a.pem'), '--ccm-tftp', `${files.cert}@cucm-pub.example.net@10.0.0.5`, '--keep-old']);
    assert.equal(k.code, 0, k.stderr);
    assert.deepEqual((await showJson(both)).records.map((x: { roleName: string }) => x.roleName), ['SAST', 'SAST', 'CCM+TFTP', 'CAPF', 'CCM+TFTP']);
  });

  it('builds CTL and ITL from a cluster file', async () => {
    const clusterFile = writeLabCluster(dir, [labPublisher([{ role: 'capf', cert: cert('capf.pem') }, { role: 'tvs', cert: cert('tvs-ec.pem') }])]);
    const ctl = path.join(dir, 'CTLFile.tlv');
    const r = await runCliCaptured(['ctl', 'build', '--cluster', clusterFile, '--signer', cert('sast-a.pem'), '--out', ctl]);
    assert.equal(r.code, 0, r.stderr);
    const ctlReport = await showJson(ctl);
    // As CUCM's: the tokens, ITLRecovery as SAST, the servers' certificates; TVS only in the ITL.
    assert.deepEqual(ctlReport.records.map((x: { roleName: string }) => x.roleName), ['SAST', 'SAST', 'SAST', 'CCM+TFTP', 'CAPF']);
    assert.equal(ctlReport.records[2].subject, 'CN=ITLRECOVERY_cucm-pub,O=Example Voice,OU=UC');
    const itl = path.join(dir, 'ITLFile.tlv');
    const i = await runCliCaptured(['itl', 'build', '--cluster', clusterFile, '--out', itl]);
    assert.equal(i.code, 0, i.stderr);
    const itlReport = await showJson(itl);
    assert.equal(itlReport.records[0].subject, 'CN=ITLRECOVERY_cucm-pub,O=Example Voice,OU=UC');
    assert.equal((await runCliCaptured(['verify', itl])).code, 0);
    assert.ok(itlReport.records.some((x: { roleName: string }) => x.roleName === 'TVS'));
    const pre = await runCliCaptured(['preflight', '--deploy', ctl, '--deploy', itl]);
    assert.equal(pre.code, 0, pre.stdout);
  });

  it('a bad cluster file is one line naming the file and the JSON path', async () => {
    const clusterFile = path.join(dir, 'cluster.json');
    fs.writeFileSync(clusterFile, JSON.stringify({ servers: [{ name: 'x', ip: '300.1.1.1' }] }));
    const r = await runCliCaptured(['ctl', 'build', '--cluster', clusterFile, '--signer', cert('sast-a.pem'), '--out', path.join(dir, 'c.tlv')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cluster\.json: \/servers\/0\/ip/);
  });

  it('sign writes FILE.sgn that verifies against the certificate and the CTL; unsign gives the bytes back', async () => {
    const src = path.join(dir, 'SEP001122334455.cnf.xml');
    fs.copyFileSync(vector('configs/SEP001122334455.cnf.xml'), src);
    const r = await runCliCaptured(['sign', src, '--signer', cert('ccm-tftp.pem'), '--digest', 'sha512']);
    assert.equal(r.code, 0, r.stderr);
    const sgn = `${src}.sgn`;
    assert.equal((await runCliCaptured(['verify', sgn, '--cert', cert('ccm-tftp.pem')])).code, 0);
    assert.equal((await runCliCaptured(['verify', sgn, '--trust', vector('CTLFile-sha1.tlv')])).code, 0);
    const report = await showJson(sgn);
    assert.equal(report.header.version, '1.0');
    assert.equal(report.header.filename, 'SEP001122334455.cnf.xml.sgn');
    assert.equal(report.header.digest, 'sha512');
    assert.equal(report.header.headerLength % 4, 0);
    const back = path.join(dir, 'back.xml');
    assert.equal((await runCliCaptured(['unsign', sgn, '--out', back])).code, 0);
    assert.deepEqual(fs.readFileSync(back), fs.readFileSync(src));
  });

  it('a config signed by the CAPF key is not vouched for by the CTL', async () => {
    const src = path.join(dir, 'Ringlist.xml');
    fs.copyFileSync(vector('configs/Ringlist.xml'), src);
    assert.equal((await runCliCaptured(['sign', src, '--signer', cert('capf.pem')])).code, 0);
    const r = await runCliCaptured(['verify', `${src}.sgn`, '--trust', vector('CTLFile-sha1.tlv')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /no trust-list record with an allowed role/);
  });

  it('encrypt writes .enc.sgn and its stub; decrypt gives the config back; certhash matches the stub', async () => {
    const src = path.join(dir, 'SEP001122334455.cnf.xml');
    fs.copyFileSync(vector('configs/SEP001122334455.cnf.xml'), src);
    const r = await runCliCaptured(['encrypt', src, '--signer', cert('ccm-tftp.pem'), '--device-cert', cert('device-lsc.pem'), '--digest', 'sha512']);
    assert.equal(r.code, 0, r.stderr);
    const enc = `${src}.enc.sgn`;
    assert.equal((await runCliCaptured(['verify', enc, '--cert', cert('ccm-tftp.pem')])).code, 0);
    assert.equal((await runCliCaptured(['verify', `${src}.sgn`, '--cert', cert('ccm-tftp.pem')])).code, 0);
    const out = path.join(dir, 'decrypted.xml');
    const d = await runCliCaptured(['decrypt', enc, '--device-key', cert('device-lsc.pem'), '--out', out]);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(fs.readFileSync(out), fs.readFileSync(src));

    const md5 = createHash('md5').update(new X509Certificate(fs.readFileSync(cert('device-lsc.pem'))).raw).digest('hex');
    const h = await runCliCaptured(['certhash', cert('device-lsc.pem'), '--digest', 'md5', '--hex']);
    assert.equal(h.stdout.trim(), md5);
    const stubBody = (await runCliCaptured(['unsign', `${src}.sgn`, '--out', path.join(dir, 'stub.xml')])).code;
    assert.equal(stubBody, 0);
    const stub = fs.readFileSync(path.join(dir, 'stub.xml'), 'utf8');
    assert.ok(stub.includes(`<certHash>${md5}</certHash>`), stub);
    assert.match(stub, /<encrConfig>true<\/encrConfig>/);
  });

  it('decrypts the independent vector to the plain config', async () => {
    const out = path.join(dir, 'plain.xml');
    const r = await runCliCaptured(['decrypt', vector('encrypted/SEP001122334455.cnf.xml.enc.sgn'), '--device-key', cert('device-lsc.pem'), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readFileSync(out), fs.readFileSync(vector('configs/SEP001122334455.cnf.xml')));
  });

  it('decrypt with the wrong key fails cleanly and writes nothing', async () => {
    const out = path.join(dir, 'plain.xml');
    const r = await runCliCaptured(['decrypt', vector('encrypted/SEP001122334455.cnf.xml.enc.sgn'), '--device-key', cert('capf.pem'), '--out', out]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(fs.existsSync(out), false);
  });

  it('an expired signer still verifies (phones ignore dates) and the expiry is a warning', async () => {
    const old = await makeCert({ cn: 'tftp-expired', notBefore: new Date('2015-01-01'), notAfter: new Date('2020-01-01') });
    const files = await old.write(dir);
    const src = path.join(dir, 'Ringlist.xml');
    fs.copyFileSync(vector('configs/Ringlist.xml'), src);
    assert.equal((await runCliCaptured(['sign', src, '--signer', files.signer])).code, 0);
    const r = await runCliCaptured(['verify', `${src}.sgn`, '--cert', files.cert]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^valid:/);
    assert.match(r.stderr, /warning: the signer certificate "tftp-expired" expired on 2020-01-01/);
    const j = await runCliCaptured(['verify', '--json', `${src}.sgn`, '--cert', files.cert]);
    assert.equal(JSON.parse(j.stdout).valid, true);
    assert.ok(JSON.parse(j.stdout).warnings.some((w: string) => w.includes('expired on 2020-01-01')));
  });

  it('certhash defaults to base64 SHA-1 of the DER', async () => {
    const der = new X509Certificate(fs.readFileSync(cert('sast-a.pem'))).raw;
    const r = await runCliCaptured(['certhash', cert('sast-a.pem')]);
    assert.equal(r.stdout.trim(), createHash('sha1').update(der).digest('base64'));
  });
});
