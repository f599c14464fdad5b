import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';
import { runCliCaptured } from '../helpers/run-cli';
import { CLI_BIN, REPO_ROOT } from '../helpers/paths';
import { spawn } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { startTftpServer, type RunningTftpServer } from '../../src/fetch';
import type { PreflightView } from '../../src/gui/types';
import { CONFIG_XML, config, pki, standardItl, type Pki } from '../trust/fixture';
import { issue } from '../capf/pki';
import { startServe } from '../capf/support';
import { appEnv, checkPageAfterEach, focusedName, openApp, screenshot, tabTo, type AppPage } from './support';

const PIN = 'qz-admin-5521';
const SCREENS = [
  ['tokens', 'Tokens'],
  ['cluster', 'Cluster'],
  ['ctl', 'CTL builder'],
  ['itl', 'ITL builder'],
  ['sign', 'Sign'],
  ['inspect', 'Inspect'],
  ['fetch', 'Fetch'],
  ['preflight', 'Preflight'],
  ['batch', 'Batch'],
  ['plan', 'Rollout plan'],
  ['tvs', 'TVS'],
  ['capf', 'CAPF'],
] as const;
type ScreenId = (typeof SCREENS)[number][0];
const NEW_SCREENS: ScreenId[] = ['itl', 'sign', 'fetch', 'preflight', 'tvs', 'capf'];
const README_SHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');

function pem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

/**
 * The admin screens end to end: the web GUI as a child process, Debian's Chromium, a SoftHSM token, real keys,
 * files and a TFTP server on loopback. Each screen is driven by the mouse or the keyboard; the verdicts it shows
 * are compared with what the CLI's --json says about the same files.
 */
