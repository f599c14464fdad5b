import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';
import { testp11Available, testp11Env, testp11Path, writeControl } from '../helpers/testp11';
import { appEnv, launchChromium, screenshot, startWebGui, type WebGui } from './support';

const PIN = 'qz-pad-4821';

/**
 * What SoftHSM cannot show: a PIN pad, the final PIN try and a locked PIN, injected by the test PKCS#11 module
 * (native-bindings/testp11) between the app and SoftHSM.
 */
describe('gui: PIN pad, final try and locked PIN (test PKCS#11 module)', function () {
  this.timeout(120_000);
  let hsm: SoftHsmFixture;
  let control: string;
  let gui: WebGui;
  let browser: Browser;
  let page: Page;

  before(async function () {
    if (!testp11Available()) this.skip();
    hsm = await createSoftHsm({ tokens: [{ label: 'eToken-P' }], pin: PIN });
    control = path.join(hsm.dir, 'testp11.control');
    writeControl(control, { pinpad: true, pinpad_pin: PIN });
    gui = await startWebGui(appEnv(hsm.env(testp11Env(control)), path.join(hsm.dir, 'data'), testp11Path()));
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(gui.url);
  });

  after(async () => {
    await browser?.close();
    await gui?.stop();
    hsm?.cleanup();
  });

  afterEach(async () => {
    // A failed step must not leave the modal dialog over the next test's page.
    if (page && (await page.getByRole('dialog').count()) > 0) await page.keyboard.press('Escape');
  });

  const card = () => page.locator('[data-token="eToken-P"]');
  const refreshUntil = async (text: string) => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await card().getByText(text, { exact: true }).waitFor();
  };
  const logOut = async () => {
    await page.getByRole('button', { name: 'Log out of eToken-P' }).click();
    await page.getByRole('button', { name: 'Log in to eToken-P…' }).waitFor();
  };

  it('logs in on a PIN-pad reader without asking for the PIN here', async () => {
    await card().getByText('PIN pad', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Log in to eToken-P…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Log in to eToken-P' });
    await dialog.getByText('This reader has a PIN pad', { exact: false }).waitFor();
    assert.equal(await dialog.getByLabel('PIN', { exact: true }).count(), 0, 'no PIN field on a PIN-pad reader');
    await screenshot(page, 'login-pinpad');
    await dialog.getByRole('button', { name: 'Log in', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await card().getByText('logged in', { exact: true }).waitFor();
    await logOut();
  });

  it('asks for a confirmation before the final PIN try, then logs in', async () => {
    writeControl(control, { pin_final_try: true });
    await refreshUntil('final PIN try');
    await page.getByRole('button', { name: 'Log in to eToken-P…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Log in to eToken-P' });
    await dialog.getByText('Final try: one more wrong PIN locks this token for good.').waitFor();
    const submit = dialog.getByRole('button', { name: 'Log in', exact: true });
    await dialog.getByLabel('PIN', { exact: true }).fill(PIN);
    assert.equal(await submit.isDisabled(), true, 'no final try without a confirmation');
    await screenshot(page, 'login-final-try');
    await dialog.getByLabel('I am sure of the PIN: try it').check();
    await submit.click();
    await dialog.waitFor({ state: 'hidden' });
    await card().getByText('logged in', { exact: true }).waitFor();
    await logOut();
  });

  it('shows a locked PIN and offers no log-in', async () => {
    writeControl(control, { pin_locked: true });
    await refreshUntil('PIN locked');
    assert.equal(await page.getByRole('button', { name: 'Log in to eToken-P…' }).isDisabled(), true);
    assert.ok(!gui.stderr().includes(PIN) && !gui.stdout().includes(PIN));
    assert.ok(!fs.readFileSync(control, 'utf8').includes('pin_locked=0'));
  });
});
