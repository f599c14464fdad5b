import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import type { PlanJson } from '../../src/plan';
import { runCliCaptured } from '../helpers/run-cli';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';
import { Role } from '../../src/formats/model';
import { ctl, pki, preTwelveItl, rec, standardItl, type Pki } from '../trust/fixture';
import { appEnv, launchChromium, screenshot, startWebGui, type WebGui } from './support';

/**
 * The Rollout plan wizard end to end: the web GUI as a child process, Debian's Chromium, real keys and an ITL
 * signed in the test. The wizard refuses what `openctl plan` refuses (CallManager and TVS regenerated together
 * while CallManager signs the ITL), and the plan it writes passes `openctl preflight` and `openctl verify` step
 * by step.
 */
describe('gui: Rollout plan wizard (Chromium, web mode)', function () {
  this.timeout(120_000);
  let p: Pki;
  let work: string;
  let gui: WebGui;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const key: Record<string, string> = {};
  const cert: Record<string, string> = {};
  let itlFile: string;
  let hsm: SoftHsmFixture;
  const PIN = 'qz-plan-6614';

  const screen = () => page.locator('#screen-plan');
  const fill = async (label: string, value: string) => screen().getByLabel(label, { exact: true }).fill(value);
  const check = async () => {
    await screen().getByRole('button', { name: 'Check plan' }).click();
  };

  before(async () => {
    p = await pki();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-gui-plan-'));
    hsm = await createSoftHsm({ pin: PIN, tokens: [{ label: 'eToken-P', keys: [{ keyBits: 2048, subject: 'CN=SAST-eToken-P,OU=IPCBU,O=openctl test' }] }] });
    for (const name of ['ccm', 'ccm2', 'tvs2', 'itlRecovery', 'capf2'] as const) {
      const w = await p[name].write(work, name);
      key[name] = w.signer;
      cert[name] = w.cert;
    }
    itlFile = path.join(work, 'ITLFile-now.tlv');
    fs.writeFileSync(itlFile, (await preTwelveItl(p)).bytes);
    gui = await startWebGui(appEnv(hsm.env(), path.join(work, 'data'), hsm.modulePath));
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(gui.url);
    await page.locator('#nav-plan').click();
    await screen().getByRole('heading', { level: 2, name: 'Rollout plan' }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await gui?.stop();
    hsm?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  afterEach(function () {
    assert.deepEqual(pageErrors, [], 'no script error in the page');
    if (this.currentTest?.state === 'failed' && page) return screenshot(page, 'failed-plan-wizard').then(() => undefined);
    return undefined;
  });

  it('names a missing input as the CLI does, with the form label', async () => {
    await screen().getByLabel('CallManager', { exact: true }).check();
    await check();
    const alert = screen().locator('.error-line[role="alert"]');
    await alert.waitFor();
    assert.match(await alert.innerText(), /^ITL the phones hold now is required: the ITL the phones hold now$/);
  });

  it('refuses CallManager and TVS together while CallManager signs the ITL: an alert, the rejected file, no way to write', async () => {
    await screen().getByLabel('TVS', { exact: true }).check();
    await fill('ITL the phones hold now', itlFile);
    await fill('Key that signs the ITL now: file (path)', key.ccm!);
    await fill('Key that signs configs now: file (path)', key.ccm!);
    await fill('New TVS certificate: file (path)', cert.tvs2!);
    await fill('New CallManager certificate: file (path)', key.ccm2!);
    await fill('Order of the steps (optional)', 'capf');
    await check();
    const wrongOrder = screen().locator('.error-line[role="alert"]');
    await wrongOrder.filter({ hasText: 'Order of the steps' }).waitFor();
    assert.equal(await wrongOrder.innerText(), 'Order of the steps "capf": "capf" is not one of the Certificates to regenerate values');
    await fill('Order of the steps (optional)', 'callmanager+tvs');
    await check();
    const result = screen().locator('[data-testid="plan-result"]');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-ok'), 'false');
    const refusals = await screen().locator('[data-testid="plan-refusals"][role="alert"]').innerText();
    assert.match(refusals, /regenerates the CallManager and TVS certificates together while the ITL is signed by the CallManager certificate/);
    assert.match(refusals, /step 1 \(Regenerate CallManager and TVS\) would lock phones out: ITLFile\.tlv rejected \[itl-signer-unknown\]/);
    const rejected = screen().locator('[data-testid="plan-step"] tr[data-verdict="rejected"]');
    assert.ok((await rejected.count()) >= 1);
    assert.match(await rejected.first().innerText(), /ITLFile\.tlv\s+rejected\s+itl-signer-unknown/);
    assert.equal(await screen().getByRole('button', { name: 'Write plan' }).count(), 0, 'a refused plan offers no write');
    await screenshot(page, 'plan-refused');
  });

  it('checks the safe order (TVS, then CallManager accepted via TVS), writes it, and every written step passes preflight and verify', async () => {
    await fill('Order of the steps (optional)', '');
    await check();
    const result = screen().locator('[data-testid="plan-result"][data-ok="true"]');
    await result.waitFor();
    const steps = screen().locator('[data-testid="plan-step"]');
    assert.equal(await steps.count(), 2);
    assert.match(await steps.nth(0).locator('h4').innerText(), /^Step 1: Regenerate TVS$/);
    assert.match(await steps.nth(1).locator('h4').innerText(), /^Step 2: Regenerate CallManager$/);
    const verdicts = (i: number) => steps.nth(i).locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-verdict')));
    assert.deepEqual(await verdicts(0), ['accepted', 'accepted']);
    assert.deepEqual(await verdicts(1), ['accepted-via-tvs', 'accepted']);
    assert.match(await steps.nth(1).locator('tbody tr').first().innerText(), /ITLFile\.tlv\s+accepted via TVS\s+itl-signer-via-tvs/);
    assert.match(await steps.nth(0).locator('ol').innerText(), /Restart Cisco Trust Verification Service/);
    assert.match(await steps.nth(1).locator('ol').innerText(), /Restart Cisco CallManager/);

    const out = path.join(work, 'plan-regenerate');
    await fill('Plan folder', out);
    await screen().getByRole('button', { name: 'Write plan' }).click();
    await screen().locator('[data-testid="plan-written"]').waitFor();
    assert.match(await screen().locator('[data-testid="plan-written"]').innerText(), new RegExp(`Written to ${out.replace(/[/.]/g, '\\$&')}`));
    await screenshot(page, 'plan');

    const plan = JSON.parse(fs.readFileSync(path.join(out, 'plan.json'), 'utf8')) as PlanJson;
    assert.equal(plan.ok, true);
    assert.deepEqual(plan.steps.map((s) => s.dir), ['01-regenerate-tvs', '02-regenerate-callmanager']);
    for (const step of plan.steps) {
      const pre = await runCliCaptured([
        'preflight',
        ...step.phoneHas.flatMap((h) => ['--phone-has', path.join(out, h)]),
        ...(step.tvsKnows ? ['--tvs-knows', path.join(out, step.tvsKnows)] : []),
        ...(step.tvsCert ? ['--tvs-cert', path.join(out, step.tvsCert)] : []),
        '--deploy',
        path.join(out, step.dir),
        '--json',
      ]);
      assert.equal(pre.code, 0, `step ${step.dir} fails preflight:\n${pre.stdout}${pre.stderr}`);
      const itl = path.join(out, step.dir, 'ITLFile.tlv');
      const verifyItl = await runCliCaptured(['verify', itl]);
      assert.equal(verifyItl.code, 0, verifyItl.stdout + verifyItl.stderr);
      const verifyConfig = await runCliCaptured(['verify', path.join(out, step.dir, 'SEP000000000000.cnf.xml.sgn'), '--trust', itl]);
      assert.equal(verifyConfig.code, 0, verifyConfig.stdout + verifyConfig.stderr);
    }
    // Step 2's config is signed by the regenerated CallManager key, the one given in the wizard.
    const step2 = await runCliCaptured(['verify', path.join(out, '02-regenerate-callmanager', 'SEP000000000000.cnf.xml.sgn'), '--cert', cert.ccm2!]);
    assert.equal(step2.code, 0, step2.stdout + step2.stderr);

    // Writing again over the folder needs the explicit choice, as --force does in the CLI.
    await screen().getByRole('button', { name: 'Write plan' }).click();
    await screen().locator('.error-line[role="alert"]').filter({ hasText: 'already exists' }).waitFor();
  });

  it('signs each step\'s CTL on a SoftHSM token chosen in the wizard, after the log-in dialog', async () => {
    const tokenCert = hsm.tokens[0]!.keys[0]!.certificate!;
    const ctlFile = path.join(work, 'CTLFile-now.tlv');
    const currentCtl = await ctl(p.sastA, [rec(Role.SAST, p.sastA), { role: Role.SAST, certificate: tokenCert }, rec(Role.SAST, p.itlRecovery), rec(Role.CCM_TFTP, p.ccm), rec(Role.CAPF, p.capf)]);
    fs.writeFileSync(ctlFile, currentCtl.bytes);
    const itl12 = path.join(work, 'ITLFile-12.tlv');
    fs.writeFileSync(itl12, (await standardItl(p)).bytes);

    await screen().getByLabel('TVS', { exact: true }).uncheck();
    await screen().getByLabel('CallManager', { exact: true }).uncheck();
    await screen().getByLabel('CAPF', { exact: true }).check();
    await fill('ITL the phones hold now', itl12);
    await fill('CTL the phones hold now (mixed mode) (optional)', ctlFile);
    await fill('Key that signs the ITL now: file (path)', key.itlRecovery!);
    await fill('New CAPF certificate: file (path)', cert.capf2!);
    const sast = screen().locator('[data-field="ctlSigner"]');
    await sast.getByLabel('Token', { exact: true }).check();
    await sast.getByLabel('SAST key of the current CTL: token').selectOption({ label: 'eToken-P' });

    await check();
    assert.equal(await screen().locator('[data-testid="plan-result"]').count(), 0, 'the previous plan is gone once a new check starts');
    const dialog = page.getByRole('dialog', { name: 'Log in to eToken-P' });
    await dialog.waitFor();
    await dialog.getByLabel('PIN', { exact: true }).fill(PIN);
    await dialog.getByRole('button', { name: 'Log in', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    // A fresh-clone run once timed out here (not reproduced since, 6 runs under load): if it happens again, the
    // failure says what the select and the service showed instead of a bare timeout.
    await sast.locator('option', { hasText: 'eToken-P (logged in)' }).waitFor({ state: 'attached' }).catch(async (err: Error) => {
      const options = await sast.locator('option').allInnerTexts().catch(() => []);
      const toasts = await page.locator('.toasts').innerText().catch(() => '');
      throw new Error(`${err.message}\noptions: ${JSON.stringify(options)}\ntoasts: ${toasts}\nservice stderr: ${gui.stderr().slice(-2000)}`);
    });

    await check();
    await screen().locator('[data-testid="plan-result"][data-ok="true"]').waitFor();
    const first = screen().locator('[data-testid="plan-step"]').first().locator('tbody tr').first();
    assert.match(await first.innerText(), /CTLFile\.tlv\s+accepted\s+ctl-signed-by-held-sast/);
    assert.match(await first.innerText(), /SAST-eToken-P/);
    assert.equal(gui.stdout().includes(PIN) || gui.stderr().includes(PIN), false, 'the PIN is never logged');
  });

  it('has no serious or critical accessibility violation with a checked plan on screen (axe-core)', async () => {
    const results = await new AxeBuilder({ page }).include('#screen-plan').analyze();
    const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(
      serious.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`),
      [],
    );
  });
});
