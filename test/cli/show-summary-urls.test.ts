import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildTrustList, Role, type TrustList } from '../../src/formats';
import { parseFile } from '../../src/formats';
import { startHttpFileServer, startTftpServer, type RunningHttpServer, type RunningTftpServer } from '../../src/fetch';
import { runCliCaptured } from '../helpers/run-cli';
import { makeCert, type TestCert } from '../helpers/pki';
import { FIXTURES, vector } from '../helpers/paths';

/** Issue 10, item 19: `show --summary` (one line per record with its expiry) and URLs for show and verify. */
const DAY = 86_400_000;
const HOST = '127.0.0.1';

interface SummaryLine {
  index: number;
  roleName?: string;
  name?: string;
  certificate: string;
  notAfter?: string;
  daysLeft?: number;
  expiry?: string;
  signedTheFile: boolean;
}

describe('cli: show --summary lists every record with its certificate expiry', function () {
  this.timeout(60_000);
  let dir: string;
  let ctlPath: string;
  let certs: Record<'sastA' | 'sastB' | 'expired' | 'soon' | 'evil', TestCert>;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-summary-'));
    const now = Date.now();
    certs = {
      sastA: await makeCert({ cn: 'SAST-A' }),
      sastB: await makeCert({ cn: 'SAST-B' }),
      expired: await makeCert({ cn: 'old-tftp.example.net', notBefore: new Date(now - 800 * DAY), notAfter: new Date(now - 30 * DAY) }),
      soon: await makeCert({ cn: 'capf-soon', notAfter: new Date(now + 20.5 * DAY) }),
      evil: await makeCert({ cn: 'evil\u001b[8mhidden\u0007\u001b[0m' }),
    };
    const bytes = await buildTrustList({
      kind: 'ctl',
      filename: 'CTLFile.tlv',
      signer: certs.sastA.signer,
      records: [
        { role: Role.SAST, certificate: certs.sastA.certDer },
        { role: Role.SAST, certificate: certs.sastB.certDer },
        { role: Role.TFTP, certificate: certs.expired.certDer, dnsName: 'old-tftp.example.net', ipv4: '10.0.0.9' },
        { role: Role.CAPF, certificate: certs.soon.certDer },
        { role: Role.CCM, certificate: certs.evil.certDer },
      ],
    });
    ctlPath = path.join(dir, 'CTLFile.tlv');
    fs.writeFileSync(ctlPath, bytes);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints one line per record: function, name, DNS/IP, expiry (EXPIRED / in N days), the signer, then the verdict', async () => {
    const r = await runCliCaptured(['show', '--summary', ctlPath]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /\(CTL\): signed by CN=SAST-A,O=openctl test,OU=UC, SHA1, \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(lines[1], '5 records:');
    assert.match(lines[2]!, /^#\s+FUNCTION\s+NAME\s+DNS \/ IP\s+EXPIRES$/);
    const rows = lines.slice(3, 8);
    assert.match(rows[0]!, /^1\s+SAST\s+SAST-A\s+-\s+\d{4}-\d\d-\d\d\s+signed this file$/);
    assert.match(rows[1]!, /^2\s+SAST\s+SAST-B\s+-\s+\d{4}-\d\d-\d\d$/);
    const expiredDay = new Date(new X509Certificate(certs.expired.certDer).validTo).toISOString().slice(0, 10);
    assert.match(rows[2]!, new RegExp(`^3\\s+TFTP\\s+old-tftp\\.example\\.net\\s+old-tftp\\.example\\.net / 10\\.0\\.0\\.9\\s+${expiredDay} EXPIRED$`));
    assert.match(rows[3]!, /^4\s+CAPF\s+capf-soon\s+-\s+\d{4}-\d\d-\d\d \(in 20 days\)$/);
    // The crafted CN (ESC [8m hides what follows on a terminal) is printed escaped.
    assert.match(rows[4]!, /^5\s+CCM\s+evil\\u001b\[8mhidden\\u0007\\u001b\[0m\s+-\s+\d{4}-\d\d-\d\d$/);
    assert.equal(lines.length, 9, r.stdout);
    assert.equal(lines[8], 'The CTL file was verified successfully.');
    assert.ok(!r.stdout.includes('\u001b'), 'no escape character reaches the terminal');
  });

  it('--json carries the same summary (notAfter, daysLeft, expiry) beside the show ctl report', async () => {
    const r = await runCliCaptured(['show', '--json', ctlPath]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { records: unknown[]; summary: SummaryLine[] };
    assert.equal(json.records.length, 5, 'the full report is still there');
    assert.deepEqual(
      json.summary.map((s) => [s.index, s.roleName, s.certificate, s.expiry, s.signedTheFile]),
      [
        [1, 'SAST', 'certificate', 'ok', true],
        [2, 'SAST', 'certificate', 'ok', false],
        [3, 'TFTP', 'certificate', 'expired', false],
        [4, 'CAPF', 'certificate', 'soon', false],
        [5, 'CCM', 'certificate', 'ok', false],
      ],
    );
    const expired = json.summary[2]!;
    assert.equal(expired.notAfter, new Date(new X509Certificate(certs.expired.certDer).validTo).toISOString());
    assert.ok(expired.daysLeft! < 0 && expired.daysLeft! >= -31);
    assert.equal(json.summary[3]!.daysLeft, 20);
  });

  it('stubs, hash-only records and damaged certificates are named as such, never exit 70', async () => {
    const stubLines = await runCliCaptured(['show', '--summary', vector('cucm-style', 'CTLFile-cucm-style.tlv')]);
    assert.equal(stubLines.code, 0);
    assert.match(stubLines.stdout, /^5\s+CCM\+TFTP\s+-\s+10\.0\.0\.6\s+no certificate \(stub\)$/m);
    const hashOnly = await runCliCaptured(['show', '--summary', vector('cucm-style', 'ITLFile-cucm-style.tlv')]);
    assert.match(hashOnly.stdout, /^4\s+TVS\s+tvs-pub\.example\.net\s+cucm-sub1\.example\.net\s+certificate hash only$/m);
    // Bit flips inside record 3's certificate, most of them in its validity dates (the UTCTime after notBefore):
    // the list no longer verifies, show still lists every record (exit 0), the damaged one named for what it is.
    const list = parseFile(fs.readFileSync(ctlPath)) as TrustList;
    const cert = list.records[2]!.elements.find((e) => e.tag === 9)!;
    const notBefore = cert.value.indexOf(Buffer.from([0x17, 0x0d]));
    const notAfter = cert.value.indexOf(Buffer.from([0x17, 0x0d]), notBefore + 2);
    assert.ok(notBefore > 0 && notAfter > notBefore, 'UTCTime validity in the test certificate');
    const positions = [4, 20, cert.value.length - 10, ...Array.from({ length: 15 }, (_, i) => notAfter + i)];
    const outcomes = new Set<string>();
    for (const at of positions) {
      for (const mask of [0x01, 0x08, 0x40]) {
        const bytes = fs.readFileSync(ctlPath);
        bytes[cert.offset + 3 + at]! ^= mask;
        const file = path.join(dir, `flip-${at}-${mask}.tlv`);
        fs.writeFileSync(file, bytes);
        for (const args of [['show', '--summary', file], ['show', '--json', file]]) {
          const r = await runCliCaptured(args);
          assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
          if (args[1] === '--summary') {
            const row = r.stdout.split('\n').find((l) => l.startsWith('3 '))!;
            outcomes.add(row.replace(/\d{4}-\d\d-\d\d/, 'DATE').replace(/\s+/g, ' ').replace(/^3 TFTP old-tftp\.example\.net old-tftp\.example\.net \/ 10\.0\.0\.9 /, ''));
            assert.match(r.stdout, /The CTL file signature is INVALID/);
          } else {
            const json = JSON.parse(r.stdout) as { summary: SummaryLine[] };
            assert.equal(json.summary.length, 5);
          }
        }
      }
    }
    const allowed = new Set(['DATE EXPIRED', 'DATE', 'DATE (in 0 days)', 'unreadable certificate', 'no valid expiry date']);
    for (const o of outcomes) assert.ok(allowed.has(o) || /^DATE \(in \d+ days?\)$/.test(o), o);
    assert.ok(outcomes.has('unreadable certificate'), [...outcomes].join(', '));
  });

  it('signed files and firmware containers get one line about the file', async () => {
    const r = await runCliCaptured(['show', '--summary', vector('configs', 'Ringlist.xml.sgn'), '--cert', vector('certs', 'ccm-tftp.pem')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split('\n').slice(1), ['body: 122 bytes, SHA1 5107f862fe9df418e77a36176c73237d9c214fcf', 'The file was verified successfully.']);
    const fw = await runCliCaptured(['show', '--summary', path.join(FIXTURES, 'own', 'firmware', 'SCCP45.9-4-2SR3-1S.loads')]);
    assert.match(fw.stdout, /\(signed firmware container\): signed by CN=cucm-pub\.example\.net;O=Example Voice;OU=UC, SHA1, no timestamp/);
  });
});

describe('cli: show and verify take tftp:// and http:// URLs as diff does', function () {
  this.timeout(60_000);
  let tftp: RunningTftpServer;
  let http: RunningHttpServer;
  const files: Record<string, Buffer> = {
    'CTLFile.tlv': fs.readFileSync(vector('CTLFile-sha1.tlv')),
    'ITLFile.tlv': fs.readFileSync(vector('ITLFile-sha1.tlv')),
    'SEP001122334455.cnf.xml.sgn': fs.readFileSync(vector('configs', 'SEP001122334455.cnf.xml.sgn')),
    'SCCP45.9-4-2SR3-1S.loads': fs.readFileSync(path.join(FIXTURES, 'own', 'firmware', 'SCCP45.9-4-2SR3-1S.loads')),
    'SEP001122334455.cnf.xml': fs.readFileSync(vector('configs', 'SEP001122334455.cnf.xml')),
  };
  before(async () => {
    tftp = await startTftpServer({ files });
    http = await startHttpFileServer({ files });
  });
  after(async () => {
    await tftp.close();
    await http.close();
  });

  it('show tftp://HOST:PORT/CTLFile.tlv prints what show prints for the local file', async () => {
    const local = await runCliCaptured(['show', vector('CTLFile-sha1.tlv')]);
    const url = `tftp://${HOST}:${tftp.port}/CTLFile.tlv`;
    const remote = await runCliCaptured(['show', url]);
    assert.equal(remote.code, 0, remote.stderr);
    assert.equal(remote.stdout.split('\n').slice(1).join('\n'), local.stdout.split('\n').slice(1).join('\n'));
    assert.equal(remote.stdout.split('\n')[0], `File: ${url} (CTL)`);
    const summary = await runCliCaptured(['show', '--summary', `http://${HOST}:${http.port}/ITLFile.tlv`]);
    assert.equal(summary.code, 0, summary.stderr);
    assert.match(summary.stdout, /\(ITL\).*\n3 records:/);
    const asItl = await runCliCaptured(['show', '--kind', 'itl', '--json', url]);
    assert.equal((JSON.parse(asItl.stdout) as { kind: string }).kind, 'itl', '--kind applies to URLs too');
  });

  it('verify takes the file and the --trust lists as URLs', async () => {
    const cfg = `http://${HOST}:${http.port}/SEP001122334455.cnf.xml.sgn`;
    const r = await runCliCaptured(['verify', cfg, '--trust', `tftp://${HOST}:${tftp.port}/CTLFile.tlv`, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const json = JSON.parse(r.stdout) as { valid: boolean; via: string; record: { trustFile: string } };
    assert.equal(json.valid, true);
    assert.equal(json.via, 'trust-list');
    assert.equal(json.record.trustFile, `tftp://${HOST}:${tftp.port}/CTLFile.tlv`);
    const list = await runCliCaptured(['verify', `tftp://${HOST}:${tftp.port}/ITLFile.tlv`]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^valid: tftp:\/\//);
    const fw = await runCliCaptured(['verify', `tftp://${HOST}:${tftp.port}/SCCP45.9-4-2SR3-1S.loads`, '--cert', vector('certs', 'ccm-tftp.pem')]);
    assert.equal(fw.code, 0, fw.stdout + fw.stderr);
  });

  it('a missing file, a plain config, a dead server and a bad --timeout are one line, exit 2', async () => {
    const missing = await runCliCaptured(['show', `tftp://${HOST}:${tftp.port}/nothere.tlv`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^openctl: tftp:\/\/127\.0\.0\.1:\d+\/nothere\.tlv: nothere\.tlv: TFTP error 1/);
    const notFound = await runCliCaptured(['verify', `http://${HOST}:${http.port}/nothere.sgn`, '--cert', vector('certs', 'ccm-tftp.pem')]);
    assert.equal(notFound.code, 2);
    assert.match(notFound.stderr, /http:\/\/127\.0\.0\.1:\d+\/nothere\.sgn: .*404/);
    const plain = await runCliCaptured(['show', `http://${HOST}:${http.port}/SEP001122334455.cnf.xml`]);
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /^openctl: http:\/\/127\.0\.0\.1:\d+\/SEP001122334455\.cnf\.xml: at byte 0: not a Cisco TLV file/);
    const started = Date.now();
    const dead = await runCliCaptured(['show', 'http://127.0.0.1:1/CTLFile.tlv', '--timeout', '200']);
    assert.equal(dead.code, 2);
    assert.match(dead.stderr, /http:\/\/127\.0\.0\.1:1\/CTLFile\.tlv: /);
    assert.ok(Date.now() - started < 10_000);
    const badTimeout = await runCliCaptured(['show', vector('CTLFile-sha1.tlv'), '--timeout', 'soon']);
    assert.equal(badTimeout.code, 2);
    assert.match(badTimeout.stderr, /--timeout must be milliseconds/);
    for (const r of [missing, notFound, plain, dead, badTimeout]) assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});
