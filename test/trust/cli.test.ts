import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliCaptured, runCliProcess } from '../helpers/run-cli';
import { CONFIG_XML, config, pki, preTwelveItl, standardCtl, type Pki } from './fixture';

describe('CLI: openctl preflight and diff', function () {
  this.timeout(120_000);
  let p: Pki;
  let dir: string;
  const at = (...parts: string[]) => path.join(dir, ...parts);
  const put = (rel: string, bytes: Buffer | string) => {
    fs.mkdirSync(path.dirname(at(rel)), { recursive: true });
    fs.writeFileSync(at(rel), bytes);
    return at(rel);
  };

  before(async () => {
    p = await pki();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-preflight-'));
    put('now/CTLFile.tlv', (await standardCtl(p, p.sastA)).bytes);
    put('now/ITLFile.tlv', (await preTwelveItl(p)).bytes);
    put('new/ITLFile.tlv', (await preTwelveItl(p, { ccm: p.ccm2 })).bytes);
    put('new/SEP001122334455.cnf.xml.sgn', (await config(p.ccm2)).bytes);
    put('new-ctl-c/CTLFile.tlv', (await standardCtl(p, p.sastC)).bytes);
    put('certs/ccm2.pem', p.ccm2.certPem);
    put('certs/tvs.pem', p.tvs.certPem);
    put('plain/SEP001122334455.cnf.xml', CONFIG_XML);
    // A fleet: SBD phones holding the pre-12 ITL, 7960s holding only the CTL, and a new phone holding nothing.
    put('fleet/8845-lab/ITLFile.tlv', (await preTwelveItl(p)).bytes);
    put('fleet/8845-lab/phone.json', JSON.stringify({ phones: 120 }));
    put('fleet/7960-lobby/CTLFile.tlv', (await standardCtl(p)).bytes);
    put('fleet/7960-lobby/phone.json', JSON.stringify({ sbd: false, phones: 8 }));
    fs.mkdirSync(at('fleet/unboxed'), { recursive: true });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints each verdict with its rule, exit 1 when any file is rejected', async () => {
    const r = await runCliCaptured(['preflight', '--phone-has', at('now/ITLFile.tlv'), '--deploy', at('new')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^phone holds: ITLFile\.tlv \(ITL, 4 records, signed by "cucm-pub\.example\.net"/m);
    assert.match(r.stdout, /^1\. ITLFile\.tlv: REJECTED \[itl-signer-unknown\]/m);
    assert.match(r.stdout, /missing certificate: "CN=cucm-pub\.example\.net,O=openctl test,OU=UC"/);
    assert.match(r.stdout, /^2\. SEP001122334455\.cnf\.xml\.sgn: REJECTED \[config-signer-unknown\]/m);
    assert.match(r.stdout, /^result: 2 of 2 files rejected/m);
  });

  it('with TVS knowing the regenerated certificate: accepted via TVS, exit 0; --json carries the same verdicts', async () => {
    const args = ['preflight', '--phone-has', at('now/ITLFile.tlv'), '--tvs-knows', at('certs/ccm2.pem'), '--tvs-cert', at('certs/tvs.pem'), '--deploy', at('new')];
    const r = await runCliCaptured(args);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /ITLFile\.tlv: accepted via TVS \[itl-signer-via-tvs\]/);
    assert.match(r.stdout, /SEP001122334455\.cnf\.xml\.sgn: accepted \[config-signed-by-tftp-record\]/);
    const j = await runCliCaptured([...args, '--json']);
    assert.equal(j.code, 0);
    const json = JSON.parse(j.stdout) as { ok: boolean; files: Array<{ verdict: string; rule: string; vouchedBy?: { source: string } }>; after: { itl: { signer: string } } };
    assert.equal(json.ok, true);
    assert.deepEqual(json.files.map((f) => [f.verdict, f.rule]), [['accepted-via-tvs', 'itl-signer-via-tvs'], ['accepted', 'config-signed-by-tftp-record']]);
    assert.equal(json.files[0]!.vouchedBy?.source, 'tvs');
    assert.equal(json.after.itl.signer, p.ccm2.subject);
  });

  it('a --phone-has folder (e.g. what openctl fetch wrote) contributes its trust lists and skips configs', async () => {
    const r = await runCliCaptured(['preflight', '--phone-has', at('new'), '--deploy', at('new/SEP001122334455.cnf.xml.sgn')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^phone holds: ITLFile\.tlv \(ITL/m);
    assert.match(r.stdout, /config-signed-by-tftp-record/);
  });

  it('--no-sbd turns the same rollout into a rejection', async () => {
    const r = await runCliCaptured(['preflight', '--no-sbd', '--phone-has', at('now/ITLFile.tlv'), '--tvs-knows', at('certs/ccm2.pem'), '--deploy', at('new/ITLFile.tlv')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /REJECTED \[no-sbd-signer-change\]/);
  });

  it('no --phone-has: a phone that holds nothing; an unsigned config is detected from its content', async () => {
    const alone = await runCliCaptured(['preflight', '--deploy', at('plain/SEP001122334455.cnf.xml')]);
    assert.equal(alone.code, 0, alone.stdout);
    assert.match(alone.stdout, /phone holds: nothing/);
    assert.match(alone.stdout, /SEP001122334455\.cnf\.xml: accepted \[config-nothing-held\]/);
    // With an ITL in the same rollout, the phone takes the ITL first and then refuses the unsigned config.
    const r = await runCliCaptured(['preflight', '--deploy', at('plain/SEP001122334455.cnf.xml'), at('now/ITLFile.tlv')]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /^1\. ITLFile\.tlv: accepted \[first-trust-list\]/m);
    assert.match(r.stdout, /^2\. SEP001122334455\.cnf\.xml: REJECTED \[unsigned-config-refused\]/m);
  });

  it('--fleet counts groups and phones per verdict, exit 1 when a group would reject', async () => {
    const r = await runCliCaptured(['preflight', '--fleet', at('fleet'), '--tvs-knows', at('certs/ccm2.pem'), '--deploy', at('new')]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /^fleet: 3 groups \(129 phones\)/m);
    assert.match(r.stdout, /^ {2}ITLFile\.tlv: accepted 1\/1, accepted via TVS 1\/120, rejected 1\/8$/m);
    assert.match(r.stdout, /^result: 1 of 3 groups \(8 phones\) would reject a file/m);
    const j = await runCliCaptured(['preflight', '--fleet', at('fleet'), '--tvs-knows', at('certs/ccm2.pem'), '--deploy', at('new'), '--json']);
    const json = JSON.parse(j.stdout) as { ok: boolean; groups: Array<{ name: string; ok: boolean }>; phonesRejecting: number };
    assert.equal(json.ok, false);
    assert.deepEqual(json.groups.map((g) => [g.name, g.ok]), [['7960-lobby', false], ['8845-lab', true], ['unboxed', true]]);
    assert.equal(json.phonesRejecting, 8);
  });

  it('bad input: exit 2 and one line naming the file', async () => {
    const missing = await runCliCaptured(['preflight', '--deploy', at('nope.tlv')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^openctl: .*nope\.tlv: cannot read: no such file\n$/);
    const broken = put('broken/ITLFile.tlv', Buffer.from([1, 0, 2, 1, 2, 0, 9]));
    const r = await runCliCaptured(['preflight', '--deploy', broken]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /ITLFile\.tlv: at byte \d+/);
    const twoCtls = await runCliCaptured(['preflight', '--phone-has', at('now/CTLFile.tlv'), '--phone-has', at('new-ctl-c/CTLFile.tlv'), '--deploy', at('new')]);
    assert.equal(twoCtls.code, 2);
    assert.match(twoCtls.stderr, /already holds an CTL/);
    const notList = await runCliCaptured(['preflight', '--phone-has', at('new/SEP001122334455.cnf.xml.sgn'), '--deploy', at('new')]);
    assert.equal(notList.code, 2);
    assert.match(notList.stderr, /a phone holds only a CTL and an ITL/);
  });

  it('runs as a real process with the same verdict and exit code', async () => {
    const r = await runCliProcess(['preflight', '--phone-has', at('now/CTLFile.tlv'), '--deploy', at('new-ctl-c/CTLFile.tlv')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /CTLFile\.tlv: REJECTED \[ctl-signer-not-in-held-ctl\]/);
    assert.equal(r.stderr, '');
  });

  it('openctl diff: records, signer, and whether phones holding OLD accept NEW', async () => {
    const r = await runCliCaptured(['diff', at('now/ITLFile.tlv'), at('new/ITLFile.tlv')]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /^signer: "CN=cucm-pub\.example\.net,O=openctl test,OU=UC" serial \w+ -> "CN=cucm-pub\.example\.net,O=openctl test,OU=UC" serial \w+ \(CHANGED\)/m);
    assert.match(r.stdout, /^records: 0 added, 0 removed, 2 changed, 2 unchanged$/m);
    assert.match(r.stdout, /-> CCM\+TFTP .* \(certificate\)/);
    assert.match(r.stdout, /ITLFile\.tlv: REJECTED \[itl-signer-unknown\]/);
    const ok = await runCliCaptured(['diff', at('now/ITLFile.tlv'), at('new/ITLFile.tlv'), '--tvs-knows', at('certs/ccm2.pem'), '--json']);
    assert.equal(ok.code, 0);
    const json = JSON.parse(ok.stdout) as { signer: { changed: boolean }; acceptance: { verdict: string }; changed: unknown[] };
    assert.equal(json.signer.changed, true);
    assert.equal(json.acceptance.verdict, 'accepted-via-tvs');
    assert.equal(json.changed.length, 2);
    const kinds = await runCliCaptured(['diff', at('now/CTLFile.tlv'), at('new/ITLFile.tlv')]);
    assert.equal(kinds.code, 2);
    assert.match(kinds.stderr, /diff compares lists of one kind/);
  });

  it('diff of two CTLs: a stranger token is rejected, exit 1', async () => {
    const r = await runCliCaptured(['diff', at('now/CTLFile.tlv'), at('new-ctl-c/CTLFile.tlv')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /REJECTED \[ctl-signer-not-in-held-ctl\]/);
    assert.match(r.stdout, /records: 1 added, 0 removed, 0 changed, 6 unchanged/);
    assert.match(r.stdout, /^ {2}\+ SAST "CN=SAST-eToken-C,O=openctl test,OU=UC"/m);
  });
});

