import { strict as assert } from 'node:assert';
import { Role } from '../../src/formats/model';
import { NO_TVS, diffTrustLists, preflight, ITL_WARNING_BYTES, type PhoneFile } from '../../src/trust';
import type { TrustList } from '../../src/formats/model';
import { config, ctl, holds, itl, makeCert, pki, preTwelveItl, rec, standardCtl, standardItl, tvsKnows, type Pki } from './fixture';

const DAY = 24 * 3600 * 1000;
const list = (f: PhoneFile) => ({ name: f.name, list: f.parsed as TrustList });

describe('trust: warnings', function () {
  this.timeout(120_000);
  let p: Pki;
  before(async () => {
    p = await pki();
  });

  it('a CTL with one SAST certificate is accepted but warned about', async () => {
    const single = await ctl(p.sastA, [rec(Role.SAST, p.sastA), rec(Role.CCM_TFTP, p.ccm)]);
    const r = preflight(holds({}), [single], NO_TVS);
    assert.equal(r.verdicts[0]!.verdict, 'accepted');
    const w = r.verdicts[0]!.warnings.find((x) => x.id === 'ctl-few-sast');
    assert.ok(w, 'ctl-few-sast warning');
    assert.match(w.message, /1 SAST certificate/);
    const two = preflight(holds({}), [await standardCtl(p)], NO_TVS);
    assert.ok(!two.verdicts[0]!.warnings.some((x) => x.id === 'ctl-few-sast'));
  });

  it('an expired signer and a record expiring within 90 days are warned about, never rejected', async () => {
    const expired = await makeCert({ cn: 'ITLRECOVERY_old', notBefore: new Date(Date.now() - 800 * DAY), notAfter: new Date(Date.now() - 10 * DAY) });
    const soon = await makeCert({ cn: 'CAPF-soon', notAfter: new Date(Date.now() + 30 * DAY) });
    const later = await makeCert({ cn: 'CAPF-later', notAfter: new Date(Date.now() + 200 * DAY) });
    const f = await itl(expired, [rec(Role.SAST, expired), rec(Role.CCM_TFTP, p.ccm), rec(Role.CAPF, soon), rec(Role.CAPF, later)]);
    const r = preflight(holds({}), [f], NO_TVS);
    assert.equal(r.verdicts[0]!.verdict, 'accepted', 'expiry is a warning, never a verdict');
    const ids = r.verdicts[0]!.warnings.map((w) => w.id);
    assert.ok(ids.includes('certificate-expired'));
    const expiring = r.verdicts[0]!.warnings.filter((w) => w.id === 'certificate-expiring');
    assert.equal(expiring.length, 1, 'only the certificate inside 90 days');
    assert.match(expiring[0]!.message, /CAPF-soon.*in (29|30) days/);
    // The signer is warned about once, not once as signer and again as record.
    assert.equal(r.verdicts[0]!.warnings.filter((w) => /ITLRECOVERY_old/.test(w.message)).length, 1);
  });

  it('an ITL near 64 KB is warned about with its size', async () => {
    const tvsCerts = [p.tvs, p.tvs2, p.otherTvs];
    const records = [rec(Role.SAST, p.itlRecovery), rec(Role.CCM_TFTP, p.ccm)];
    for (let i = 0; records.length < 38; i++) records.push(rec(Role.TVS, tvsCerts[i % tvsCerts.length]!, `tvs${i}.example.net`, `10.0.1.${i}`));
    const big = await itl(p.itlRecovery, records);
    assert.ok(big.bytes.length >= ITL_WARNING_BYTES, `${big.bytes.length} bytes`);
    const r = preflight(holds({ itl: await standardItl(p) }), [big], NO_TVS);
    const w = r.verdicts[0]!.warnings.find((x) => x.id === 'itl-size');
    assert.ok(w, 'itl-size warning');
    assert.ok(w.message.includes(big.bytes.length.toLocaleString('en-US')), w.message);
    const small = preflight(holds({}), [await standardItl(p)], NO_TVS);
    assert.ok(!small.verdicts[0]!.warnings.some((x) => x.id === 'itl-size'));
  });

  it('SHA-512 files are warned about (older phones cannot verify them)', async () => {
    const r = preflight(holds({ itl: await standardItl(p) }), [await config(p.ccm, 'SEP001122334455.cnf.xml.sgn', 'sha512')], NO_TVS);
    assert.equal(r.verdicts[0]!.verdict, 'accepted');
    assert.ok(r.verdicts[0]!.warnings.some((w) => w.id === 'sha512-older-phones'));
    const sha1 = preflight(holds({ itl: await standardItl(p) }), [await config(p.ccm)], NO_TVS);
    assert.deepEqual(sha1.verdicts[0]!.warnings, []);
  });
});

describe('trust: diff', function () {
  this.timeout(120_000);
  let p: Pki;
  before(async () => {
    p = await pki();
  });

  it('reports added, removed and changed records, and a signer change phones accept via TVS', async () => {
    const before = await preTwelveItl(p);
    const extra = await makeCert({ cn: 'cucm-sub1.example.net' });
    const after = await itl(p.ccm2, [
      rec(Role.SAST, p.ccm2),
      rec(Role.CCM_TFTP, p.ccm2, 'cucm-pub.example.net', '10.0.0.5'),
      rec(Role.TVS, p.tvs, 'cucm-pub.example.net', '10.0.0.6'), // moved
      rec(Role.APP_SERVER, extra),
    ]);
    const d = diffTrustLists(list(before), list(after), { sbd: true }, tvsKnows([p.ccm2], [p.tvs]));
    assert.equal(d.kind, 'itl');
    assert.deepEqual(d.added.map((r) => r.role), ['APP-SERVER']);
    assert.deepEqual(d.removed.map((r) => r.role), ['CAPF']);
    const byRole = Object.fromEntries(d.changed.map((c) => [c.after.role, c.changes]));
    assert.deepEqual(byRole.TVS, ['ipv4']);
    assert.deepEqual(byRole.SAST, ['certificate'], 'same subject, new certificate');
    assert.deepEqual(byRole['CCM+TFTP'], ['certificate']);
    assert.equal(d.unchanged, 0);
    assert.equal(d.signer.changed, true);
    assert.equal(d.digest.changed, false);
    assert.equal(d.acceptance.verdict, 'accepted-via-tvs');
    assert.equal(d.acceptance.rule, 'itl-signer-via-tvs');

    const noTvs = diffTrustLists(list(before), list(after));
    assert.equal(noTvs.acceptance.verdict, 'rejected');
  });

  it('a CTL re-signed by the other token with a new digest: no record change, accepted', async () => {
    const a = await standardCtl(p, p.sastA);
    const b = await ctl(p.sastB, (a.parsed as TrustList).records.map((r) => ({ role: r.role!, certificate: r.certificate!, dnsName: r.dnsName || undefined, ipv4: r.ipv4 })), 'sha512');
    const d = diffTrustLists(list(a), list(b));
    assert.equal(d.added.length + d.removed.length + d.changed.length, 0);
    assert.equal(d.unchanged, 6);
    assert.equal(d.signer.changed, true);
    assert.deepEqual([d.digest.before, d.digest.after, d.digest.changed], ['sha1', 'sha512', true]);
    assert.equal(d.acceptance.rule, 'ctl-signed-by-held-sast');
  });
});