describe('gui: ITL builder, Sign, Fetch, Preflight, Batch options, TVS and CAPF (Chromium, web mode)', function () {
  this.timeout(120_000);
  let p: Pki;
  let work: string;
  let hsm: SoftHsmFixture;
  let app: AppPage | undefined;
  let page: Page;
  let tftp: RunningTftpServer;
  const key: Record<string, string> = {};
  const cert: Record<string, string> = {};
  let heldItl: string;
  let cluster: string;

  const screen = (id: ScreenId) => page.locator(`#screen-${id}`);
  const nav = async (id: ScreenId) => {
    await page.locator(`#nav-${id}`).click();
    await screen(id).waitFor({ state: 'visible' });
  };
  // The README's pictures are replaced only when asked (OPENCTL_UPDATE_SCREENSHOTS=1): a plain `npm test` must not
  // leave tracked files modified in the checkout.
  const shot = async (name: string) => {
    const file = await screenshot(page, name);
    if (process.env.OPENCTL_UPDATE_SCREENSHOTS !== '1') return;
    fs.mkdirSync(README_SHOTS, { recursive: true });
    fs.copyFileSync(file, path.join(README_SHOTS, `${name}.png`));
  };

  before(async () => {
    p = await pki();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-gui-admin-'));
    hsm = await createSoftHsm({ pin: PIN, tokens: [{ label: 'eToken-S', keys: [{ keyBits: 2048, subject: 'CN=cucm-tftp-token,OU=IPCBU,O=openctl test' }] }] });
    for (const name of ['ccm', 'itlRecovery', 'tvs', 'capf', 'otherItlRecovery'] as const) {
      const w = await p[name].write(work, name);
      key[name] = w.signer;
      cert[name] = w.cert;
    }
    heldItl = path.join(work, 'ITLFile-held.tlv');
    fs.writeFileSync(heldItl, (await standardItl(p)).bytes);
    cluster = path.join(work, 'cluster.json');
    fs.writeFileSync(
      cluster,
      JSON.stringify({
        name: 'lab',
        servers: [
          { name: 'cucm-pub', dns: 'cucm-pub.example.net', ip: '10.0.0.5', certificates: [{ role: 'ccm-tftp', cert: cert.ccm }, { role: 'tvs', cert: cert.tvs }, { role: 'capf', cert: cert.capf }], itlSigner: key.otherItlRecovery },
        ],
      }),
    );
    tftp = await startTftpServer({ files: { 'ITLFile.tlv': fs.readFileSync(heldItl), 'SEP001122334455.cnf.xml.sgn': (await config(p.ccm)).bytes } });
    app = await openApp(appEnv(hsm.env({ HOME: work }), path.join(work, 'data'), hsm.modulePath));
    page = app.page;
  });

  after(async () => {
    await app?.close();
    await tftp?.close();
    hsm?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  checkPageAfterEach(() => app, 'failed-admin');

  it('ITL builder (mouse): the verdict before Save is the CLI preflight of the file Save writes; a rejected ITL cannot be saved', async () => {
    await nav('itl');
    const itl = screen('itl');
    await itl.getByRole('heading', { level: 2, name: 'ITL builder' }).waitFor();
    await itl.getByLabel('Cluster file').fill(cluster);
    await itl.getByLabel('Cluster file').press('Enter');
    const card = itl.locator('[data-testid="itl-server"][data-server="cucm-pub"]');
    await card.waitFor();
    // The cluster's itlSigner is shown, and no ITL held yet: phones that hold nothing accept any ITL.
    assert.match(await card.innerText(), /Signed by ITLRECOVERY_cucm-b/);
    await card.getByLabel('ITL the phones of cucm-pub hold now (optional)').fill(heldItl);
    assert.equal(await itl.getByRole('button', { name: 'Save ITLs' }).isDisabled(), true, 'inputs changed: check again first');
    await itl.getByRole('button', { name: 'Check ITLs again' }).click();
    await card.locator('[data-testid="itl-verdict"] tr[data-verdict="rejected"]').waitFor();
    assert.equal(await itl.getByRole('button', { name: 'Save ITLs' }).isDisabled(), true, 'a rejected ITL is not saved');
    await screenshot(page, 'itl-rejected');

    // Sign it with the ITLRecovery key the phones hold instead (the itlSigner is editable here).
    await card.getByLabel("Sign cucm-pub's ITL with another key than the cluster's itlSigner").check();
    await card.getByLabel('PEM file', { exact: true }).check();
    await card.getByLabel('ITL signer of cucm-pub: PEM file (path)').fill(key.itlRecovery!);
    await itl.getByRole('button', { name: 'Check ITLs again' }).click();
    const row = card.locator('[data-testid="itl-verdict"] tbody tr');
    await card.locator('[data-testid="itl-verdict"] tr[data-verdict="accepted"]').waitFor();
    const shown = { verdict: await row.getAttribute('data-verdict'), rule: await row.getAttribute('data-rule') };
    // Records show serial and SHA-1, so two records with one subject can be told apart.
    const records = card.getByTestId('itl-records');
    assert.equal(await records.locator('tbody tr').count(), 4);
    assert.match(await records.locator('[data-field="sha1"]').first().innerText(), /^[0-9a-f]{40}$/);

    const out = path.join(work, 'itl-out');
    await itl.getByLabel('Output folder (one sub-folder per server)').fill(out);
    assert.equal(await itl.getByLabel('Replace existing ITL files').isChecked(), false);
    await itl.getByRole('button', { name: 'Save ITLs' }).click();
    await itl.getByTestId('itl-saved').waitFor();
    await shot('itl-builder');
    const saved = path.join(out, 'cucm-pub', 'ITLFile.tlv');
    const cli = await runCliCaptured(['preflight', '--phone-has', heldItl, '--deploy', saved, '--json']);
    assert.equal(cli.code, 0, cli.stderr);
    const file = (JSON.parse(cli.stdout) as PreflightView).files![0]!;
    assert.deepEqual(shown, { verdict: file.verdict, rule: file.rule });
    const sha1s = await records.locator('[data-field="sha1"]').allInnerTexts();
    const show = JSON.parse((await runCliCaptured(['show', saved, '--json'])).stdout) as { records: Array<{ certificateSha1: string }> };
    assert.deepEqual(sha1s, show.records.map((r) => r.certificateSha1));
  });

  it('Sign (keyboard only): a file signed on the SoftHSM token after the log-in dialog; the verdict is openctl verify --json', async () => {
    const body = path.join(work, 'SEP00AABBCCDDEE.cnf.xml');
    fs.writeFileSync(body, CONFIG_XML);
    const outDir = path.join(work, 'signed');
    fs.mkdirSync(outDir);
    await page.locator('#nav-tokens').focus();
    await tabTo(page, 'Sign');
    await page.keyboard.press('Enter');
    await screen('sign').waitFor({ state: 'visible' });
    assert.equal(await focusedName(page), 'Sign', 'focus is on the heading of the new screen');
    await tabTo(page, 'Path');
    await page.keyboard.type(body);
    await page.keyboard.press('Enter');
    await screen('sign').getByTestId('sign-list').getByText(body).waitFor();
    await tabTo(page, 'TFTP signer: token');
    await page.keyboard.press('ArrowDown');
    await tabTo(page, 'Output folder');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(outDir);
    await tabTo(page, /^Sign 1 file$/);
    await page.keyboard.press('Enter');
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    // The dialog moves the focus to its PIN field itself (autofocus); on a loaded machine that takes a moment.
    for (let i = 0; i < 100 && (await focusedName(page)) !== 'PIN'; i += 1) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await focusedName(page), 'PIN');
    await page.keyboard.type(PIN);
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'detached' }).catch(() => dialog.waitFor({ state: 'hidden' }));
    await screen('sign').getByRole('button', { name: 'Sign 1 file' }).focus();
    await page.keyboard.press('Enter');
    const result = screen('sign').getByTestId('sign-files-result');
    await result.waitFor();
    const output = path.join(outDir, 'SEP00AABBCCDDEE.cnf.xml.sgn');
    const row = result.locator('tbody tr');
    assert.equal(await row.getAttribute('data-valid'), 'true');
    const tokenCert = path.join(work, 'etoken-s.pem');
    fs.writeFileSync(tokenCert, pem(hsm.tokens[0]!.keys[0]!.certificate!));
    const cli = JSON.parse((await runCliCaptured(['verify', output, '--cert', tokenCert, '--json'])).stdout) as { valid: boolean; reason: string };
    assert.equal(cli.valid, true);
    assert.ok((await row.innerText()).includes(cli.reason), 'the reason shown is the CLI\'s');
    await shot('sign');
    // The result panel belongs to the inputs that made it: changing one takes it away.
    await screen('sign').getByLabel('Digest').selectOption('sha512');
    await result.waitFor({ state: 'detached' });
  });

  it('Preflight (mouse): each row is the verdict and rule of openctl preflight --json', async () => {
    const newItl = path.join(work, 'ITLFile.tlv');
    fs.writeFileSync(newItl, (await standardItl(p, { signer: p.otherItlRecovery })).bytes);
    const cfg = path.join(work, 'SEP001122334455.cnf.xml.sgn');
    fs.writeFileSync(cfg, (await config(p.ccm)).bytes);
    await nav('preflight');
    const pf = screen('preflight');
    await pf.getByLabel('Files to deploy (--deploy)').fill(`${newItl}\n${cfg}`);
    await pf.getByLabel('CTL or ITL the phones hold (--phone-has)').fill(heldItl);
    await pf.getByRole('button', { name: 'Run preflight' }).click();
    const report = pf.getByTestId('preflight-report');
    await report.waitFor();
    const rows = await report.locator('[data-testid="preflight-verdicts"] tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-verdict'), tr.getAttribute('data-rule')]));
    const cli = await runCliCaptured(['preflight', '--deploy', newItl, cfg, '--phone-has', heldItl, '--json']);
    const json = JSON.parse(cli.stdout) as PreflightView;
    assert.deepEqual(rows, json.files!.map((f) => [f.verdict, f.rule]));
    assert.equal(await report.getAttribute('data-ok'), String(json.ok));
    assert.equal(cli.code, json.ok ? 0 : 1);
    assert.equal(json.ok, false, 'a new ITL signer the phones do not know is rejected without TVS');
    await shot('preflight');
    // With TVS vouching for the new signer, the same screen says accepted via TVS, as the CLI does.
    await pf.getByLabel('Certificates TVS vouches for (--tvs-knows, optional)').fill(`${path.join(work, 'otherItlRecovery.pem')}`);
    fs.writeFileSync(path.join(work, 'otherItlRecovery.pem'), pem(p.otherItlRecovery.certDer));
    await pf.getByLabel('CTL or ITL the phones hold (--phone-has)').press('Enter');
    await report.waitFor();
    const viaTvs = JSON.parse((await runCliCaptured(['preflight', '--deploy', newItl, cfg, '--phone-has', heldItl, '--tvs-knows', path.join(work, 'otherItlRecovery.pem'), '--json'])).stdout) as PreflightView;
    await pf.locator(`[data-testid="preflight-verdicts"] tbody tr[data-verdict="${viaTvs.files![0]!.verdict}"]`).first().waitFor();
    const again = await pf.locator('[data-testid="preflight-verdicts"] tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-verdict'), tr.getAttribute('data-rule')]));
    assert.deepEqual(again, viaTvs.files!.map((f) => [f.verdict, f.rule]));
  });

  it('Fetch (mouse and keyboard): downloads over TFTP as openctl fetch, then opens a file in Inspect and the lists in Preflight', async () => {
    await nav('fetch');
    const fe = screen('fetch');
    const out = path.join(work, 'fetched');
    await fe.getByLabel('TFTP server (name or IPv4)').fill('127.0.0.1');
    await fe.getByLabel('Phone MAC addresses (optional, --mac)').fill('0011.2233.4455');
    await fe.getByLabel('TFTP port').fill(String(tftp.port));
    await fe.getByLabel('Transports, in order').selectOption('tftp');
    await fe.getByLabel('Save in folder').fill(out);
    await fe.getByLabel('Save in folder').press('Enter');
    const table = fe.getByTestId('fetch-files');
    await table.waitFor();
    assert.deepEqual(await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-got'))), ['false', 'true', 'true']);
    assert.deepEqual(fs.readFileSync(path.join(out, 'ITLFile.tlv')), fs.readFileSync(heldItl));
    await shot('fetch');

    await fe.getByRole('button', { name: 'Open ITLFile.tlv in Inspect' }).click();
    await screen('inspect').getByTestId('inspect-report').waitFor();
    assert.match(await screen('inspect').getByTestId('verdict').innerText(), /Signature: valid/);
    // Two records with one role can be told apart: every record shows its serial and SHA-1.
    assert.equal(await screen('inspect').getByTestId('record-ids').count(), 4);
    await nav('fetch');
    await fe.getByRole('button', { name: 'Preflight: use these as what phones hold' }).click();
    await screen('preflight').waitFor({ state: 'visible' });
    assert.equal(await screen('preflight').getByLabel('CTL or ITL the phones hold (--phone-has)').inputValue(), path.join(out, 'ITLFile.tlv'));
  });

  it('Batch options: include and exclude as the CLI, the options shown with the progress', async () => {
    const src = path.join(work, 'batch-src');
    fs.mkdirSync(path.join(src, 'old'), { recursive: true });
    for (let i = 0; i < 12; i += 1) fs.writeFileSync(path.join(src, `SEP0011223344${String(i).padStart(2, '0')}.cnf.xml`), CONFIG_XML);
    fs.writeFileSync(path.join(src, 'old', 'SEP001122334499.cnf.xml'), CONFIG_XML);
    fs.writeFileSync(path.join(src, 'README.txt'), 'notes');
    const out = path.join(work, 'batch-out');
    await nav('batch');
    const b = screen('batch');
    await b.getByLabel('Source folder').fill(src);
    await b.getByLabel('Output folder').fill(out);
    await b.getByLabel('A PEM file with key and certificate (the TFTP server\'s CallManager key)').check();
    await b.getByLabel('PEM file (path)').fill(key.ccm!);
    await b.getByText('Options (include, exclude, encrypt, trust, incremental)').click();
    await b.getByLabel('Sign only files matching (--include)').fill('*.cnf.xml');
    await b.getByLabel('Skip files matching (--exclude)').fill('old/**');
    await b.getByRole('button', { name: 'Start', exact: true }).click();
    await page.locator('[data-testid="batch-progress"][data-status="done"]').waitFor();
    assert.match(await b.innerText(), /Options: --include \*\.cnf\.xml --exclude old\/\*\*/);
    const signed = fs.readdirSync(out).filter((n) => n.endsWith('.sgn'));
    assert.equal(signed.length, 12);
    assert.ok(!fs.existsSync(path.join(out, 'old')) || fs.readdirSync(path.join(out, 'old')).length === 0);
    await shot('batch-options');
  });

  it('TVS (mouse): the store as openctl tvs list --json, a TLS certificate added after its fingerprint, and a running server\'s health', async () => {
    const db = path.join(work, 'tvs.db');
    const tvsPem = (await p.tvs.write(work, 'tvs-server')).signer;
    const server = spawn(process.execPath, [CLI_BIN, 'tvs', 'serve', '--db', db, '--signer', tvsPem, '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let printed = '';
      server.stdout!.on('data', (c: Buffer) => (printed += c.toString('utf8')));
      for (let i = 0; i < 300 && !/metrics on http:\/\/[^/]+\/metrics/.test(printed); i += 1) await new Promise((r) => setTimeout(r, 50));
      const tvsPort = /listening on 127\.0\.0\.1:(\d+)/.exec(printed)?.[1];
      const metricsAt = /metrics on http:\/\/([^/]+)\/metrics/.exec(printed)?.[1];
      assert.ok(tvsPort && metricsAt, `openctl tvs serve printed: ${printed}`);

      await nav('tvs');
      const tvs = screen('tvs');
      await tvs.getByLabel('Store (--db: a SQLite file or a postgres:// URL)').fill(db);
      await tvs.getByRole('button', { name: 'Open store' }).click();
      await tvs.getByTestId('tvs-certificates').waitFor();
      // From a file, as CCM+TFTP with a TTL of one hour.
      await tvs.getByLabel('TTL: how long phones may cache the answer (seconds, --ttl)').fill('3600');
      await page.locator('[data-picker="tvs-file"]').getByLabel('Path').fill(cert.ccm!);
      await page.locator('[data-picker="tvs-file"]').getByRole('button', { name: 'Add' }).click();
      await tvs.locator('[data-testid="tvs-certificates"] tbody tr').first().waitFor();
      // From the TVS server's own TLS certificate: shown with its fingerprint first.
      await tvs.getByLabel("Or from a server's TLS certificate: host").fill('127.0.0.1');
      await tvs.getByLabel('Port', { exact: true }).fill(tvsPort!);
      await tvs.getByRole('button', { name: 'Fetch over TLS' }).click();
      const confirm = tvs.getByTestId('tvs-tls-confirm');
      await confirm.waitFor();
      assert.ok((await confirm.innerText()).toLowerCase().includes(p.tvs.certDer.length > 0 ? createHash('sha1').update(p.tvs.certDer).digest('hex') : ''), 'the SHA-1 is shown');
      await tvs.getByLabel('TVS', { exact: true }).check();
      await confirm.getByRole('button', { name: 'The fingerprint matches: vouch for it' }).click();
      await tvs.locator('[data-testid="tvs-certificates"] tbody tr').nth(1).waitFor();

      const shown = await tvs.locator('[data-testid="tvs-certificates"] tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-sha256'), tr.children[2]!.textContent, tr.children[3]!.textContent]));
      const cli = JSON.parse((await runCliCaptured(['tvs', 'list', '--db', db, '--json'])).stdout) as { certificates: Array<{ sha256: string; roles: string[]; ttl: number }> };
      assert.deepEqual(shown, cli.certificates.map((c) => [c.sha256, c.roles.join(', '), `${c.ttl} s`]));
      assert.equal(cli.certificates.length, 2);

      // The running server answers from the same store: its health says so.
      await tvs.getByLabel('Metrics address (--metrics HOST:PORT)').fill(metricsAt!);
      await tvs.getByRole('button', { name: 'Check status' }).click();
      const status = tvs.getByTestId('tvs-server-status');
      await status.waitFor();
      assert.equal(await status.getAttribute('data-healthy'), 'true');
      assert.match(await status.innerText(), /certificates\s+2/);
      assert.match(await tvs.getByTestId('tvs-metrics-table').innerText(), /openctl_tvs_/);
      await shot('tvs');

      await tvs.getByRole('button', { name: /^Remove cucm-pub-tvs/ }).click();
      await tvs.locator(`tr[data-sha256="${createHash('sha256').update(p.tvs.certDer).digest('hex')}"]`).waitFor({ state: 'detached' });
      const after = JSON.parse((await runCliCaptured(['tvs', 'list', '--db', db, '--json'])).stdout) as { certificates: unknown[] };
      assert.equal(after.certificates.length, 1);
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  });

  it('CAPF (keyboard and mouse): devices scheduled and changed as openctl capf device list --json shows them; no server is said to be down', async () => {
    const db = path.join(work, 'capf.db');
    await nav('capf');
    const capf = screen('capf');
    await capf.getByLabel('Store (--db: a SQLite file or a postgres:// URL)').fill(db);
    await capf.getByLabel('Store (--db: a SQLite file or a postgres:// URL)').press('Enter');
    await capf.getByTestId('capf-device-table').waitFor();
    await capf.getByLabel('Devices (SEP<MAC>, one per line)').fill('SEP001122334455\nSEP00AABBCCDDEE');
    await capf.getByRole('button', { name: 'Add devices' }).click();
    await capf.locator('[data-testid="capf-device-table"] tr[data-device="SEP00AABBCCDDEE"]').waitFor();
    await capf.getByLabel('Devices (SEP<MAC>, one per line)').fill('SEP00AABBCCDDEE');
    await capf.getByLabel('Operation').selectOption('fetch');
    await capf.getByLabel('Operation').focus();
    await tabTo(page, 'Change operation and authentication');
    await page.keyboard.press('Enter');
    await capf.locator('tr[data-device="SEP00AABBCCDDEE"][data-operation="fetch"]').waitFor();
    const cli = JSON.parse((await runCliCaptured(['capf', 'device', 'list', '--db', db, '--json'])).stdout) as { devices: Array<{ device: string; operation: string; auth: string; key: string }> };
    assert.deepEqual(cli.devices.map((d) => [d.device, d.operation, d.auth, d.key]), [
      ['SEP001122334455', 'install', 'mic', 'rsa:2048'],
      ['SEP00AABBCCDDEE', 'fetch', 'mic', 'rsa:2048'],
    ]);
    const bad = await capf.getByLabel('Devices (SEP<MAC>, one per line)').fill('not-a-phone');
    void bad;
    await capf.getByRole('button', { name: 'Add devices' }).click();
    await capf.locator('.error-line').waitFor();
    assert.match(await capf.locator('.error-line').innerText(), /not-a-phone/);
    // A metrics address with nothing listening: "no answer", never "healthy".
    await capf.getByLabel('Metrics address (--metrics HOST:PORT)').fill('127.0.0.1:9');
    await capf.getByRole('button', { name: 'Check status' }).click();
    const status = capf.getByTestId('capf-server-status');
    await status.waitFor();
    assert.equal(await status.getAttribute('data-healthy'), 'false');
    assert.match(await status.innerText(), /No answer from http:\/\/127\.0\.0\.1:9/);
    await capf.getByRole('button', { name: 'Remove SEP001122334455' }).click();
    await capf.locator('tr[data-device="SEP001122334455"]').waitFor({ state: 'detached' });
    await shot('capf');
  });

  // Keyboard only: go to a screen from the top bar with Tab and Enter; replace a field's text as a keyboard user does.
  const keyboardTo = async (id: ScreenId, title: string) => {
    await page.locator('#nav-tokens').focus();
    await tabTo(page, title);
    await page.keyboard.press('Enter');
    await screen(id).waitFor({ state: 'visible' });
    assert.equal(await focusedName(page), title, 'focus is on the heading of the screen');
  };
  const retype = async (label: string | RegExp, text: string) => {
    await tabTo(page, label);
    await page.keyboard.press('Control+A');
    if (text) await page.keyboard.type(text);
    else await page.keyboard.press('Delete');
  };
  const until = async (what: string, check: () => Promise<boolean>, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('ITL builder (keyboard only): a rollback ITL checked and saved; the verdict is openctl preflight --json of the saved file, the expiry of each record openctl show --json\'s', async () => {
    await keyboardTo('itl', 'ITL builder');
    const itl = screen('itl');
    const card = itl.locator('[data-testid="itl-server"][data-server="cucm-pub"]');
    // Radios of one group take one Tab stop; the arrow keys choose within it.
    await tabTo(page, /^Normal ITL/);
    await page.keyboard.press('ArrowDown');
    assert.equal(await itl.getByLabel(/^Rollback ITL/).isChecked(), true);
    const save = itl.getByRole('button', { name: 'Save ITLs' });
    assert.equal(await save.isDisabled(), true, 'a changed input voids the check');
    await tabTo(page, 'Check ITLs again');
    await page.keyboard.press('Enter');
    await until('Save ITLs offered after the check', () => save.isEnabled());
    const out = path.join(work, 'itl-rollback');
    await retype('Output folder (one sub-folder per server)', out);
    await tabTo(page, 'Save ITLs');
    await page.keyboard.press('Enter');
    const saved = itl.getByTestId('itl-saved');
    await saved.waitFor();
    assert.match(await saved.innerText(), /Saved 1 ITL \(rollback\)/);
    const file = path.join(out, 'cucm-pub', 'ITLFile.tlv');
    const row = card.locator('[data-testid="itl-verdict"] tbody tr');
    const cli = JSON.parse((await runCliCaptured(['preflight', '--phone-has', heldItl, '--deploy', file, '--json'])).stdout) as PreflightView;
    assert.deepEqual([await row.getAttribute('data-verdict'), await row.getAttribute('data-rule')], [cli.files![0]!.verdict, cli.files![0]!.rule]);
    const show = JSON.parse((await runCliCaptured(['show', file, '--json'])).stdout) as { rollback: boolean; records: Array<{ certificateSha1: string }>; summary: Array<{ notAfter: string }> };
    assert.equal(show.rollback, true);
    const records = card.getByTestId('itl-records');
    assert.deepEqual(await records.locator('[data-field="sha1"]').allInnerTexts(), show.records.map((r) => r.certificateSha1));
    // Each record's expiry (the Certificate column) is the certificate's notAfter.
    const expiries = await records.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.children[6]!.textContent ?? ''));
    assert.equal(expiries.length, show.summary.length);
    for (const [i, s] of show.summary.entries()) assert.ok(expiries[i]!.includes(s.notAfter.slice(0, 10)), `record ${i + 1}: ${expiries[i]} shows ${s.notAfter}`);
  });

  it('Preflight (keyboard only): tftp:// URLs to deploy and as what phones hold; each row is openctl preflight --json for the same URLs', async () => {
    const base = `tftp://127.0.0.1:${tftp.port}`;
    const deploy = [`${base}/ITLFile.tlv`, `${base}/SEP001122334455.cnf.xml.sgn`];
    const held = `${base}/ITLFile.tlv`;
    await keyboardTo('preflight', 'Preflight');
    await retype('Files to deploy (--deploy)', '');
    await page.keyboard.type(deploy.join('\n'));
    await retype('CTL or ITL the phones hold (--phone-has)', held);
    await retype('The other list they hold (--phone-has, optional)', '');
    await retype('Certificates TVS vouches for (--tvs-knows, optional)', '');
    await tabTo(page, 'Run preflight');
    await page.keyboard.press('Enter');
    const pf = screen('preflight');
    const report = pf.getByTestId('preflight-report');
    await report.waitFor();
    const cli = await runCliCaptured(['preflight', '--deploy', ...deploy, '--phone-has', held, '--json']);
    const json = JSON.parse(cli.stdout) as PreflightView;
    const rows = await report.locator('[data-testid="preflight-verdicts"] tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-verdict'), tr.getAttribute('data-rule')]));
    assert.equal(rows.length, 2);
    assert.deepEqual(rows, json.files!.map((f) => [f.verdict, f.rule]));
    assert.equal(await report.getAttribute('data-ok'), String(json.ok));
    assert.equal(json.ok, true, 'the ITL phones hold and a config its CCM+TFTP record signed');
    const text = await report.innerText();
    for (const f of json.files!) assert.ok(text.includes(f.name), `the row names ${f.name}`);
  });

  it('TVS (keyboard only): every record of an ITL added with its own role (--from); the table is openctl tvs list --json, and the same as tvs add --from gives', async () => {
    const db = path.join(work, 'tvs-from.db');
    await keyboardTo('tvs', 'TVS');
    await retype('Store (--db: a SQLite file or a postgres:// URL)', db);
    await page.keyboard.press('Enter');
    const tvs = screen('tvs');
    const table = tvs.getByTestId('tvs-certificates');
    await table.locator('caption', { hasText: /^0 certificate/ }).waitFor();
    const ttl = await tvs.getByLabel('TTL: how long phones may cache the answer (seconds, --ttl)').inputValue();
    // The first "Path" is the certificate files' picker, the next the CTL or ITL picker's.
    await tabTo(page, 'Path');
    await tabTo(page, 'Path');
    await page.keyboard.type(heldItl);
    assert.equal(await page.locator('[data-picker="tvs-list"]').getByLabel('Path').inputValue(), heldItl);
    await page.keyboard.press('Enter');
    await table.locator('tbody tr').nth(3).waitFor();
    const shown = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-sha256'), tr.children[2]!.textContent, tr.children[3]!.textContent]));
    type TvsList = { certificates: Array<{ sha256: string; roles: string[]; ttl: number }> };
    const list = JSON.parse((await runCliCaptured(['tvs', 'list', '--db', db, '--json'])).stdout) as TvsList;
    assert.deepEqual(shown, list.certificates.map((c) => [c.sha256, c.roles.join(', '), `${c.ttl} s`]));
    const cliDb = path.join(work, 'tvs-from-cli.db');
    const add = await runCliCaptured(['tvs', 'add', '--db', cliDb, '--from', heldItl, '--ttl', ttl]);
    assert.equal(add.code, 0, add.stderr);
    const cli = JSON.parse((await runCliCaptured(['tvs', 'list', '--db', cliDb, '--json'])).stdout) as TvsList;
    const key = (c: TvsList['certificates'][number]) => [c.sha256, c.roles, c.ttl];
    assert.deepEqual(list.certificates.map(key), cli.certificates.map(key));
    assert.equal(list.certificates.length, 4);
    assert.ok(list.certificates.every((c) => c.roles.length === 1), 'each record in its own role');
  });

  it('CAPF (mouse): a device locked by wrong passwords against a running capf serve is unlocked from the app; its LSC then shows the serial and expiry openctl capf device list --json gives', async () => {
    const dir = path.join(work, 'capf-lock');
    fs.mkdirSync(dir);
    const db = path.join(dir, 'capf.db');
    const device = 'SEP0011223344CC';
    const ca = await issue({ subject: 'CN=GUI test CAPF CA,O=openctl test', ca: true });
    const capfTls = await issue({ subject: 'CN=CAPF-gui,O=openctl test' });
    const caFiles = await ca.write(dir, 'ca');
    const capfFiles = await capfTls.write(dir, 'capf');
    const right = path.join(dir, 'right.pw');
    const wrong = path.join(dir, 'wrong.pw');
    fs.writeFileSync(right, 'Right-pass-1\n', { mode: 0o600 });
    fs.writeFileSync(wrong, 'wrong-pass\n', { mode: 0o600 });
    const added = await runCliCaptured(['capf', 'device', 'add', '--db', db, device, '--auth', 'password', '--password-file', right]);
    assert.equal(added.code, 0, added.stderr);
    fs.mkdirSync(path.join(dir, 'lsc'));
    fs.mkdirSync(path.join(dir, 'phone'));
    const server = await startServe(['--db', db, '--signer', capfFiles.bundle, '--issuer', caFiles.bundle, '--out', path.join(dir, 'lsc'), '--days', '30', '--max-failures', '2', '--metrics', '127.0.0.1:0']);
    try {
      const enrol = (pw: string) => runCliCaptured(['capf', 'enroll', `127.0.0.1:${server.port}`, device, '--capf-cert', capfFiles.cert, '--password-file', pw, '--out', path.join(dir, 'phone'), '--json']);
      type Devices = { devices: Array<{ device: string; failures: number; lastResult: string | null; lscSerial: string | null; lscNotAfter: string | null }> };
      const listed = async () => (JSON.parse((await runCliCaptured(['capf', 'device', 'list', '--db', db, '--json'])).stdout) as Devices).devices.find((d) => d.device === device)!;
      for (let i = 0; i < 2; i += 1) {
        const refused = await enrol(wrong);
        assert.equal(refused.code, 1, refused.stderr);
      }
      const locked = await enrol(right);
      assert.equal(locked.code, 1, `locked: refused even with the right password: ${locked.stderr}`);
      let cli = await listed();
      assert.deepEqual([cli.failures, cli.lastResult], [2, 'locked']);

      await nav('capf');
      const capf = screen('capf');
      await capf.getByLabel('Store (--db: a SQLite file or a postgres:// URL)').fill(db);
      await capf.getByRole('button', { name: 'Open store' }).click();
      const row = capf.locator(`tr[data-device="${device}"]`);
      await row.waitFor();
      const cells = async () => row.locator('td').allInnerTexts();
      let shown = await cells();
      assert.equal(shown[3], String(cli.failures), 'failed tries');
      assert.match(shown[5]!, / · locked$/, 'the last contact ended locked');
      assert.match(shown[4]!, /none issued/);
      // The running server: healthy, from its own /health.
      const metricsAt = /metrics on http:\/\/([^/\s]+)\/metrics/.exec(server.stdout())?.[1] ?? /metrics on http:\/\/([^/\s]+)/.exec(server.stderr())?.[1];
      assert.ok(metricsAt, `capf serve printed its metrics address: ${server.stdout()}`);
      await capf.getByLabel('Metrics address (--metrics HOST:PORT)').fill(metricsAt);
      await capf.getByRole('button', { name: 'Check status' }).click();
      const status = capf.getByTestId('capf-server-status');
      await status.locator('xpath=self::*[@data-healthy="true"]').waitFor();
      assert.match(await status.innerText(), new RegExp(`CAPF at http://${metricsAt.replace(/\./g, '\\.')}\\S* is healthy`));

      await capf.getByRole('button', { name: `Unlock ${device}` }).click();
      await capf.getByRole('button', { name: `Unlock ${device}` }).waitFor({ state: 'detached' });
      assert.equal((await cells())[3], '0');
      cli = await listed();
      assert.equal(cli.failures, 0, 'capf device list --json: unlocked');

      const ok = await enrol(right);
      assert.equal(ok.code, 0, ok.stderr);
      cli = await listed();
      assert.ok(cli.lscSerial && cli.lscNotAfter, 'an LSC was issued');
      await capf.getByRole('button', { name: 'Open store' }).click();
      await row.getByText(cli.lscSerial).waitFor();
      shown = await cells();
      assert.equal(shown[4], `${cli.lscSerial}\nvalid until ${cli.lscNotAfter.slice(0, 10)}`);
      const lsc = new X509Certificate(fs.readFileSync(path.join(dir, 'phone', `${device}.pem`)));
      assert.equal(lsc.serialNumber.replace(/^0+/, '').toLowerCase(), cli.lscSerial.replace(/^0+/, '').toLowerCase(), 'the serial of the LSC the phone got');
      assert.equal(new Date(lsc.validTo).toISOString().slice(0, 10), cli.lscNotAfter.slice(0, 10));
    } finally {
      await server.stop();
    }
  });

  it('Batch (keyboard only): --encrypt-with a folder of phone certificates, then --incremental signs only the changed file; outputs as openctl batch sign writes them', async () => {
    const src = path.join(work, 'batch-enc-src');
    const certs = path.join(work, 'phone-certs');
    fs.mkdirSync(src);
    fs.mkdirSync(certs);
    const names = ['SEP001122334455.cnf.xml', 'SEP0011223344A0.cnf.xml', 'SEP0011223344A1.cnf.xml'];
    for (const [i, n] of names.entries()) fs.writeFileSync(path.join(src, n), CONFIG_XML.toString().replace('</device>', `<n>${i}</n></device>`));
    const device = await p.device.write(work, 'device'); // CN=SEP001122334455
    fs.copyFileSync(device.cert, path.join(certs, 'SEP001122334455.pem'));
    const out = path.join(work, 'batch-enc-out');
    const cliOut = path.join(work, 'batch-enc-cli');

    await keyboardTo('batch', 'Batch');
    await retype('Source folder', src);
    await retype('Output folder', out);
    await retype('Sign only files matching (--include)', '');
    await retype('Skip files matching (--exclude)', '');
    await retype('Encrypt with the phone certificates in (--encrypt-with)', certs);
    await page.keyboard.press('Enter'); // submits the form: Start
    const b = screen('batch');
    const message = b.getByTestId('batch-message');
    await b.locator('[data-testid="batch-progress"][data-status="done"]').waitFor();
    await until('the first run\'s counts', async () => /^3 signed, 0 unchanged, 0 failed/.test(await message.innerText()));
    assert.match(await b.innerText(), new RegExp(`Options: --encrypt-with ${certs.replace(/[/.]/g, '\\$&')}`));
    const cli = await runCliCaptured(['batch', 'sign', src, '--out', cliOut, '--signer', key.ccm!, '--encrypt-with', certs]);
    assert.equal(cli.code, 0, cli.stderr);
    const outputs = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.sgn')).sort();
    assert.deepEqual(outputs(out), outputs(cliOut));
    assert.deepEqual(outputs(out), ['SEP001122334455.cnf.xml.enc.sgn', 'SEP001122334455.cnf.xml.sgn', 'SEP0011223344A0.cnf.xml.sgn', 'SEP0011223344A1.cnf.xml.sgn']);
    for (const n of outputs(out)) {
      const v = JSON.parse((await runCliCaptured(['verify', path.join(out, n), '--cert', cert.ccm!, '--json'])).stdout) as { valid: boolean };
      assert.equal(v.valid, true, `${n} verifies`);
    }
    const plain = path.join(work, 'decrypted.cnf.xml');
    const dec = await runCliCaptured(['decrypt', path.join(out, 'SEP001122334455.cnf.xml.enc.sgn'), '--device-key', device.signer, '--out', plain]);
    assert.equal(dec.code, 0, dec.stderr);
    assert.deepEqual(fs.readFileSync(plain), fs.readFileSync(path.join(src, names[0]!)), 'the phone\'s key decrypts it to its source');

    // Change one source; an incremental run signs only it, the others are kept byte for byte.
    const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    const before = Object.fromEntries(outputs(out).map((n) => [n, sha(path.join(out, n))]));
    fs.appendFileSync(path.join(src, names[1]!), '<!-- changed -->\n');
    await tabTo(page, /^Incremental: sign again only/);
    await page.keyboard.press('Space');
    assert.equal(await b.getByLabel(/^Incremental: sign again only/).isChecked(), true);
    await tabTo(page, 'Start');
    await page.keyboard.press('Enter');
    await until('the incremental run\'s counts', async () => /^1 signed, 2 unchanged, 0 failed/.test(await message.innerText()));
    assert.match(await b.innerText(), /Options: .*--incremental/);
    const changed = outputs(out).filter((n) => sha(path.join(out, n)) !== before[n]);
    assert.deepEqual(changed, ['SEP0011223344A0.cnf.xml.sgn']);
    const cliAgain = await runCliCaptured(['batch', 'sign', src, '--out', cliOut, '--signer', key.ccm!, '--encrypt-with', certs, '--incremental', '--json']);
    assert.equal(cliAgain.code, 0, cliAgain.stderr);
    const summary = JSON.parse(cliAgain.stdout) as { signed: number; kept: number };
    assert.deepEqual([summary.signed, summary.kept], [1, 2], 'the CLI signs the same one file');
    const unsigned = path.join(work, 'A0.unsigned');
    assert.equal((await runCliCaptured(['unsign', path.join(out, 'SEP0011223344A0.cnf.xml.sgn'), '--out', unsigned])).code, 0);
    assert.deepEqual(fs.readFileSync(unsigned), fs.readFileSync(path.join(src, names[1]!)));
  });

  it('every screen is in the top bar with its heading; axe-core finds nothing serious on the new ones; status messages never cover a control', async () => {
    const found: string[] = [];
    for (const [id, title] of SCREENS) {
      await nav(id);
      await screen(id).getByRole('heading', { level: 2, name: title, exact: true }).waitFor();
      if (!NEW_SCREENS.includes(id)) continue;
      // The screen shown and the top bar (the hidden screens are checked where they are shown).
      const results = await new AxeBuilder({ page }).include(`#screen-${id}`).include('.topbar').include('.toasts').analyze();
      for (const v of results.violations) {
        if (v.impact === 'serious' || v.impact === 'critical') found.push(`${id}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`);
      }
    }
    assert.deepEqual(found, []);
    // A status message takes room of its own below the screens: it never lies over anything.
    await nav('sign');
    await screen('sign').getByLabel('Digest').selectOption('sha1');
    await screen('sign').getByLabel('Replace existing files').check();
    await screen('sign').getByRole('button', { name: 'Sign 1 file' }).click();
    await page.locator('.toast').first().waitFor();
    const boxes = (await page.evaluate(`(() => {
      const r = (s) => document.querySelector(s).getBoundingClientRect();
      return { scroll: r('.scroll'), toasts: r('.toasts') };
    })()`)) as { scroll: { bottom: number }; toasts: { top: number; height: number } };
    assert.ok(boxes.toasts.height > 0);
    assert.ok(boxes.toasts.top >= boxes.scroll.bottom - 0.5, `toasts (top ${boxes.toasts.top}) below the screens (bottom ${boxes.scroll.bottom})`);
  });

  it('works 820 px wide without sideways scrolling on every screen (tables wrap or scroll inside themselves)', async () => {
    await page.setViewportSize({ width: 820, height: 900 });
    const wide: string[] = [];
    for (const [id] of SCREENS) {
      await nav(id);
      const sizes = (await page.evaluate(`(() => {
        const s = document.querySelector('.scroll');
        return { doc: document.documentElement.scrollWidth, view: document.documentElement.clientWidth, inner: s.scrollWidth, box: s.clientWidth };
      })()`)) as { doc: number; view: number; inner: number; box: number };
      if (sizes.doc > sizes.view || sizes.inner > sizes.box) wide.push(`${id}: page ${sizes.doc}/${sizes.view}, screen ${sizes.inner}/${sizes.box}`);
    }
    assert.deepEqual(wide, []);
    await nav('itl');
    await shot('itl-820');
  });
});
