import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { runCliCaptured } from '../helpers/run-cli';
import { REPO_ROOT } from '../helpers/paths';
import { config, pki, standardItl, type Pki } from '../trust/fixture';
import { appEnv, checkPageAfterEach, openApp, screenshot, type AppPage } from './support';

/**
 * What used to mislead, through the real web GUI (a child process with HOME pointed at a temp folder) and
 * Debian's Chromium: where outputs are suggested, a new cluster's file name, where Compare is offered, each
 * record's expiry; and files dropped on the Sign screen (a real DataTransfer and drop event).
 */
describe('gui: output folders, new cluster name, Compare and record expiry, files dropped on Sign (Chromium, web mode)', function () {
  this.timeout(120_000);
  let p: Pki;
  let work: string;
  let home: string;
  let documents: string;
  let app: AppPage | undefined;
  let page: Page;
  let ccmKey: string;
  let ccmCert: string;

  const screen = (id: string) => page.locator(`#screen-${id}`);
  const nav = async (id: string) => {
    await page.locator(`#nav-${id}`).click();
    await screen(id).waitFor({ state: 'visible' });
  };

  before(async () => {
    p = await pki();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-gui-fixes-'));
    home = path.join(work, 'home');
    documents = path.join(home, 'Documents');
    fs.mkdirSync(documents, { recursive: true });
    ({ signer: ccmKey, cert: ccmCert } = await p.ccm.write(work, 'ccm'));
    const env = appEnv({ ...process.env, HOME: home }, path.join(work, 'data'));
    delete env.XDG_DOCUMENTS_DIR;
    app = await openApp(env);
    page = app.page;
  });

  after(async () => {
    await app?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  checkPageAfterEach(() => app, 'failed-fixes');

  it('outputs are suggested in the user\'s Documents, never the folder the app runs from, then in the last folder used; New cluster gets a file name of its own', async () => {
    // The app runs from the checkout (the web GUI's cwd); HOME is the temp home with a Documents folder.
    await nav('sign');
    const signOut = await screen('sign').getByLabel('Output folder').inputValue();
    assert.equal(signOut, documents);
    await nav('cluster');
    const clusterFile = screen('cluster').getByRole('textbox', { name: 'Cluster file' });
    assert.equal(await clusterFile.inputValue(), path.join(documents, 'cluster.json'));
    for (const v of [signOut, await clusterFile.inputValue()]) assert.ok(!v.startsWith(REPO_ROOT) && !v.startsWith(process.cwd()), `${v} is not in the app's folder`);

    // Load a cluster from another folder: that folder is now the last one used.
    const clusters = path.join(work, 'clusters');
    fs.mkdirSync(clusters);
    const lab = path.join(clusters, 'lab.json');
    fs.writeFileSync(lab, JSON.stringify({ name: 'lab', servers: [{ name: 'cucm-pub', certificates: [{ role: 'ccm-tftp', cert: ccmCert }] }] }));
    await nav('cluster');
    await clusterFile.fill(lab);
    await screen('cluster').getByRole('button', { name: 'Load', exact: true }).click();
    await page.locator('.toast', { hasText: `Loaded ${lab}` }).waitFor();
    assert.equal(await screen('cluster').getByLabel('Cluster name').inputValue(), 'lab');
    // The CTL builder's records table tells records apart and shows when each certificate expires.
    await screen('cluster').getByRole('button', { name: 'Use these records in the CTL builder' }).click();
    const ctlRow = screen('ctl').locator('[data-testid="ctl-records"] tbody tr');
    await ctlRow.first().waitFor();
    const x509 = new X509Certificate(fs.readFileSync(ccmCert));
    const row = await ctlRow.first().evaluate((tr) => ({ serial: tr.querySelector('[data-field="serial"]')!.textContent, sha1: tr.querySelector('[data-field="sha1"]')!.textContent, expiry: tr.children[6]!.textContent }));
    assert.equal(row.serial!.replace(/^0+/, '').toLowerCase(), x509.serialNumber.replace(/^0+/, '').toLowerCase());
    assert.equal(row.sha1, x509.fingerprint.replace(/:/g, '').toLowerCase());
    assert.ok(row.expiry!.includes(new Date(x509.validTo).toISOString().slice(0, 10)), `${row.expiry} shows ${x509.validTo}`);
    await nav('cluster');
    const before = new Date().toISOString();
    await screen('cluster').getByRole('button', { name: 'New cluster' }).click();
    const after = new Date().toISOString();
    const fresh = await clusterFile.inputValue();
    assert.notEqual(fresh, lab, 'a new cluster is never saved over the one just edited');
    assert.equal(path.dirname(fresh), clusters, 'in the last folder used');
    const stamp = (iso: string) => `cluster-${iso.slice(0, 16).replace(/[-:]/g, '').replace('T', '-')}.json`;
    assert.ok([stamp(before), stamp(after)].includes(path.basename(fresh)), `${path.basename(fresh)} is cluster-YYYYMMDD-HHMM.json of now`);
    assert.equal(await screen('cluster').getByLabel('Cluster name').inputValue(), '', 'and the cluster is empty');

    // The last folder is remembered: a reloaded app suggests it rather than Documents.
    await page.reload();
    await page.getByRole('heading', { level: 2, name: 'Tokens' }).waitFor();
    await nav('sign');
    assert.equal(await screen('sign').getByLabel('Output folder').inputValue(), clusters);
    await nav('cluster');
    assert.equal(await clusterFile.inputValue(), path.join(clusters, 'cluster.json'));
  });

  it('Sign (mouse, files dropped): a drop hands the files\' bytes and names, never a path; each output verifies as openctl verify --json and unsigns to the dropped bytes', async () => {
    // In web mode and in Electron alike the renderer reads a dropped File's bytes (fileToSource): the service gets
    // {name, base64}, never a path, so the outputs are NAME.sgn in the Output folder.
    const dropped = [
      { name: 'SEP0011223344D1.cnf.xml', bytes: Buffer.from('<device><fullConfig>true</fullConfig><loadInformation>sip88xx.14-2-1</loadInformation><n>1</n></device>\n') },
      { name: 'SEP0011223344D2.cnf.xml', bytes: Buffer.from('<device><fullConfig>true</fullConfig><loadInformation>sip88xx.14-2-1</loadInformation><n>2</n></device>\n') },
    ];
    const outDir = path.join(work, 'dropped-out');
    fs.mkdirSync(outDir);
    await nav('sign');
    const sign = screen('sign');
    const picker = page.locator('[data-picker="sign-file"]');
    // Built in the page (the tests compile without the DOM library): a DataTransfer holding File objects, as a drop
    // from the file manager delivers them.
    const files = JSON.stringify(dropped.map((f) => ({ name: f.name, base64: f.bytes.toString('base64') })));
    const dataTransfer = await page.evaluateHandle(`(() => {
      const dt = new DataTransfer();
      for (const f of ${files}) dt.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name, { type: 'text/xml' }));
      return dt;
    })()`);
    await picker.dispatchEvent('dragenter', { dataTransfer });
    await picker.dispatchEvent('dragover', { dataTransfer });
    assert.match((await picker.getAttribute('class')) ?? '', /dragging/, 'the drop zone shows it is a target');
    await picker.dispatchEvent('drop', { dataTransfer });
    const list = sign.getByTestId('sign-list');
    await list.getByText(dropped[1]!.name, { exact: true }).waitFor();
    assert.deepEqual(await list.locator('li .mono').allInnerTexts(), dropped.map((f) => f.name));
    assert.doesNotMatch((await picker.getAttribute('class')) ?? '', /dragging/);

    await sign.getByLabel('PEM file', { exact: true }).check();
    await sign.getByLabel('TFTP signer: PEM file (path)').fill(ccmKey);
    await sign.getByLabel('Output folder').fill(outDir);
    await sign.getByRole('button', { name: 'Sign 2 files' }).click();
    const result = sign.getByTestId('sign-files-result');
    await result.waitFor();
    const rows = await result.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[0]!.textContent, tr.getAttribute('data-valid'), tr.children[1]!.textContent]));
    assert.deepEqual(rows.map((r) => r[0]), dropped.map((f) => path.join(outDir, `${f.name}.sgn`)));
    for (const [i, f] of dropped.entries()) {
      const output = path.join(outDir, `${f.name}.sgn`);
      const cli = await runCliCaptured(['verify', output, '--cert', ccmCert, '--json']);
      const v = JSON.parse(cli.stdout) as { valid: boolean; reason: string };
      assert.equal(v.valid, true, cli.stderr);
      assert.equal(rows[i]![1], 'true');
      assert.ok(rows[i]![2]!.includes(v.reason), 'the reason shown is the CLI\'s');
      const plain = path.join(work, `${f.name}.unsigned`);
      assert.equal((await runCliCaptured(['unsign', output, '--out', plain])).code, 0);
      assert.deepEqual(fs.readFileSync(plain), f.bytes, `${f.name}.sgn carries the dropped bytes`);
    }
    await screenshot(page, 'sign-dropped');
  });

  it('Inspect: each record shows its certificate\'s expiry as openctl show --json; Compare is offered for a CTL or ITL, not for a signed config', async () => {
    const itlFile = path.join(work, 'ITLFile.tlv');
    fs.writeFileSync(itlFile, (await standardItl(p)).bytes);
    const cfg = path.join(work, 'SEP001122334455.cnf.xml.sgn');
    fs.writeFileSync(cfg, (await config(p.ccm)).bytes);
    await nav('inspect');
    const ins = screen('inspect');
    const open = async (file: string) => {
      await page.locator('[data-picker="inspect-file"]').getByLabel('Path').fill(file);
      await page.locator('[data-picker="inspect-file"]').getByRole('button', { name: 'Open' }).click();
      await ins.getByTestId('inspect-report').getByText(path.basename(file)).first().waitFor();
    };
    await open(itlFile);
    const show = JSON.parse((await runCliCaptured(['show', itlFile, '--json'])).stdout) as { summary: Array<{ notAfter?: string }> };
    const expiries = ins.getByTestId('record-expiry');
    assert.deepEqual(await expiries.evaluateAll((ps) => ps.map((x) => x.getAttribute('data-not-after'))), show.summary.map((s) => s.notAfter ?? ''));
    assert.equal(show.summary.length, 4);
    const texts = await expiries.allInnerTexts();
    for (const [i, s] of show.summary.entries()) assert.ok(texts[i]!.includes(s.notAfter!.slice(0, 10)), `record ${i + 1} shows ${s.notAfter}: ${texts[i]}`);
    await ins.getByRole('heading', { name: 'Compare', exact: true }).waitFor();
    assert.equal(await page.locator('[data-picker="inspect-diff"]').count(), 1);
    assert.equal(await page.locator('[data-picker="inspect-trust"]').count(), 0, 'a trust list is checked against its own signer');
    // Compare: a regenerated CallManager certificate and another TVS; each record listed with its expiry, as
    // openctl diff --json gives it.
    const newItl = path.join(work, 'ITLFile-new.tlv');
    fs.writeFileSync(newItl, (await standardItl(p, { ccm: p.ccm2, tvs: p.otherTvs })).bytes);
    await page.locator('[data-picker="inspect-diff"]').getByLabel('Path').fill(newItl);
    await page.locator('[data-picker="inspect-diff"]').getByRole('button', { name: 'Compare' }).click();
    await ins.getByTestId('diff-result').waitFor();
    type Rec = { notAfter?: string; certificate?: string };
    const diff = JSON.parse((await runCliCaptured(['diff', itlFile, newItl, '--json'])).stdout) as { added: Rec[]; removed: Rec[]; changed: Array<{ before: Rec; after: Rec }> };
    assert.deepEqual([diff.added.length, diff.removed.length, diff.changed.length], [1, 1, 1]);
    for (const [id, recs] of [['diff-added', diff.added], ['diff-removed', diff.removed]] as const) {
      const rows = await ins.getByTestId(id).locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-not-after'), tr.children[3]!.textContent]));
      assert.deepEqual(rows, recs.map((r) => [r.notAfter, r.notAfter!.slice(0, 10)]));
    }
    const changed = await ins.getByTestId('diff-changed').locator('tbody tr td').allInnerTexts();
    assert.ok(changed[2]!.includes(`expires: ${diff.changed[0]!.before.notAfter!.slice(0, 10)}`), changed[2]);
    assert.ok(changed[3]!.includes(`expires: ${diff.changed[0]!.after.notAfter!.slice(0, 10)}`), changed[3]);
    // The same dates as openctl show --json gives for the new ITL's records.
    const showNew = JSON.parse((await runCliCaptured(['show', newItl, '--json'])).stdout) as { records: Array<{ certificateSha1: string }>; summary: Array<{ notAfter: string }> };
    const added = showNew.records.findIndex((r) => r.certificateSha1 === diff.added[0]!.certificate);
    assert.equal(showNew.summary[added]!.notAfter, diff.added[0]!.notAfter);

    await open(cfg);
    assert.equal(await ins.getByRole('heading', { name: 'Compare', exact: true }).count(), 0, 'nothing to compare a signed config with');
    assert.equal(await page.locator('[data-picker="inspect-diff"]').count(), 0);
    assert.equal(await page.locator('[data-picker="inspect-trust"]').count(), 1, 'a signed config is checked against a CTL or ITL instead');
    assert.equal(await ins.getByTestId('record-expiry').count(), 0);
  });
});
