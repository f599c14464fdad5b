import { strict as assert } from 'node:assert';
import { Role } from '../../src/formats/model';
import type { Signer } from '../../src/crypto/signer';
import { NO_TVS, RULES, preflight, type PhoneFile, type PhoneTrust, type TvsModel, type VerdictKind } from '../../src/trust';
import { openPkcs11Signer, type Pkcs11Signer } from '../../src/pkcs11/signer';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';
import {
  config,
  ctl,
  encryptedConfig,
  holds,
  itl,
  pki,
  preTwelveItl,
  rec,
  standardCtl,
  standardItl,
  tampered,
  tvsKnows,
  unsigned,
  type Pki,
} from './fixture';

/**
 * The scenario table: real files signed in the test (fresh RSA keys, and a SoftHSM token), offered to a
 * modelled phone. Each row names what the phone holds, what it downloads, what TVS knows, and the verdict and
 * rule expected for every file, in download order.
 */
interface Scenario {
  name: string;
  setup(p: Pki): Promise<{ phone: PhoneTrust; files: PhoneFile[]; tvs?: TvsModel }>;
  expect: Array<[VerdictKind, keyof typeof RULES]>;
  /** Extra checks on the result (vouching record, missing certificate, what the phone holds afterwards). */
  check?(result: ReturnType<typeof preflight>, p: Pki): void;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'a phone with nothing accepts its first CTL',
    setup: async (p) => ({ phone: holds({}), files: [await standardCtl(p)] }),
    expect: [['accepted', 'first-trust-list']],
    check: (r) => {
      assert.equal(r.verdicts[0]!.vouchedBy?.source, 'file');
      assert.equal(r.after.ctl?.name, 'CTLFile.tlv');
    },
  },
  {
    name: 'a phone with nothing accepts its first ITL, then a config signed by the ITL\'s TFTP certificate',
    setup: async (p) => ({ phone: holds({}), files: [await config(p.ccm), await standardItl(p)] }),
    expect: [
      ['accepted', 'first-trust-list'],
      ['accepted', 'config-signed-by-tftp-record'],
    ],
    check: (r) => assert.equal(r.verdicts[0]!.kind, 'itl', 'the ITL is offered before the config (download order)'),
  },
  {
    name: 'a phone with nothing does not check configs, signed or not',
    setup: async (p) => ({ phone: holds({}), files: [await config(p.capf), unsigned()] }),
    expect: [
      ['accepted', 'config-nothing-held'],
      ['accepted', 'config-nothing-held'],
    ],
  },
  {
    name: 'a new CTL signed by the second token of the held CTL is accepted',
    setup: async (p) => ({ phone: holds({ ctl: await standardCtl(p, p.sastA) }), files: [await standardCtl(p, p.sastB)] }),
    expect: [['accepted', 'ctl-signed-by-held-sast']],
    check: (r, p) => {
      assert.equal(r.verdicts[0]!.vouchedBy?.source, 'held-ctl');
      assert.equal(r.verdicts[0]!.vouchedBy?.role, 'SAST');
      assert.equal(r.verdicts[0]!.vouchedBy?.serial, p.sastB.serialHex.replace(/^0+/, ''));
    },
  },
  {
    name: 'a new CTL signed by a SAST token the held CTL does not list is rejected',
    setup: async (p) => ({
      phone: holds({ ctl: await standardCtl(p, p.sastA) }),
      files: [await standardCtl(p, p.sastC, [rec(Role.SAST, p.sastC)])],
      tvs: tvsKnows([p.sastC]),
    }),
    expect: [['rejected', 'ctl-signer-not-in-held-ctl']],
    check: (r, p) => {
      const v = r.verdicts[0]!;
      assert.equal(v.missing?.subject, p.sastC.subject);
      assert.equal(r.after.ctl?.sha1, r.before.ctl?.sha1, 'the phone keeps its old CTL');
      assert.match(v.reason, /SAST-eToken-C/);
    },
  },
  {
    name: 'a new CTL signed by a certificate the held CTL lists only as CCM+TFTP is rejected',
    setup: async (p) => ({ phone: holds({ ctl: await standardCtl(p) }), files: [await standardCtl(p, p.ccm)] }),
    expect: [['rejected', 'ctl-signer-not-in-held-ctl']],
    check: (r) => assert.match(r.verdicts[0]!.reason, /only as CCM\+TFTP/),
  },
  {
    name: 'a CTL whose signature does not verify is rejected even when its signer is held',
    setup: async (p) => ({ phone: holds({ ctl: await standardCtl(p) }), files: [tampered(await standardCtl(p, p.sastB))] }),
    expect: [['rejected', 'signature-invalid']],
  },
  {
    name: 'a first CTL with a broken signature is rejected by a phone that holds nothing',
    setup: async (p) => ({ phone: holds({}), files: [tampered(await standardCtl(p))] }),
    expect: [['rejected', 'signature-invalid']],
  },
  {
    name: 'an ITL signed by the SAST of the held ITL (ITLRecovery) is accepted',
    setup: async (p) => ({ phone: holds({ itl: await standardItl(p) }), files: [await standardItl(p, { capf: p.capf2 })] }),
    expect: [['accepted', 'itl-signed-by-held-itl-sast']],
  },
  {
    name: 'an ITL signed by a regenerated TFTP key, phone holding only the old ITL, TVS not knowing it: rejected',
    setup: async (p) => ({ phone: holds({ itl: await preTwelveItl(p) }), files: [await preTwelveItl(p, { ccm: p.ccm2 })], tvs: tvsKnows([p.ccm]) }),
    expect: [['rejected', 'itl-signer-unknown']],
    check: (r, p) => assert.equal(r.verdicts[0]!.missing?.serial, p.ccm2.serialHex.replace(/^0+/, '')),
  },
  {
    name: 'the same ITL is accepted via TVS when TVS knows the regenerated certificate',
    setup: async (p) => ({ phone: holds({ itl: await preTwelveItl(p) }), files: [await preTwelveItl(p, { ccm: p.ccm2 }), await config(p.ccm2)], tvs: tvsKnows([p.ccm, p.ccm2], [p.tvs]) }),
    expect: [
      ['accepted-via-tvs', 'itl-signer-via-tvs'],
      ['accepted', 'config-signed-by-tftp-record'],
    ],
    check: (r, p) => {
      assert.equal(r.verdicts[0]!.vouchedBy?.source, 'tvs');
      assert.equal(r.verdicts[0]!.vouchedBy?.subject, p.ccm2.subject);
      assert.equal(r.verdicts[1]!.vouchedBy?.source, 'held-itl', 'the config is vouched for by the ITL just accepted');
    },
  },
  {
    name: 'CallManager and TVS regenerated together while CallManager signs the ITL: TVS cannot be authenticated, rejected',
    setup: async (p) => ({
      phone: holds({ itl: await preTwelveItl(p) }),
      files: [await preTwelveItl(p, { ccm: p.ccm2, tvs: p.tvs2 })],
      tvs: tvsKnows([p.ccm2, p.tvs2], [p.tvs2]),
    }),
    expect: [['rejected', 'itl-signer-unknown']],
    check: (r) => assert.match(r.verdicts[0]!.reason, /cannot authenticate TVS/),
  },
  {
    name: 'a phone without Security by Default facing a new ITL signer is rejected even though TVS knows it',
    setup: async (p) => ({ phone: holds({ itl: await preTwelveItl(p), sbd: false }), files: [await preTwelveItl(p, { ccm: p.ccm2 })], tvs: tvsKnows([p.ccm2], [p.tvs]) }),
    expect: [['rejected', 'no-sbd-signer-change']],
  },
  {
    name: 'a 7960 holding a CTL facing a config signed by a regenerated TFTP key is rejected',
    setup: async (p) => ({ phone: holds({ ctl: await standardCtl(p), sbd: false }), files: [await config(p.ccm2)], tvs: tvsKnows([p.ccm2]) }),
    expect: [['rejected', 'no-sbd-signer-change']],
  },
  {
    name: 'a config signed by the CAPF key is rejected',
    setup: async (p) => ({ phone: holds({ itl: await standardItl(p) }), files: [await config(p.capf)] }),
    expect: [['rejected', 'config-signer-not-tftp-capable']],
    check: (r) => assert.match(r.verdicts[0]!.reason, /only as CAPF/),
  },
  {
    name: 'a config signed by the CCM+TFTP certificate of the held ITL is accepted',
    setup: async (p) => ({ phone: holds({ itl: await standardItl(p) }), files: [await config(p.ccm)] }),
    expect: [['accepted', 'config-signed-by-tftp-record']],
  },
  {
    name: 'an encrypted config signed by the CCM+TFTP certificate of the held CTL is accepted',
    setup: async (p) => ({ phone: holds({ ctl: await standardCtl(p) }), files: [await encryptedConfig(p.ccm, p.device)] }),
    expect: [['accepted', 'config-signed-by-tftp-record']],
    check: (r) => assert.equal(r.verdicts[0]!.kind, 'encrypted'),
  },
  {
    name: 'a config signed by a certificate the phone does not hold is accepted via TVS',
    setup: async (p) => ({ phone: holds({ itl: await standardItl(p) }), files: [await config(p.ccm2)], tvs: tvsKnows([p.ccm2]) }),
    expect: [['accepted-via-tvs', 'config-signer-via-tvs']],
  },
  {
    name: 'TVS vouching for a certificate only as CAPF does not make it a config signer',
    setup: async (p) => ({
      phone: holds({ itl: await standardItl(p) }),
      files: [await config(p.capf2)],
      tvs: { knows: [{ certificate: p.capf2.certDer, roles: [Role.CAPF] }] },
    }),
    expect: [['rejected', 'config-signer-unknown']],
  },
  {
    name: 'a config signed by a certificate nobody vouches for is rejected',
    setup: async (p) => ({ phone: holds({ itl: await standardItl(p) }), files: [await config(p.otherCcm)] }),
    expect: [['rejected', 'config-signer-unknown']],
  },
  {
    name: 'an unsigned config is rejected by a phone that holds an ITL',
    setup: async (p) => ({ phone: holds({ itl: await standardItl(p) }), files: [unsigned()] }),
    expect: [['rejected', 'unsigned-config-refused']],
  },
  {
    name: 'after the rollback ITL, an unsigned config and a config signed by a stranger are accepted',
    setup: async (p) => {
      const rollback = await itl(p.itlRecovery, [rec(Role.SAST, p.itlRecovery), rec(Role.CAPF, p.capf)]);
      return { phone: holds({ itl: await standardItl(p) }), files: [rollback, unsigned(), await config(p.otherCcm, 'SEP0011223344AA.cnf.xml.sgn')] };
    },
    expect: [
      ['accepted', 'itl-signed-by-held-itl-sast'],
      ['accepted', 'rollback-itl-accepts-any'],
      ['accepted', 'rollback-itl-accepts-any'],
    ],
    check: (r) => assert.equal(r.after.itl?.rollback, true),
  },
  {
    name: 'a phone holding the rollback ITL accepts a new ITL signed by another cluster, then that cluster\'s configs',
    setup: async (p) => {
      const rollback = await itl(p.itlRecovery, [rec(Role.SAST, p.itlRecovery), rec(Role.CAPF, p.capf)]);
      const otherItl = await itl(p.otherItlRecovery, [rec(Role.SAST, p.otherItlRecovery), rec(Role.CCM_TFTP, p.otherCcm), rec(Role.TVS, p.otherTvs)]);
      return { phone: holds({ itl: rollback }), files: [otherItl, await config(p.otherCcm)] };
    },
    expect: [
      ['accepted', 'rollback-itl-accepts-any'],
      ['accepted', 'config-signed-by-tftp-record'],
    ],
  },
  {
    name: 'with a CTL, an ITL signed by ITLRecovery (a SAST of the CTL) is accepted',
    setup: async (p) => ({ phone: holds({ ctl: await standardCtl(p), itl: await standardItl(p) }), files: [await standardItl(p, { capf: p.capf2 })] }),
    expect: [['accepted', 'itl-signer-in-held-ctl']],
    check: (r) => assert.equal(r.verdicts[0]!.vouchedBy?.source, 'held-ctl'),
  },
  {
    name: 'with a CTL, an ITL signed by a certificate the CTL does not list is rejected (TVS is not asked)',
    setup: async (p) => ({
      phone: holds({ ctl: await standardCtl(p), itl: await standardItl(p) }),
      files: [await standardItl(p, { signer: p.itlRecovery2 })],
      tvs: tvsKnows([p.itlRecovery2], [p.tvs]),
    }),
    expect: [['rejected', 'itl-signer-not-in-held-ctl']],
  },
  {
    name: 'a rejected CTL leaves the old one in place, so the ITL signed by the key only the new CTL lists is rejected too',
    setup: async (p) => {
      const newCtl = await ctl(p.sastC, [rec(Role.SAST, p.sastC), rec(Role.SAST, p.itlRecovery2)]);
      return { phone: holds({ ctl: await standardCtl(p), itl: await standardItl(p) }), files: [await standardItl(p, { signer: p.itlRecovery2 }), newCtl] };
    },
    expect: [
      ['rejected', 'ctl-signer-not-in-held-ctl'],
      ['rejected', 'itl-signer-not-in-held-ctl'],
    ],
  },
  {
    name: 'a CTL update that adds the new ITLRecovery first makes the ITL it signs acceptable',
    setup: async (p) => ({
      phone: holds({ ctl: await standardCtl(p), itl: await standardItl(p) }),
      files: [await standardItl(p, { signer: p.itlRecovery2 }), await standardCtl(p, p.sastB, [rec(Role.SAST, p.itlRecovery2)])],
    }),
    expect: [
      ['accepted', 'ctl-signed-by-held-sast'],
      ['accepted', 'itl-signer-in-held-ctl'],
    ],
  },
  {
    name: 'a phone holding only an ITL accepts a first CTL signed by ITLRecovery, which its ITL lists',
    setup: async (p) => ({ phone: holds({ itl: await standardItl(p) }), files: [await standardCtl(p, p.itlRecovery)] }),
    expect: [['accepted', 'ctl-signer-in-held-itl']],
  },
  {
    name: 'a phone holding only an ITL asks TVS about a first CTL signed by an eToken',
    setup: async (p) => ({ phone: holds({ itl: await standardItl(p) }), files: [await standardCtl(p, p.sastA)], tvs: tvsKnows([p.sastA, p.sastB]) }),
    expect: [['accepted-via-tvs', 'ctl-signer-via-tvs']],
  },
  {
    name: 'a phone holding only an ITL rejects a first CTL signed by an eToken TVS does not know',
    setup: async (p) => ({ phone: holds({ itl: await standardItl(p) }), files: [await standardCtl(p, p.sastA)] }),
    expect: [['rejected', 'ctl-signer-unknown']],
  },
  {
    name: 'a phone with nothing takes CTL, ITL and config in that order, each checked against what came before',
    setup: async (p) => ({ phone: holds({}), files: [await config(p.ccm), await standardItl(p), await standardCtl(p)] }),
    expect: [
      ['accepted', 'first-trust-list'],
      ['accepted', 'itl-signer-in-held-ctl'],
      ['accepted', 'config-signed-by-tftp-record'],
    ],
  },
];

