import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { runCliProcess } from '../helpers/run-cli';
import { SOFTHSM_MODULE } from '../helpers/softhsm';
import { DEMO_PIN } from '../../src/pkcs11/provision';
import { appEnv, launchChromium, screenshot, startWebGui, type WebGui } from './support';

describe('gui: a newcomer without a token uses the demo tokens and signs a CTL', function () {
  this.timeout(120_000);
  let work: string;
  let gui: WebGui;
  let browser: Browser;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-gui-demo-'));
    // A SoftHSM with no token at all: what a fresh machine with softhsm2 installed looks like.
    const emptyTokens = path.join(work, 'empty-tokens');
    fs.mkdirSync(emptyTokens);
    const conf = path.join(work, 'empty.conf');
    fs.writeFileSync(conf, `directories.tokendir = ${emptyTokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
    gui = await startWebGui(appEnv({ ...process.env, SOFTHSM2_CONF: conf }, path.join(work, 'data'), SOFTHSM_MODULE));
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await gui?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('offers the demo tokens, creates them in the data folder, and signs a CTL with them', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(gui.url);
    await page.getByTestId('token-count').getByText('0 tokens found', { exact: false }).waitFor();
    await screenshot(page, 'tokens-none');
    await page.getByRole('button', { name: 'Use demo tokens' }).click();
    await page.locator('[data-token="eToken-A"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-token="eToken-B"]').waitFor();
    const demo = await page.getByRole('region', { name: 'Demo tokens' }).innerText();
    assert.match(demo, new RegExp(`eToken-A: PIN ${DEMO_PIN}`));
    assert.ok(fs.existsSync(path.join(work, 'data', 'demo-tokens', 'softhsm2.conf')), 'made in the user\'s data folder');
    await screenshot(page, 'tokens-demo');

    await page.locator('#nav-ctl').click();
    const ctl = page.locator('#screen-ctl');
    await ctl.getByRole('button', { name: 'Add SAST from eToken-A', exact: true }).click();
    await ctl.getByRole('button', { name: 'Add SAST from eToken-B', exact: true }).click();
    await ctl.getByRole('radio', { name: /^eToken-A/ }).check();
    const out = path.join(work, 'CTLFile.tlv');
    await ctl.getByLabel('Save as').fill(out);
    await ctl.getByRole('button', { name: 'Log in to eToken-A to sign…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Log in to eToken-A' });
    await dialog.getByLabel('PIN', { exact: true }).fill(DEMO_PIN);
    await dialog.getByRole('button', { name: 'Log in', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await ctl.getByRole('button', { name: 'Sign and save CTL' }).click();
    await ctl.getByTestId('sign-result').waitFor();
    const verify = await runCliProcess(['verify', out]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.deepEqual(errors, []);
  });
});
