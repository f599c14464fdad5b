import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Role } from '../../src/formats/model';
import type { PlanJson } from '../../src/plan';
import { runCliCaptured } from '../helpers/run-cli';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';
import { ctl, itl, pki, preTwelveItl, rec, standardCtl, standardItl, type Pki } from '../trust/fixture';

/**
 * Every plan command end to end: it writes its folder, and every step it writes passes `openctl preflight` run
 * on the written files against what phones hold at that step. Orders that would lock phones out are refused
 * and write nothing.
 */
describe('CLI: openctl plan', function () {
  this.timeout(180_000);
  let p: Pki;
  let dir: string;
  const k: Record<string, string> = {}; // signer PEMs (key + cert)
  const c: Record<string, string> = {}; // certificate-only PEMs
  const f: Record<string, string> = {}; // current trust lists

  before(async () => {
    p = await pki();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-plan-'));
    for (const [name, cert] of Object.entries(p)) {
      const w = await cert.write(dir, name);
      k[name] = w.signer;
      c[name] = w.cert;
    }
    const put = (name: string, bytes: Buffer) => {
      f[name.replace(/\.tlv$/, '')] = path.join(dir, name);
      fs.writeFileSync(path.join(dir, name), bytes);
    };
    put('itl12.tlv', (await standardItl(p)).bytes);
    put('itlPre12.tlv', (await preTwelveItl(p)).bytes);
    put('ctl.tlv', (await standardCtl(p)).bytes);
    put('ctlTokenless.tlv', (await standardCtl(p, p.itlRecovery)).bytes);
    put('bItl.tlv', (await itl(p.otherItlRecovery, [rec(Role.SAST, p.otherItlRecovery), rec(Role.CCM_TFTP, p.otherCcm), rec(Role.TVS, p.otherTvs), rec(Role.CAPF, p.capf2)])).bytes);
    put('bCtl.tlv', (await ctl(p.sastC, [rec(Role.SAST, p.sastC), rec(Role.SAST, p.otherItlRecovery), rec(Role.CCM_TFTP, p.otherCcm)])).bytes);
    fs.writeFileSync(path.join(dir, 'SEP001122334455.cnf.xml'), '<device><fullConfig>true</fullConfig></device>\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Run the plan, then re-check every written step with `openctl preflight` on the files in the folder. */
  async function planAndVerify(args: string[], out: string, env: NodeJS.ProcessEnv = {}): Promise<PlanJson> {
    const r = await runCliCaptured([...args, '--out', out], env);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /result: every step passes preflight; written to /);
    const plan = JSON.parse(fs.readFileSync(path.join(out, 'plan.json'), 'utf8')) as PlanJson;
    assert.equal(plan.ok, true);
    assert.ok(plan.steps.length >= 1);
    const dirs = fs.readdirSync(out).filter((d) => /^\d\d-/.test(d)).sort();
    assert.deepEqual(dirs, ['00-now', ...plan.steps.map((s) => s.dir)], 'folders in rollout order');
    for (const [i, step] of plan.steps.entries()) {
      assert.ok(step.dir.startsWith(String(i + 1).padStart(2, '0')));
      assert.ok(step.actions.length > 0);
      for (const file of step.files) assert.ok(fs.existsSync(path.join(out, file)), file);
      const check = [
        'preflight',
        ...step.phoneHas.flatMap((h) => ['--phone-has', path.join(out, h)]),
        ...(step.tvsKnows ? ['--tvs-knows', path.join(out, step.tvsKnows)] : []),
        ...(step.tvsCert ? ['--tvs-cert', path.join(out, step.tvsCert)] : []),
        ...(step.sbd ? [] : ['--no-sbd']),
        '--deploy',
        path.join(out, step.dir),
        '--json',
      ];
      const pre = await runCliCaptured(check);
      assert.equal(pre.code, 0, `step ${step.dir} fails preflight:\n${pre.stdout}${pre.stderr}`);
      const verdicts = (JSON.parse(pre.stdout) as { files: Array<{ name: string; verdict: string; rule: string }> }).files;
      assert.deepEqual(
        verdicts.map((v) => [v.name, v.verdict, v.rule]),
        step.verdicts.map((v) => [v.name, v.verdict, v.rule]),
        `step ${step.dir}: the CLI preflight agrees with the plan's own check`,
      );
    }
    return plan;
  }
  const rules = (plan: PlanJson) => plan.steps.map((s) => s.verdicts.map((v) => `${v.name}:${v.rule}`).join(' '));

  it('regenerate callmanager + tvs (ITL signed by CallManager): TVS first, then CallManager accepted via TVS', async () => {
    const out = path.join(dir, 'regen-cm-tvs');
    const plan = await planAndVerify(
      ['plan', 'regenerate', '--cert', 'callmanager', '--cert', 'tvs', '--itl', f.itlPre12!, '--itl-signer', k.ccm!, '--config-signer', k.ccm!, '--new-callmanager', k.ccm2!, '--new-tvs', c.tvs2!],
      out,
    );
    assert.deepEqual(plan.steps.map((s) => s.dir), ['01-regenerate-tvs', '02-regenerate-callmanager']);
    assert.deepEqual(rules(plan), [
      'ITLFile.tlv:itl-signed-by-held-itl-sast SEP000000000000.cnf.xml.sgn:config-signed-by-tftp-record',
      'ITLFile.tlv:itl-signer-via-tvs SEP000000000000.cnf.xml.sgn:config-signed-by-tftp-record',
    ]);
    assert.ok(plan.steps[1]!.actions.some((a) => /Restart Cisco CallManager/.test(a)));
    assert.ok(plan.steps[0]!.actions.some((a) => /Restart Cisco Trust Verification Service/.test(a)));
    assert.ok(plan.steps.every((s) => s.actions.some((a) => /Reset the phones/.test(a))));
  });

  it('refuses CallManager and TVS together while CallManager signs the ITL, and writes nothing', async () => {
    const out = path.join(dir, 'regen-wrong');
    const r = await runCliCaptured([
      'plan', 'regenerate', '--cert', 'callmanager', '--cert', 'tvs', '--order', 'callmanager+tvs',
      '--itl', f.itlPre12!, '--itl-signer', k.ccm!, '--config-signer', k.ccm!, '--new-callmanager', k.ccm2!, '--new-tvs', c.tvs2!, '--out', out,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^REFUSED: step 1 regenerates the CallManager and TVS certificates together while the ITL is signed by the CallManager certificate/m);
    assert.match(r.stdout, /^REFUSED: step 1 \(Regenerate CallManager and TVS\) would lock phones out: ITLFile\.tlv rejected \[itl-signer-unknown\].*cannot authenticate TVS/m);
    assert.match(r.stdout, /^nothing written$/m);
    assert.equal(fs.existsSync(out), false);
    assert.equal(fs.readdirSync(dir).some((n) => n.includes('openctl-tmp')), false, 'no temporary folder left behind');
  });

  it('refuses an order that regenerates the TFTP certificate before the others', async () => {
    const r = await runCliCaptured([
      'plan', 'regenerate', '--cert', 'tftp', '--cert', 'capf', '--order', 'tftp,capf',
      '--itl', f.itl12!, '--itl-signer', k.itlRecovery!, '--config-signer', k.ccm!, '--new-tftp', k.ccm2!, '--new-capf', c.capf2!,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /REFUSED: step 1 regenerates the TFTP certificate before capf: regenerate the TFTP certificate last/);
  });

  it('regenerate capf, tvs, itlrecovery and tftp in mixed mode (CTL signed by eToken-A, ITL by ITLRecovery)', async () => {
    const out = path.join(dir, 'regen-all');
    const plan = await planAndVerify(
      [
        'plan', 'regenerate', '--cert', 'tftp', '--cert', 'capf', '--cert', 'itlrecovery', '--cert', 'tvs',
        '--ctl', f.ctl!, '--ctl-signer', k.sastA!, '--itl', f.itl12!, '--itl-signer', k.itlRecovery!, '--config-signer', k.ccm!,
        '--new-capf', c.capf2!, '--new-tvs', c.tvs2!, '--new-itlrecovery', k.itlRecovery2!, '--new-tftp', k.ccm2!,
        '--config', path.join(dir, 'SEP001122334455.cnf.xml'), '--digest', 'sha512',
      ],
      out,
    );
    assert.deepEqual(plan.steps.map((s) => s.dir), ['01-regenerate-capf', '02-regenerate-tvs', '03-regenerate-itlrecovery', '04-regenerate-tftp']);
    for (const s of plan.steps) {
      assert.deepEqual(s.verdicts.map((v) => v.rule), ['ctl-signed-by-held-sast', 'itl-signer-in-held-ctl', 'config-signed-by-tftp-record']);
      assert.ok(s.verdicts[2]!.warnings.some((w) => w.id === 'sha512-older-phones'));
      assert.ok(s.actions.some((a) => /Restart Cisco TFTP and Cisco CallManager/.test(a)), 'CTL changes restart TFTP and CallManager');
      // Where the CTL comes from: CUCM builds it (certificate upload, utils ctl update or the CTL Client); another
      // TFTP server gets the step's file. Never "install this folder's CTLFile.tlv" on CUCM.
      const ctlAction = s.actions.find((a) => /Update the CTL/.test(a)) ?? '';
      assert.match(ctlAction, /On CUCM: upload the new certificates \(.*Certificate Management\), then `utils ctl update CTLFile`/);
      assert.match(ctlAction, /Another TFTP server: copy this step's CTLFile\.tlv .* into its TFTP root/);
      assert.ok(s.actions.every((a) => !/install this folder/.test(a)));
    }
    assert.ok(fs.existsSync(path.join(out, '04-regenerate-tftp', 'SEP001122334455.cnf.xml.sgn')));
    assert.match(fs.readFileSync(path.join(out, 'PLAN.txt'), 'utf8'), /^step 4: Regenerate TFTP/m);
  });

  it('regenerate itlrecovery without a CTL: the new ITL is accepted via TVS', async () => {
    const plan = await planAndVerify(
      ['plan', 'regenerate', '--cert', 'itlrecovery', '--itl', f.itl12!, '--itl-signer', k.itlRecovery!, '--config-signer', k.ccm!, '--new-itlrecovery', k.itlRecovery2!],
      path.join(dir, 'regen-itlrecovery'),
    );
    assert.deepEqual(rules(plan), ['ITLFile.tlv:itl-signer-via-tvs SEP000000000000.cnf.xml.sgn:config-signed-by-tftp-record']);
  });

  it('regenerate itlrecovery when it also signs the CTL (tokenless): old key first, then a step signed by the new key', async () => {
    const plan = await planAndVerify(
      ['plan', 'regenerate', '--cert', 'itlrecovery', '--ctl', f.ctlTokenless!, '--ctl-signer', k.itlRecovery!, '--itl', f.itl12!, '--itl-signer', k.itlRecovery!, '--config-signer', k.ccm!, '--new-itlrecovery', k.itlRecovery2!],
      path.join(dir, 'regen-tokenless'),
    );
    assert.deepEqual(plan.steps.map((s) => s.dir), ['01-regenerate-itlrecovery', '02-ctl-signed-by-new-key']);
    assert.equal(plan.steps[0]!.verdicts[0]!.vouchedBy?.serial, p.itlRecovery.serialHex.replace(/^0+/, ''));
    assert.equal(plan.steps[1]!.verdicts[0]!.vouchedBy?.serial, p.itlRecovery2.serialHex.replace(/^0+/, ''));
    assert.deepEqual(plan.steps[1]!.verdicts.map((v) => v.rule), ['ctl-signed-by-held-sast', 'itl-signer-in-held-ctl', 'config-signed-by-tftp-record']);
  });

  it('the same regeneration is refused for phones without Security by Default', async () => {
    const r = await runCliCaptured(['plan', 'regenerate', '--no-sbd', '--cert', 'itlrecovery', '--itl', f.itl12!, '--itl-signer', k.itlRecovery!, '--config-signer', k.ccm!, '--new-itlrecovery', k.itlRecovery2!]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /REJECTED \[no-sbd-signer-change\]/);
  });

  it('move-cluster with each method', async () => {
    const common = ['--to-itl', f.bItl!, '--to-config-signer', k.otherCcm!];
    const rollback = await planAndVerify(['plan', 'move-cluster', '--method', 'rollback', '--from-itl', f.itl12!, '--from-itl-signer', k.itlRecovery!, ...common], path.join(dir, 'move-rollback'));
    assert.deepEqual(rules(rollback), ['ITLFile.tlv:itl-signed-by-held-itl-sast', 'ITLFile.tlv:rollback-itl-accepts-any SEP000000000000.cnf.xml.sgn:config-signed-by-tftp-record']);
    const certs = await planAndVerify(['plan', 'move-cluster', '--method', 'certificates', '--from-itl', f.itl12!, ...common], path.join(dir, 'move-certs'));
    assert.deepEqual(rules(certs), ['ITLFile.tlv:itl-signed-by-held-itl-sast', 'ITLFile.tlv:itl-signer-via-tvs SEP000000000000.cnf.xml.sgn:config-signed-by-tftp-record']);
    const shared = await planAndVerify(
      ['plan', 'move-cluster', '--method', 'shared-sast', '--from-ctl', f.ctl!, '--from-itl', f.itl12!, '--to-ctl', f.bCtl!, '--to-ctl-signer', k.sastB!, ...common],
      path.join(dir, 'move-shared'),
    );
    assert.deepEqual(rules(shared), ['CTLFile.tlv:ctl-signed-by-held-sast ITLFile.tlv:itl-signer-in-held-ctl SEP000000000000.cnf.xml.sgn:config-signed-by-tftp-record']);

    // B's own token is not in A's CTL: refused.
    const wrong = await runCliCaptured(['plan', 'move-cluster', '--method', 'shared-sast', '--from-ctl', f.ctl!, '--from-itl', f.itl12!, '--to-ctl', f.bCtl!, '--to-ctl-signer', k.sastC!, ...common]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /REFUSED: step 1 .* CTLFile\.tlv rejected \[ctl-signer-not-in-held-ctl\]/);
    // Moving without preparing anything: B's ITL would be rejected.
    const none = await runCliCaptured(['plan', 'move-cluster', '--method', 'certificates', '--from-itl', f.itl12!, '--to-itl', f.bItl!, '--to-config-signer', k.otherCcm!, '--no-sbd']);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /REJECTED \[no-sbd-signer-change\]/);
  });

  it('reimage behind the rollback ITL passes; without it, with a new TVS too, it is refused', async () => {
    const base = ['plan', 'reimage', '--itl', f.itlPre12!, '--itl-signer', k.ccm!, '--config-signer', k.ccm!, '--new-tftp', k.ccm2!, '--new-tvs', c.tvs2!];
    const plan = await planAndVerify(base, path.join(dir, 'reimage'));
    assert.deepEqual(plan.steps.map((s) => s.dir), ['01-rollback-itl-before-reimage', '02-reimage-tftp-server', '03-rollback-off']);
    assert.deepEqual(rules(plan), [
      'ITLFile.tlv:itl-signed-by-held-itl-sast SEP000000000000.cnf.xml.sgn:rollback-itl-accepts-any',
      'ITLFile.tlv:rollback-itl-accepts-any SEP000000000000.cnf.xml.sgn:rollback-itl-accepts-any',
      'ITLFile.tlv:itl-signed-by-held-itl-sast SEP000000000000.cnf.xml.sgn:config-signed-by-tftp-record',
    ]);
    const direct = await runCliCaptured([...base, '--without-rollback', '--out', path.join(dir, 'reimage-direct')]);
    assert.equal(direct.code, 1);
    assert.match(direct.stdout, /ITLFile\.tlv: REJECTED \[itl-signer-unknown\]/);
    assert.equal(fs.existsSync(path.join(dir, 'reimage-direct')), false);
  });

  it('rollback: rollback ITL, unsigned configs, then a new cluster\'s ITL', async () => {
    const plan = await planAndVerify(
      ['plan', 'rollback', '--itl', f.itl12!, '--itl-signer', k.itlRecovery!, '--config-signer', k.ccm!, '--next-itl-signer', k.otherItlRecovery!, '--next-config-signer', k.otherCcm!],
      path.join(dir, 'rollback'),
    );
    assert.deepEqual(rules(plan), [
      'ITLFile.tlv:itl-signed-by-held-itl-sast SEP000000000000.cnf.xml.sgn:rollback-itl-accepts-any',
      'SEP000000000000.cnf.xml:rollback-itl-accepts-any',
      'ITLFile.tlv:rollback-itl-accepts-any SEP000000000000.cnf.xml.sgn:config-signed-by-tftp-record',
    ]);
    const rollbackItl = plan.steps[0]!.verdicts[0]!;
    assert.equal(rollbackItl.holdsAfter.itl?.rollback, true);
  });

  it('an existing folder needs --force (and only a plan folder is replaced); input mistakes exit 2', async () => {
    const out = path.join(dir, 'regen-capf');
    const args = ['plan', 'regenerate', '--cert', 'capf', '--itl', f.itl12!, '--itl-signer', k.itlRecovery!, '--config-signer', k.ccm!, '--new-capf', c.capf2!, '--out', out];
    assert.equal((await runCliCaptured(args)).code, 0);
    const again = await runCliCaptured(args);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists \(use --force/);
    assert.equal((await runCliCaptured([...args, '--force'])).code, 0);
    const notPlan = path.join(dir, 'not-a-plan');
    fs.mkdirSync(notPlan);
    const refuse = await runCliCaptured([...args.slice(0, -1), notPlan, '--force']);
    assert.equal(refuse.code, 2);
    assert.match(refuse.stderr, /not a plan folder/);

    const wrongSigner = await runCliCaptured(['plan', 'regenerate', '--cert', 'capf', '--itl', f.itl12!, '--itl-signer', k.sastA!, '--config-signer', k.ccm!, '--new-capf', c.capf2!]);
    assert.equal(wrongSigner.code, 2);
    assert.match(wrongSigner.stderr, /--itl-signer .*sastA\.pem: this is not the certificate that signed --itl/);
    const noKey = await runCliCaptured(['plan', 'regenerate', '--cert', 'tftp', '--itl', f.itl12!, '--itl-signer', k.itlRecovery!, '--config-signer', k.ccm!, '--new-tftp', c.ccm2!]);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /--new-tftp .*: the TFTP .* certificate signs the configs: give its key too/);
    const sameCert = await runCliCaptured(['plan', 'regenerate', '--cert', 'capf', '--itl', f.itl12!, '--itl-signer', k.itlRecovery!, '--config-signer', k.ccm!, '--new-capf', c.capf!]);
    assert.equal(sameCert.code, 2);
    assert.match(sameCert.stderr, /this is the current CAPF certificate/);
  });

  describe('with a SoftHSM token as the CTL signer', () => {
    let hsm: SoftHsmFixture | undefined;
    const PIN = 'Pl-4pin';
    before(async function () {
      try {
        hsm = await createSoftHsm({ pin: PIN, tokens: [{ label: 'eToken-P', keys: [{ keyBits: 2048, subject: 'CN=SAST-eToken-P,OU=IPCBU,O=openctl test' }] }] });
      } catch (err) {
        console.warn(`SoftHSM unavailable: ${(err as Error).message}`);
        this.skip();
      }
      hsm!.activate(); // in-process: SoftHSM reads SOFTHSM2_CONF from this process's environment
    });
    after(() => hsm?.cleanup());

    it('plan regenerate capf signs each step\'s CTL on the token', async () => {
      const tokenCert = hsm!.tokens[0]!.keys[0]!.certificate!;
      const withToken = await ctl(p.sastA, [rec(Role.SAST, p.sastA), { role: Role.SAST, certificate: tokenCert }, rec(Role.SAST, p.itlRecovery), rec(Role.CCM_TFTP, p.ccm), rec(Role.CAPF, p.capf)]);
      const ctlFile = path.join(dir, 'ctl-token.tlv');
      fs.writeFileSync(ctlFile, withToken.bytes);
      const uri = `pkcs11:token=eToken-P?module-path=${hsm!.modulePath}`;
      const plan = await planAndVerify(
        ['plan', 'regenerate', '--cert', 'capf', '--ctl', ctlFile, '--ctl-signer', uri, '--itl', f.itl12!, '--itl-signer', k.itlRecovery!, '--config-signer', k.ccm!, '--new-capf', c.capf2!],
        path.join(dir, 'regen-token'),
        hsm!.env({ OPENCTL_PIN: PIN }),
      );
      const v = plan.steps[0]!.verdicts[0]!;
      assert.equal(v.rule, 'ctl-signed-by-held-sast');
      assert.match(v.vouchedBy!.subject, /SAST-eToken-P/);
    });
  });
});