describe('trust: scenario table', function () {
  this.timeout(120_000);
  let p: Pki;
  before(async () => {
    p = await pki();
  });

  it('has at least 20 scenarios, each with a verdict and a known rule per file', () => {
    assert.ok(SCENARIOS.length >= 20, `${SCENARIOS.length} scenarios`);
    for (const s of SCENARIOS) for (const [, rule] of s.expect) assert.ok(rule in RULES, `${s.name}: unknown rule ${rule}`);
  });

  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      const { phone, files, tvs } = await scenario.setup(p);
      const result = preflight(phone, files, tvs ?? NO_TVS);
      const got = result.verdicts.map((v) => [v.verdict, v.rule]);
      assert.deepEqual(got, scenario.expect, result.verdicts.map((v) => `${v.name}: ${v.reason}`).join('\n'));
      for (const v of result.verdicts) {
        assert.equal(v.ruleText, RULES[v.rule as keyof typeof RULES]);
        assert.ok(v.reason.length > 10 && !v.reason.includes('\n'), 'a one-sentence reason');
        if (v.verdict === 'rejected' && v.rule !== 'unsigned-config-refused' && v.rule !== 'signature-invalid') {
          assert.ok(v.missing, `${v.name}: a rejection names the missing certificate`);
        }
        if (v.verdict !== 'rejected' && !v.rule.startsWith('config-nothing') && v.rule !== 'rollback-itl-accepts-any') {
          assert.ok(v.vouchedBy, `${v.name}: an acceptance names the record that vouched`);
        }
      }
      assert.equal(result.ok, scenario.expect.every(([v]) => v !== 'rejected'));
      scenario.check?.(result, p);
    });
  }
});

