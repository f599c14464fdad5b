import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Role } from '../../src/formats/model';
import { dispatch } from '../../src/gui/dispatch';
import { GuiService } from '../../src/gui/service';
import type { GuiPlanRequest } from '../../src/gui/contract';
import type { PlanJson } from '../../src/plan';
import type { PlanView } from '../../src/gui/types';
import { runCliCaptured } from '../helpers/run-cli';
import { ctl, itl, pki, preTwelveItl, rec, standardCtl, standardItl, type Pki } from '../trust/fixture';

/**
 * The Rollout plan screen and `openctl plan` are one code path: for every procedure (and each move method), the
 * GUI service's planCheck, called through the contract's dispatcher as the renderer calls it, gives the same
 * steps, verdicts and rules as `openctl plan --json` on the same inputs, refusals included.
 */
describe('gui: planCheck agrees with openctl plan for every procedure', function () {
  this.timeout(120_000);
  let p: Pki;
  let dir: string;
  let service: GuiService;
  const k: Record<string, string> = {};
  const c: Record<string, string> = {};
  const f: Record<string, string> = {};

  before(async () => {
    p = await pki();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-gui-plans-'));
    for (const [name, cert] of Object.entries(p)) {
      const w = await cert.write(dir, name);
      k[name] = w.signer;
      c[name] = w.cert;
    }
    const put = async (name: string, bytes: Promise<{ bytes: Buffer }>) => {
      f[name] = path.join(dir, `${name}.tlv`);
      fs.writeFileSync(f[name]!, (await bytes).bytes);
    };
    await put('itl12', standardItl(p));
    await put('itlPre12', preTwelveItl(p));
    await put('ctl', standardCtl(p));
    await put('bItl', itl(p.otherItlRecovery, [rec(Role.SAST, p.otherItlRecovery), rec(Role.CCM_TFTP, p.otherCcm), rec(Role.TVS, p.otherTvs), rec(Role.CAPF, p.capf2)]));
    await put('bCtl', ctl(p.sastC, [rec(Role.SAST, p.sastC), rec(Role.SAST, p.otherItlRecovery), rec(Role.CCM_TFTP, p.otherCcm)]));
    service = new GuiService({ mode: 'web', version: 'test', dataDir: path.join(dir, 'data'), env: { OPENCTL_PKCS11_MODULE: path.join(dir, 'none.so') } });
  });

  after(async () => {
    await service?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const shape = (plan: PlanJson) => ({
    ok: plan.ok,
    steps: plan.steps.map((s) => [s.dir, s.verdicts.map((v) => `${v.name}:${v.verdict}:${v.rule}`).join(' ')]),
    refusals: plan.refusals.length,
  });

  async function both(cli: string[], request: GuiPlanRequest): Promise<PlanView> {
    const r = await runCliCaptured(['plan', ...cli, '--json']);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    const fromCli = JSON.parse(r.stdout) as PlanJson;
    const answer = await dispatch(service, 'planCheck', { request });
    assert.ok(answer.ok, answer.ok ? '' : answer.error.message);
    const fromGui = answer.value as PlanView;
    assert.deepEqual(shape(fromGui), shape(fromCli));
    return fromGui;
  }
  const pem = (file: string | undefined) => ({ pem: file! });

  it('move-cluster, each method (and shared-sast with a token A does not list: refused by both)', async () => {
    const rollback = await both(
      ['move-cluster', '--method', 'rollback', '--from-itl', f.itl12!, '--from-itl-signer', k.itlRecovery!, '--to-itl', f.bItl!, '--to-config-signer', k.otherCcm!],
      { procedure: 'move-cluster', method: 'rollback', fromItl: f.itl12, fromItlSigner: pem(k.itlRecovery), toItl: f.bItl, toConfigSigner: pem(k.otherCcm) },
    );
    assert.equal(rollback.ok, true);
    assert.equal(rollback.steps.length, 2);
    const certs = await both(
      ['move-cluster', '--method', 'certificates', '--from-itl', f.itl12!, '--to-itl', f.bItl!, '--to-config-signer', k.otherCcm!],
      { procedure: 'move-cluster', method: 'certificates', fromItl: f.itl12, toItl: f.bItl, toConfigSigner: pem(k.otherCcm) },
    );
    assert.equal(certs.steps[1]!.verdicts[0]!.rule, 'itl-signer-via-tvs');
    const wrong = await both(
      ['move-cluster', '--method', 'shared-sast', '--from-ctl', f.ctl!, '--from-itl', f.itl12!, '--to-ctl', f.bCtl!, '--to-ctl-signer', k.sastC!, '--to-itl', f.bItl!, '--to-config-signer', k.otherCcm!],
      { procedure: 'move-cluster', method: 'shared-sast', fromCtl: f.ctl, fromItl: f.itl12, toCtl: f.bCtl, toCtlSigner: pem(k.sastC), toItl: f.bItl, toConfigSigner: pem(k.otherCcm) },
    );
    assert.equal(wrong.ok, false);
    assert.match(wrong.refusals.join('\n'), /CTLFile\.tlv rejected \[ctl-signer-not-in-held-ctl\]/);
  });

  it('reimage behind the rollback ITL, and without it (refused)', async () => {
    const cli = ['reimage', '--itl', f.itlPre12!, '--itl-signer', k.ccm!, '--config-signer', k.ccm!, '--new-tftp', k.ccm2!, '--new-tvs', c.tvs2!];
    const request = { procedure: 'reimage', itl: f.itlPre12, itlSigner: pem(k.ccm), configSigner: pem(k.ccm), newTftp: pem(k.ccm2), newTvs: pem(c.tvs2) } as const;
    const behind = await both(cli, request);
    assert.deepEqual(behind.steps.map((s) => s.dir), ['01-rollback-itl-before-reimage', '02-reimage-tftp-server', '03-rollback-off']);
    const direct = await both([...cli, '--without-rollback'], { ...request, withoutRollback: true });
    assert.equal(direct.ok, false);
  });

  it('rollback, then a new cluster\'s ITL', async () => {
    const plan = await both(
      ['rollback', '--itl', f.itl12!, '--itl-signer', k.itlRecovery!, '--config-signer', k.ccm!, '--next-itl-signer', k.otherItlRecovery!, '--next-config-signer', k.otherCcm!],
      { procedure: 'rollback', itl: f.itl12, itlSigner: pem(k.itlRecovery), configSigner: pem(k.ccm), nextItlSigner: pem(k.otherItlRecovery), nextConfigSigner: pem(k.otherCcm) },
    );
    assert.equal(plan.ok, true);
    assert.equal(plan.steps[0]!.verdicts[0]!.holdsAfter.itl?.rollback, true);
  });

  it('names a wrong input by its form label, and writes only the plan checked last', async () => {
    const missing = await dispatch(service, 'planCheck', { request: { procedure: 'rollback', itl: f.itl12, configSigner: pem(k.ccm) } });
    assert.ok(!missing.ok);
    assert.equal(missing.error.message, 'Key that signs the ITL now is required: it signs the rollback ITL');
    assert.equal(missing.error.code, 2);
    const notKey = await dispatch(service, 'planCheck', { request: { procedure: 'rollback', itl: f.ctl, itlSigner: pem(k.itlRecovery), configSigner: pem(k.ccm) } });
    assert.ok(!notKey.ok);
    assert.match(notKey.error.message, /^ITL the phones hold now .*ctl\.tlv: is a CTL, not an ITL$/);

    const first = await dispatch(service, 'planCheck', { request: { procedure: 'rollback', itl: f.itl12, itlSigner: pem(k.itlRecovery), configSigner: pem(k.ccm) } });
    assert.ok(first.ok);
    const firstId = (first.value as PlanView).planId;
    const second = await dispatch(service, 'planCheck', { request: { procedure: 'rollback', itl: f.itl12, itlSigner: pem(k.itlRecovery), configSigner: pem(k.ccm) } });
    assert.ok(second.ok);
    const stale = await dispatch(service, 'planWrite', { planId: firstId, output: path.join(dir, 'stale') });
    assert.ok(!stale.ok);
    assert.match(stale.error.message, /no longer the one checked last/);
    assert.equal(fs.existsSync(path.join(dir, 'stale')), false);
    const written = await dispatch(service, 'planWrite', { planId: (second.value as PlanView).planId, output: path.join(dir, 'written') });
    assert.ok(written.ok);
    assert.ok(fs.existsSync(path.join(dir, 'written', 'plan.json')));
    // The request validator refuses what the contract does not declare.
    const unknown = await dispatch(service, 'planCheck', { request: { procedure: 'rollback', itl: f.itl12, extra: 1 } });
    assert.ok(!unknown.ok);
    assert.match(unknown.error.message, /request: matches no accepted shape/);
  });
});
