import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { runCliProcess } from '../helpers/run-cli';
import { REPO_ROOT } from '../helpers/paths';
import { SOFTHSM_MODULE } from '../helpers/softhsm';
import { DEMO_PIN } from '../../src/pkcs11/provision';
import { appEnv, launchChromium, screenshot, startWebGui, type WebGui } from './support';

/** `npm run tokens:demo` as a user runs it, with the GUI's environment (no --dir: the default folder). */
function tokensDemo(env: NodeJS.ProcessEnv): string {
  const clean = { ...env };
  delete clean.SOFTHSM2_CONF;
  return execFileSync(process.execPath, [path.join(REPO_ROOT, 'softhsm-config', 'tokens-demo.js')], { env: clean, encoding: 'utf8' });
}

const serialOf = (printed: string, label: string) => new RegExp(`${label} {2}serial ([0-9a-f]+)`).exec(printed)?.[1];

describe('gui: a newcomer without a token uses the demo tokens and signs a CTL', function () {
  this.timeout(120_000);
  let work: string;
  let gui: WebGui;
  let browser: Browser;
  let env: NodeJS.ProcessEnv;
  let printed: string;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-gui-demo-'));
    // A SoftHSM with no token at all: what a fresh machine with softhsm2 installed looks like.
    const emptyTokens = path.join(work, 'empty-tokens');
    fs.mkdirSync(emptyTokens);
    const conf = path.join(work, 'empty.conf');
    fs.writeFileSync(conf, `directories.tokendir = ${emptyTokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
    env = appEnv({ ...process.env, SOFTHSM2_CONF: conf }, path.join(work, 'data'), SOFTHSM_MODULE);
    // The admin ran `npm run tokens:demo` first: the GUI must find those tokens, not make others elsewhere.
    printed = tokensDemo(env);
    gui = await startWebGui(env);
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
    await page.getByText('the same tokens as npm run tokens:demo', { exact: false }).waitFor();
    await page.getByText('They already exist in your data folder', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Use demo tokens' }).click();
    await page.locator('[data-token="eToken-A"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-token="eToken-B"]').waitFor();
    const demo = await page.getByRole('region', { name: 'Demo tokens' }).innerText();
    assert.match(demo, new RegExp(`eToken-A: PIN ${DEMO_PIN}`));
    const conf = path.join(work, 'data', 'softhsm', 'softhsm2.conf');
    assert.ok(printed.includes(`export SOFTHSM2_CONF=${conf}`), printed);
    assert.ok(demo.includes(`export SOFTHSM2_CONF=${conf}`), `the GUI says how to use them from the CLI: ${demo}`);
    // The very tokens tokens:demo made (same serials), not a second set.
    for (const label of ['eToken-A', 'eToken-B']) {
      const serial = serialOf(printed, label);
      assert.ok(serial, printed);
      assert.ok((await page.locator(`[data-token="${label}"]`).innerText()).includes(serial), `${label} serial ${serial}`);
    }
    await screenshot(page, 'tokens-demo');

    await page.locator('#nav-ctl').click();
    const ctl = page.locator('#screen-ctl');
    await ctl.getByRole('button', { name: 'Add SAST from eToken-A', exact: true }).click();
    await ctl.getByRole('button', { name: 'Add SAST from eToken-B', exact: true }).click();
    await ctl.getByRole('radio', { name: /^eToken-A/ }).check();
    // Saved under another name: the header still names it CTLFile.tlv, as phones know it.
    const out = path.join(work, 'ctl-from-gui.tlv');
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
    const shown = await runCliProcess(['show', '--json', out]);
    assert.equal((JSON.parse(shown.stdout) as { header: { filename: string } }).header.filename, 'CTLFile.tlv');
    assert.deepEqual(errors, []);
    // And back: tokens:demo finds them where they were, left as they were.
    const again = tokensDemo(env);
    assert.match(again, /eToken-A {2}serial [0-9a-f]+ {2}already there, left as it was/);
    assert.match(again, /eToken-B {2}serial [0-9a-f]+ {2}already there, left as it was/);
    assert.match(again, /Tokens > Use demo tokens uses these same tokens/);
  });
});
