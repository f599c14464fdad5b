import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import { createSoftHsm, deleteTokenWhileInUse, type SoftHsmFixture } from '../helpers/softhsm';
import { runCliProcess } from '../helpers/run-cli';
import { vector, REPO_ROOT } from '../helpers/paths';
import { provisionTokens } from '../../src/pkcs11/provision';
import { parseTrustList } from '../../src/formats';
import { Role } from '../../src/formats/model';
import { loadClusterFile } from '../../src/cluster';
import { SCREENSHOT_DIR, appEnv, focusedName, launchChromium, screenshot, startWebGui, tabTo, type WebGui } from './support';

/** A PIN unlike any number the app prints, so that finding it in a log or file would mean it leaked. */
const PIN = 'qz-7395-pin';
const SCREENS = [
  ['tokens', 'Tokens'],
  ['cluster', 'Cluster'],
  ['ctl', 'CTL builder'],
  ['inspect', 'Inspect'],
  ['batch', 'Batch'],
  ['plan', 'Rollout plan'],
] as const;
const BATCH_FILES = 3000;

function pem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

function writeConfigs(dir: string, count: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i += 1) {
    const mac = (0x001122000000 + i).toString(16).toUpperCase().padStart(12, '0');
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<device><deviceProtocol>SIP</deviceProtocol><sshUserId>admin</sshUserId>${'<line/>'.repeat(40)}<name>SEP${mac}</name></device>\n`;
    fs.writeFileSync(path.join(dir, `SEP${mac}.cnf.xml`), body);
  }
}

describe('gui: end to end in Chromium, web mode, real SoftHSM tokens', function () {
  this.timeout(120_000);
  let hsm: SoftHsmFixture;
  let gui: WebGui;
  let browser: Browser;
  let page: Page;
  let work: string;
  let dataDir: string;
  const pageErrors: string[] = [];
  const timings: Record<string, number> = {};

  const nav = async (p: Page, id: (typeof SCREENS)[number][0]) => {
    await p.locator(`#nav-${id}`).click();
    await p.locator(`#screen-${id}`).waitFor({ state: 'visible' });
  };
  const picker = (p: Page, name: string) => p.locator(`[data-picker="${name}"]`);
  const screenOf = (p: Page, id: (typeof SCREENS)[number][0]) => p.locator(`#screen-${id}`);

  before(async () => {
    hsm = await createSoftHsm({ tokens: [{ label: 'eToken-A' }, { label: 'eToken-B' }], pin: PIN });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-gui-e2e-'));
    dataDir = path.join(work, 'data');
    gui = await startWebGui(appEnv(hsm.env(), dataDir, hsm.modulePath));
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(gui.url);
  });

  after(async () => {
    await browser?.close();
    await gui?.stop();
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    fs.writeFileSync(path.join(SCREENSHOT_DIR, 'timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
    hsm?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  afterEach(function () {
    assert.deepEqual(pageErrors, [], 'no script error in the page');
    if (this.currentTest?.state === 'failed' && page) return screenshot(page, `failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).then(() => undefined);
    return undefined;
  });

  it('opens on the Tokens screen and lists both tokens with their SAST certificates', async () => {
    await page.getByRole('heading', { level: 2, name: 'Tokens' }).waitFor();
    assert.equal(await page.locator('#nav-tokens').getAttribute('aria-current'), 'page');
    for (const label of ['eToken-A', 'eToken-B']) {
      const card = page.locator(`[data-token="${label}"]`);
      await card.waitFor();
      const text = await card.innerText();
      assert.match(text, new RegExp(`CN=SAST-${label}`));
      assert.match(text, /SoftHSM/);
      assert.match(text, /valid until \d{4}-\d\d-\d\d/);
      assert.match(text, /login required/);
    }
    await screenshot(page, 'tokens');
  });

  it('shows a token created while the app is open', async () => {
    const started = Date.now();
    await provisionTokens({ dir: hsm.dir, tokens: [{ label: 'eToken-C' }], pin: PIN, soPin: hsm.soPin });
    const created = Date.now();
    const card = page.locator('[data-token="eToken-C"]');
    await card.waitFor({ timeout: 15_000 });
    timings.tokenAppearedMs = Date.now() - created;
    timings.tokenProvisionMs = created - started;
    // The watcher may catch the token half-made (initialised, no key yet): its details follow.
    await card.getByText('CN=SAST-eToken-C,OU=IPCBU,O=openctl demo,C=US', { exact: true }).first().waitFor({ timeout: 15_000 });
    assert.match(await page.getByTestId('token-count').innerText(), /^3 tokens found/);
    await screenshot(page, 'tokens-inserted');
  });

  it('drops a token removed while the app is open', async () => {
    const card = page.locator('[data-token="eToken-C"]');
    await card.waitFor();
    // The app reads the token while it is deleted (that is the point): the helper retries until it is gone.
    await deleteTokenWhileInUse(hsm, 'eToken-C');
    const removed = Date.now();
    await card.waitFor({ state: 'detached', timeout: 15_000 });
    timings.tokenRemovedMs = Date.now() - removed;
    assert.match(await page.getByTestId('token-count').innerText(), /^2 tokens found/);
  });

  it('refuses a wrong PIN with a clear message, then logs in with the right one', async () => {
    await page.getByRole('button', { name: 'Log in to eToken-A…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Log in to eToken-A' });
    await dialog.waitFor();
    const pinField = dialog.getByLabel('PIN', { exact: true });
    await pinField.fill('000000');
    await dialog.getByRole('button', { name: 'Log in', exact: true }).click();
    const error = dialog.getByTestId('login-error');
    await error.waitFor();
    assert.match(await error.innerText(), /token eToken-A: wrong PIN/);
    assert.equal(await pinField.inputValue(), '', 'the PIN field is cleared once sent');
    await screenshot(page, 'login-wrong-pin');

    await pinField.fill(PIN);
    await dialog.getByRole('button', { name: 'Log in', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.locator('[data-token="eToken-A"]').getByText('logged in', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Log out of eToken-A' }).waitFor();
  });

  it('builds a CTL with SAST records from two tokens, signs it on one and saves it; openctl verify accepts it', async () => {
    await nav(page, 'ctl');
    const ctl = screenOf(page, 'ctl');
    await ctl.getByRole('button', { name: 'Add SAST from eToken-A', exact: true }).click();
    await ctl.getByRole('button', { name: 'Add SAST from eToken-B', exact: true }).click();
    await ctl.getByLabel('DNS name').fill('cucm-pub.example.net');
    await ctl.getByLabel('IPv4 address').fill('10.0.0.5');
    await picker(page, 'ctl-cert').getByLabel('Path').fill(vector('certs/ccm-tftp.pem'));
    await picker(page, 'ctl-cert').getByRole('button', { name: 'Add record' }).click();
    await page.getByTestId('ctl-records').getByRole('cell', { name: 'cucm-pub.example.net', exact: true }).first().waitFor();
    await ctl.getByRole('radio', { name: /^eToken-A/ }).check();
    const out = path.join(work, 'CTLFile.tlv');
    await ctl.getByLabel('Save as').fill(out);
    await ctl.getByText('2 SAST certificates', { exact: false }).waitFor();
    await screenshot(page, 'ctl-builder');
    await ctl.getByRole('button', { name: 'Sign and save CTL' }).click();
    const result = ctl.getByTestId('sign-result');
    await result.waitFor();
    assert.match(await result.innerText(), /signature verified/);
    await screenshot(page, 'ctl-signed');

    const verify = await runCliProcess(['verify', out]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /^valid: /);
    const list = parseTrustList(fs.readFileSync(out), { file: out });
    const sast = list.records.filter((r) => r.role === Role.SAST).map((r) => r.certificate!);
    for (const token of hsm.tokens) {
      assert.ok(sast.some((c) => c.equals(token.keys[0]!.certificate!)), `the CTL lists ${token.label}'s certificate`);
    }
    assert.equal(sast.length, 2);
    assert.equal(list.header.signer.subject, 'CN=SAST-eToken-A,OU=IPCBU,O=openctl demo,C=US');
    const ccm = list.records.find((r) => r.role === Role.CCM_TFTP)!;
    assert.equal(ccm.dnsName, 'cucm-pub.example.net');
    assert.equal(ccm.ipv4, '10.0.0.5');
  });

  it('updates a CTL: refuses a signer that is not one of its SAST records, signs with one that is', async () => {
    await nav(page, 'ctl');
    const ctl = screenOf(page, 'ctl');
    const sign = ctl.getByRole('button', { name: 'Sign and save CTL' });
    // The vector CTL lists other SAST certificates than our tokens': phones holding it would reject our CTL.
    await picker(page, 'ctl-current').getByLabel('Path').fill(vector('CTLFile-sha1.tlv'));
    await picker(page, 'ctl-current').getByRole('button', { name: 'Open' }).click();
    await ctl.getByText('the signer is not a SAST record of the current CTL', { exact: false }).waitFor();
    assert.equal(await sign.isDisabled(), true);
    await screenshot(page, 'ctl-update-refused');

    await ctl.getByRole('button', { name: 'Start a new CTL instead' }).click();
    await picker(page, 'ctl-current').getByLabel('Path').fill(path.join(work, 'CTLFile.tlv'));
    await picker(page, 'ctl-current').getByRole('button', { name: 'Open' }).click();
    await ctl.getByText('the signer is a SAST record of the current CTL', { exact: false }).waitFor();
    await ctl.getByText('3 repeated record(s) will be written once').waitFor();
    const out = path.join(work, 'CTLFile-updated.tlv');
    await ctl.getByLabel('Save as').fill(out);
    await sign.click();
    await ctl.getByTestId('sign-result').getByText(`Saved ${out}`).waitFor();
    const verify = await runCliProcess(['verify', out]);
    assert.equal(verify.code, 0, verify.stderr);
    const before = parseTrustList(fs.readFileSync(path.join(work, 'CTLFile.tlv')));
    const after = parseTrustList(fs.readFileSync(out));
    assert.equal(after.records.length, before.records.length);
    after.records.forEach((r, i) => assert.ok(r.certificate?.equals(before.records[i]!.certificate!), `record ${i + 1} kept`));
    await ctl.getByRole('button', { name: 'Start a new CTL instead' }).click();
  });

  it('shows the tampered vector as invalid, a good one as valid, and their diff', async () => {
    await nav(page, 'inspect');
    await picker(page, 'inspect-file').getByLabel('Path').fill(vector('CTLFile-tampered.tlv'));
    await picker(page, 'inspect-file').getByRole('button', { name: 'Open' }).click();
    const verdict = page.getByTestId('verdict');
    await verdict.getByText('Signature: invalid').waitFor();
    assert.match(await verdict.innerText(), /does not match the signer record/);
    await screenshot(page, 'inspect-tampered');

    await picker(page, 'inspect-file').locator('input[type=file]').setInputFiles(vector('CTLFile-sha1.tlv'));
    await verdict.getByText('Signature: valid').waitFor();
    const report = await page.getByTestId('inspect-report').innerText();
    assert.match(report, /MD5/);
    assert.match(report, /Record 1: SAST/);
    await picker(page, 'inspect-diff').getByLabel('Path').fill(vector('CTLFile-sha512.tlv'));
    await picker(page, 'inspect-diff').getByRole('button', { name: 'Compare' }).click();
    const diff = page.getByTestId('diff-result');
    await diff.waitFor();
    assert.match(await diff.getByTestId('diff-counts').innerText(), /\d+ added, \d+ removed, \d+ changed, \d+ unchanged/);
    assert.match(await diff.getByTestId('diff-verdict').innerText(), /^Phones holding the current CTL \(CTLFile-sha1\.tlv\) (accept|would reject|accept \(via TVS\)) the new CTL \(CTLFile-sha512\.tlv\)/);
    await screenshot(page, 'inspect');

    // A signed config carries no certificate: it is checked against the trust list phones hold.
    await picker(page, 'inspect-file').getByLabel('Path').fill(vector('configs/SEP001122334455.cnf.xml.sgn'));
    await picker(page, 'inspect-file').getByRole('button', { name: 'Open' }).click();
    await verdict.getByText('Signature: not checked').waitFor();
    await picker(page, 'inspect-trust').getByLabel('Path').fill(vector('CTLFile-sha1.tlv'));
    await picker(page, 'inspect-trust').getByRole('button', { name: 'Check' }).click();
    await verdict.getByText('Signature: valid').waitFor();
    assert.match(await verdict.innerText(), /verified with a trust-list record/);
  });

  it('runs a small batch to the end with the progress bar moving', async () => {
    const source = path.join(work, 'configs');
    const output = path.join(work, 'signed');
    writeConfigs(source, BATCH_FILES);
    await nav(page, 'batch');
    const batch = screenOf(page, 'batch');
    await batch.getByLabel('Source folder').fill(source);
    await batch.getByLabel('Output folder').fill(output);
    await batch.getByLabel('Token', { exact: true }).selectOption({ label: 'eToken-A (logged in)' });
    // Sample what the page shows (the <progress> element), as often as the page renders.
    await page.evaluate(`window.__samples = []; window.__sampler = setInterval(() => {
      const bar = document.querySelector('#batch-bar');
      if (bar && bar.hasAttribute('value')) window.__samples.push(bar.value);
    }, 10);`);
    const started = Date.now();
    await batch.getByRole('button', { name: 'Start', exact: true }).click();
    await page.locator('[data-testid="batch-progress"][data-status="done"]').waitFor({ timeout: 90_000 });
    timings.batchFiles = BATCH_FILES;
    timings.batchSeconds = (Date.now() - started) / 1000;
    const samples = (await page.evaluate('clearInterval(window.__sampler), window.__samples')) as number[];
    const between = new Set(samples.filter((v) => v > 0 && v < BATCH_FILES));
    assert.ok(between.size >= 1, `the bar showed progress before the end (samples: ${[...new Set(samples)].join(', ')})`);
    assert.equal(samples[samples.length - 1], BATCH_FILES);
    assert.match(await page.getByTestId('batch-progress').innerText(), new RegExp(`${BATCH_FILES} of ${BATCH_FILES} files`));
    await screenshot(page, 'batch');

    const outputs = fs.readdirSync(output).filter((f) => f.endsWith('.sgn'));
    assert.equal(outputs.length, BATCH_FILES);
    const certFile = path.join(work, 'etoken-a.pem');
    fs.writeFileSync(certFile, pem(hsm.tokens[0]!.keys[0]!.certificate!));
    const verify = await runCliProcess(['verify', path.join(output, outputs[0]!), '--cert', certFile]);
    assert.equal(verify.code, 0, verify.stderr);
  });

  it('builds a cluster from a certificate file and a TLS fetch, warns about the duplicate, and saves it', async () => {
    const bundle = fs.readFileSync(vector('certs/ccm-tftp.pem'), 'utf8');
    const server = tls.createServer({ key: bundle, cert: bundle }, (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await nav(page, 'cluster');
      const cluster = screenOf(page, 'cluster');
      await cluster.getByLabel('New server name').fill('cucm-pub');
      await cluster.getByRole('button', { name: 'Add server' }).click();
      await cluster.getByLabel('DNS name', { exact: true }).fill('cucm-pub.example.net');
      await cluster.getByLabel('IPv4 address', { exact: true }).fill('10.0.0.5');
      await cluster.getByText('Add a certificate to cucm-pub').click();
      await picker(page, 'server-0-file').getByLabel('Path').fill(vector('certs/ccm-tftp.pem'));
      await picker(page, 'server-0-file').getByRole('button', { name: 'Add' }).click();
      await cluster.getByLabel('Or fetch from host').fill('127.0.0.1');
      await cluster.getByLabel('Port').fill(String((server.address() as AddressInfo).port));
      await cluster.getByRole('button', { name: 'Fetch over TLS' }).click();
      // Nothing fetched over TLS is added before its fingerprint is shown and confirmed.
      const confirm = cluster.getByTestId('tls-confirm');
      await confirm.waitFor();
      const fetchedSha1 = new X509Certificate(fs.readFileSync(vector('certs/ccm-tftp.pem'))).fingerprint.toLowerCase();
      assert.ok((await confirm.innerText()).toLowerCase().replace(/[^0-9a-f\n]/g, '').includes(fetchedSha1.replace(/[^0-9a-f]/g, '')), 'the SHA-1 fingerprint is shown');
      assert.equal(await cluster.getByText('the same certificate is listed twice in one role').count(), 0, 'not added yet');
      await confirm.getByRole('button', { name: 'The fingerprint matches: add it' }).click();
      await cluster.getByText('the same certificate is listed twice in one role').waitFor();
      await cluster.getByRole('button', { name: 'Add SAST from eToken-A' }).click();
      await cluster.getByRole('button', { name: 'Add SAST from eToken-B' }).click();
      const file = path.join(work, 'cluster', 'cluster.json');
      fs.mkdirSync(path.dirname(file));
      await cluster.getByRole('textbox', { name: 'Cluster file' }).fill(file);
      assert.equal(await cluster.getByLabel('Replace an existing file').isChecked(), false, 'replacing is off until chosen');
      await cluster.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByText(`Saved ${file}`).waitFor();
      await screenshot(page, 'cluster');

      const saved = await loadClusterFile(file);
      assert.equal(saved.servers[0]!.name, 'cucm-pub');
      assert.equal(saved.servers[0]!.dns, 'cucm-pub.example.net');
      assert.deepEqual(saved.servers[0]!.certificates.map((c) => c.role), [Role.CCM_TFTP, Role.CCM_TFTP]);
      assert.equal(saved.servers[0]!.certificates[0]!.cert, vector('certs/ccm-tftp.pem'));
      assert.ok(fs.existsSync(saved.servers[0]!.certificates[1]!.cert), 'the fetched certificate is written beside the cluster file');
      assert.deepEqual(saved.sast, ['pkcs11:token=eToken-A', 'pkcs11:token=eToken-B']);

      // Its CTL records (the SAST read from the tokens the URIs name) go to the CTL builder.
      await cluster.getByRole('button', { name: 'Use these records in the CTL builder' }).click();
      const merged = page.locator('.toast', { hasText: 'Merged the cluster into the CTL builder' });
      await merged.waitFor();
      const m = /(\d+) records? added(?:, (\d+) already in the CTL)?; the CTL now has (\d+) records?/.exec(await merged.innerText());
      assert.ok(m, await merged.innerText());
      // The cluster's four records: SAST A, SAST B, and the CCM+TFTP certificate twice (file and TLS copy): at most
      // three distinct ones can be added, the rest are counted as already there.
      assert.equal(Number(m[1]) + Number(m[2] ?? 0), 4);
      assert.ok(Number(m[2] ?? 0) >= 1, 'the repeated CCM+TFTP certificate is not added twice');
      assert.equal(await page.locator('#nav-ctl').getAttribute('aria-current'), 'page');
      const caption = await page.getByTestId('ctl-records').locator('caption').innerText();
      assert.match(caption, new RegExp(`^${m[3]} records will be written`), 'the count agrees with the records table');
    } finally {
      server.close();
    }
  });

  it('has no serious or critical accessibility violation on any screen (axe-core)', async () => {
    const found: string[] = [];
    // The whole page once (page-level rules: landmarks, headings), then each screen with the shell around it:
    // axe over the whole DOM costs seconds per run on a loaded machine, and hidden screens are checked when shown.
    const check = async (where: string, scope?: string) => {
      const builder = new AxeBuilder({ page });
      if (scope) builder.include(scope).include('.topbar').include('.toasts');
      const results = await builder.analyze();
      for (const v of results.violations) {
        if (v.impact === 'serious' || v.impact === 'critical') {
          found.push(`${where}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`);
        }
      }
    };
    for (const [i, [id, title]] of SCREENS.entries()) {
      await nav(page, id);
      await check(title, i === 0 ? undefined : `#screen-${id}`);
    }
    await nav(page, 'tokens');
    await page.getByRole('button', { name: 'Log in to eToken-B…' }).click();
    await page.getByRole('dialog', { name: 'Log in to eToken-B' }).waitFor();
    await check('log-in dialog', 'dialog[open]');
    await screenshot(page, 'login-dialog');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    assert.deepEqual(found, []);
  });

  it('builds, signs and saves a CTL with the keyboard alone (log-in included)', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const kb = await context.newPage();
    kb.on('pageerror', (err) => pageErrors.push(err.message));
    try {
      await kb.goto(gui.url);
      await kb.getByRole('heading', { level: 2, name: 'Tokens' }).waitFor();
      await kb.locator('[data-token="eToken-B"]').waitFor();
      const out = path.join(work, 'CTLFile-keyboard.tlv');

      await tabTo(kb, 'CTL builder');
      await kb.keyboard.press('Enter');
      await tabTo(kb, 'Add SAST from eToken-A');
      await kb.keyboard.press('Enter');
      await tabTo(kb, 'Add SAST from eToken-B');
      await kb.keyboard.press('Enter');
      // Tab enters a radio group once; the arrow keys move within it (and select).
      await tabTo(kb, /^eToken-A/);
      await kb.keyboard.press('ArrowDown');
      await tabTo(kb, 'Save as');
      await kb.keyboard.press('Control+A');
      await kb.keyboard.type(out);
      await tabTo(kb, 'Log in to eToken-B to sign…');
      await kb.keyboard.press('Enter');
      await kb.getByRole('dialog', { name: 'Log in to eToken-B' }).waitFor();
      await kb.keyboard.type(PIN);
      await kb.keyboard.press('Enter');
      await kb.getByRole('dialog').waitFor({ state: 'hidden' });
      await kb.getByRole('button', { name: 'Sign and save CTL' }).waitFor();
      // The dialog hands the focus back to the button that opened it.
      assert.equal(await focusedName(kb), 'Sign and save CTL');
      await kb.keyboard.press('Enter');
      await kb.getByTestId('sign-result').waitFor();
      await screenshot(kb, 'ctl-keyboard');

      const verify = await runCliProcess(['verify', out]);
      assert.equal(verify.code, 0, verify.stderr);
      const list = parseTrustList(fs.readFileSync(out), { file: out });
      assert.equal(list.header.signer.subject, 'CN=SAST-eToken-B,OU=IPCBU,O=openctl demo,C=US');
    } catch (err) {
      await screenshot(kb, 'failed-keyboard');
      const status = await kb.locator('.toasts').innerText().catch(() => '');
      throw new Error(`${(err as Error).message}\nstatus line: ${status}\nfocus: ${await focusedName(kb)}`);
    } finally {
      await context.close();
    }
  });

  it('never writes the PIN to the app\'s output or files', () => {
    assert.ok(!gui.stdout().includes(PIN));
    assert.ok(!gui.stderr().includes(PIN));
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(work);
    for (const file of files.filter((f) => fs.statSync(f).size < 1_000_000)) {
      assert.ok(!fs.readFileSync(file, 'latin1').includes(PIN), `${path.relative(REPO_ROOT, file)} holds the PIN`);
    }
  });
});