describe('trust: a SoftHSM token as SAST', function () {
  this.timeout(120_000);
  let hsm: SoftHsmFixture | undefined;
  let token: Pkcs11Signer | undefined;
  const PIN = 'Tr-9pin';

  before(async function () {
    try {
      hsm = await createSoftHsm({ pin: PIN, tokens: [{ label: 'eToken-S', keys: [{ keyBits: 2048, subject: 'CN=SAST-eToken-S,OU=IPCBU,O=openctl test' }] }] });
    } catch (err) {
      // SoftHSM is a CI dependency (.ci/run installs it); without it there is nothing real to test.
      console.warn(`SoftHSM unavailable: ${(err as Error).message}`);
      this.skip();
    }
    hsm!.activate();
    token = await openPkcs11Signer('pkcs11:token=eToken-S', { modules: [hsm!.modulePath], env: { OPENCTL_PIN: PIN } });
  });
  after(async () => {
    await token?.close();
    hsm?.cleanup();
  });

  it('a new CTL signed on the token, which the held CTL lists as SAST, is accepted; a CTL the token did not sign is not', async () => {
    const p = await pki();
    const held = await ctl(p.sastA, [rec(Role.SAST, p.sastA), { role: Role.SAST, certificate: Buffer.from(token!.certificate) }, rec(Role.CCM_TFTP, p.ccm)]);
    const fromToken = await ctl(token as Signer, [rec(Role.SAST, p.sastA), { role: Role.SAST, certificate: Buffer.from(token!.certificate) }, rec(Role.CCM_TFTP, p.ccm2)]);
    const ok = preflight(holds({ ctl: held }), [fromToken], NO_TVS);
    assert.deepEqual(ok.verdicts.map((v) => [v.verdict, v.rule]), [['accepted', 'ctl-signed-by-held-sast']]);
    assert.match(ok.verdicts[0]!.vouchedBy!.subject, /SAST-eToken-S/);

    const stranger = preflight(holds({ ctl: await standardCtl(p) }), [fromToken], NO_TVS);
    assert.deepEqual(stranger.verdicts.map((v) => [v.verdict, v.rule]), [['rejected', 'ctl-signer-not-in-held-ctl']]);
  });
});
