import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { Role } from '../../src/formats/model';
import { dispatch } from '../../src/gui/dispatch';
import { GuiService } from '../../src/gui/service';
import type { RequestOf } from '../../src/gui/contract';
import type { BatchState, CtlMergeView, DiffView, FetchView, ItlCheckView, PreflightView, SignFilesView } from '../../src/gui/types';
import { startTftpServer, type RunningTftpServer } from '../../src/fetch';
import { runCliCaptured } from '../helpers/run-cli';
import { CONFIG_XML, config, ctl, pki, preTwelveItl, rec, standardCtl, standardItl, type Pki } from '../trust/fixture';

/**
 * The admin screens and the CLI are one code path: the GUI service's answers, called through the contract's
 * dispatcher as the renderer calls them, equal what `openctl preflight|verify|fetch|diff --json` print for the same
 * inputs (the ITL builder's verdicts are checked against the CLI on the very files it saves).
 */
describe('gui: the admin screens agree with the CLI --json (service, through the contract)', function () {
  this.timeout(120_000);
  let p: Pki;
  let dir: string;
  let service: GuiService;
  const k: Record<string, string> = {};
  const c: Record<string, string> = {};
  const f: Record<string, string> = {};

  async function call<T>(name: string, request: unknown): Promise<T> {
    const answer = await dispatch(service, name, request);
    assert.ok(answer.ok, answer.ok ? '' : `${name}: ${answer.error.message}`);
    return answer.value as T;
  }
  async function refused(name: string, request: unknown): Promise<{ message: string; code: number }> {
    const answer = await dispatch(service, name, request);
    assert.ok(!answer.ok, `${name} should have been refused`);
    return answer.error;
  }
  async function cliJson<T>(args: string[]): Promise<{ code: number; json: T }> {
    const r = await runCliCaptured([...args, '--json']);
    assert.ok(r.code === 0 || r.code === 1, `openctl ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return { code: r.code, json: JSON.parse(r.stdout) as T };
  }

  before(async () => {
    p = await pki();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-gui-admin-'));
    for (const name of ['ccm', 'ccm2', 'itlRecovery', 'tvs', 'capf', 'sastA', 'sastB', 'otherItlRecovery', 'otherCcm', 'device'] as const) {
      const w = await p[name].write(dir, name);
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
    await put('ctlB', ctl(p.sastB, [rec(Role.SAST, p.sastA), rec(Role.SAST, p.sastB), rec(Role.CCM_TFTP, p.ccm2)]));
    await put('bItl', standardItl(p, { signer: p.otherItlRecovery, ccm: p.otherCcm }));
    f.config = path.join(dir, 'SEP001122334455.cnf.xml');
    fs.writeFileSync(f.config, CONFIG_XML);
    service = new GuiService({ mode: 'web', version: 'test', dataDir: path.join(dir, 'data'), env: { OPENCTL_PKCS11_MODULE: path.join(dir, 'none.so') } });
  });

  after(async () => {
    await service?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('preflight: the report is openctl preflight --json, for one phone and for a fleet', async () => {
    const signed = path.join(dir, 'deploy');
    fs.mkdirSync(signed);
    fs.writeFileSync(path.join(signed, 'SEP001122334455.cnf.xml.sgn'), (await config(p.ccm2)).bytes);
    fs.copyFileSync(f.bItl!, path.join(signed, 'ITLFile.tlv'));
    const request = { deploy: [signed], phoneHas: [f.itl12!], tvsKnows: [`ccm-tftp:${c.ccm2}`], sbd: true };
    const gui = await call<PreflightView>('preflight', request);
    const cli = await cliJson<PreflightView>(['preflight', '--deploy', signed, '--phone-has', f.itl12!, '--tvs-knows', `ccm-tftp:${c.ccm2}`]);
    assert.deepEqual(gui, cli.json);
    assert.equal(cli.code, gui.ok ? 0 : 1);
    assert.ok(gui.files!.length === 2 && gui.files!.every((v) => typeof v.rule === 'string' && v.rule.length > 0));

    const fleet = path.join(dir, 'fleet');
    for (const [group, held] of [['old-itl', f.itlPre12!], ['new-itl', f.itl12!]] as const) {
      fs.mkdirSync(path.join(fleet, group), { recursive: true });
      fs.copyFileSync(held, path.join(fleet, group, 'ITLFile.tlv'));
    }
    fs.writeFileSync(path.join(fleet, 'old-itl', 'phone.json'), JSON.stringify({ phones: 40, sbd: false }));
    const guiFleet = await call<PreflightView>('preflight', { deploy: [signed], fleet });
    const cliFleet = await cliJson<PreflightView>(['preflight', '--deploy', signed, '--fleet', fleet]);
    assert.deepEqual(guiFleet, cliFleet.json);
    assert.equal(guiFleet.groups!.length, 2);

    const both = await refused('preflight', { deploy: [signed], fleet, phoneHas: [f.itl12!] });
    assert.match(both.message, /give either --fleet or --phone-has, not both/);
    assert.equal(both.code, 2);
  });

  it('ITL builder: one ITL per TFTP server, the verdict shown is the CLI preflight of the file saved; Save writes exactly those bytes', async () => {
    const cluster = path.join(dir, 'cluster.json');
    fs.writeFileSync(
      cluster,
      JSON.stringify({
        name: 'lab',
        servers: [
          { name: 'cucm-pub', dns: 'cucm-pub.example.net', ip: '10.0.0.5', certificates: [{ role: 'ccm-tftp', cert: c.ccm }, { role: 'tvs', cert: c.tvs }, { role: 'capf', cert: c.capf }], itlSigner: k.itlRecovery },
          { name: 'cucm-sub', dns: 'cucm-sub.example.net', ip: '10.0.0.6', certificates: [{ role: 'ccm-tftp', cert: c.ccm2 }], itlSigner: k.otherItlRecovery },
        ],
      }),
    );
    const held = { server: 'cucm-pub', heldItl: f.itl12 };
    const checked = await call<ItlCheckView>('itlCheck', { cluster, servers: [held, { server: 'cucm-sub', heldItl: f.itl12 }] });
    assert.deepEqual(checked.servers.map((s) => s.server), ['cucm-pub', 'cucm-sub']);
    const [pub, sub] = checked.servers;
    assert.equal(pub!.verdict!.verdict, 'accepted', pub!.verdict!.reason);
    // cucm-sub's ITL is signed by a key the phones' ITL does not hold: refused, and nothing can be saved.
    assert.equal(sub!.verdict!.verdict, 'rejected');
    assert.equal(checked.ok, false);
    const notSaved = await refused('itlSave', { checkId: checked.checkId, output: path.join(dir, 'itl-refused') });
    assert.match(notSaved.message, /not saved: an ITL has a problem or phones would reject it/);
    assert.equal(fs.existsSync(path.join(dir, 'itl-refused')), false);

    // Sign cucm-sub's ITL with the ITLRecovery key the phones hold: accepted; then saved and checked by the CLI.
    const fixed = await call<ItlCheckView>('itlCheck', { cluster, servers: [held, { server: 'cucm-sub', heldItl: f.itl12, signer: { pem: k.itlRecovery } }] });
    assert.equal(fixed.ok, true, JSON.stringify(fixed.servers.map((s) => s.verdict?.reason ?? s.problem)));
    assert.match(fixed.servers[1]!.signer.source, /itlRecovery/);
    const out = path.join(dir, 'itl-out');
    const stale = await refused('itlSave', { checkId: checked.checkId, output: out });
    assert.match(stale.message, /no longer the ones checked last/);
    const saved = await call<ItlCheckView>('itlSave', { checkId: fixed.checkId, output: out });
    assert.deepEqual(saved.written, [path.join(out, 'cucm-pub', 'ITLFile.tlv'), path.join(out, 'cucm-sub', 'ITLFile.tlv')]);
    for (const [i, file] of saved.written!.entries()) {
      const view = fixed.servers[i]!;
      const cli = await cliJson<PreflightView>(['preflight', '--phone-has', f.itl12!, '--deploy', file]);
      assert.deepEqual(cli.json.files![0], { ...view.verdict, name: 'ITLFile.tlv' });
      const verify = await cliJson<{ valid: boolean; reason: string }>(['verify', file]);
      assert.deepEqual({ valid: verify.json.valid, reason: verify.json.reason }, view.selfCheck);
      const show = await cliJson<{ records: Array<{ serial?: string; certificateSha1?: string }> }>(['show', file]);
      assert.deepEqual(show.json.records.map((r) => r.certificateSha1), view.records.map((r) => r.certificate?.sha1));
    }
    // Saving again over them is refused unless replacing is chosen; nothing is half-written.
    const again = await refused('itlSave', { checkId: fixed.checkId, output: out });
    assert.match(again.message, /already exists: choose "Replace existing files"/);
    await call('itlSave', { checkId: fixed.checkId, output: out, overwrite: true });

    // The rollback ITL: SAST and CAPF only, as batch itl --rollback writes.
    const rollback = await call<ItlCheckView>('itlCheck', { cluster, rollback: true, servers: [held] });
    assert.deepEqual(rollback.servers[0]!.records.map((r) => r.roleName), ['SAST', 'CAPF']);
    assert.equal(rollback.servers[0]!.verdict!.holdsAfter.itl?.rollback, true);
    // A server with no itlSigner and no key chosen is named, not a crash.
    fs.writeFileSync(cluster, JSON.stringify({ servers: [{ name: 'bare', certificates: [{ role: 'tftp', cert: c.ccm }] }] }));
    const bare = await call<ItlCheckView>('itlCheck', { cluster });
    assert.match(bare.servers[0]!.problem!, /server bare: no "itlSigner" in the cluster file/);
  });

  it('Sign: each output verified as openctl verify --trust does; encrypting writes .enc.sgn and its stub; nothing replaced unless asked', async () => {
    const out = path.join(dir, 'signed');
    fs.mkdirSync(out);
    const request: RequestOf<'signFiles'> = { files: [{ path: f.config! }, { name: 'ringlist.xml', base64: Buffer.from('<CiscoIPPhoneRingList/>').toString('base64') }], signer: { pem: k.ccm! }, outDir: out, trust: { path: f.ctl! } };
    const signed = await call<SignFilesView>('signFiles', request);
    assert.deepEqual(signed.files.map((x) => x.outputs.map((o) => path.basename(o.path))), [['SEP001122334455.cnf.xml.sgn'], ['ringlist.xml.sgn']]);
    for (const output of signed.files.flatMap((x) => x.outputs)) {
      const cli = await cliJson<{ valid: boolean; reason: string; via: string | null }>(['verify', output.path, '--trust', f.ctl!]);
      assert.deepEqual(output.verdict, { valid: cli.json.valid, reason: cli.json.reason, via: cli.json.via });
      assert.equal(output.verdict.valid, true);
    }
    const twice = await refused('signFiles', request);
    assert.match(twice.message, /already exists/);

    // A signer the CTL does not list: written (as openctl sign does), and the verdict says phones would refuse it.
    const stranger = await call<SignFilesView>('signFiles', { ...request, files: [request.files[1]!], signer: { pem: k.otherCcm! }, overwrite: true });
    const strangerCli = await cliJson<{ valid: boolean; reason: string }>(['verify', stranger.files[0]!.outputs[0]!.path, '--trust', f.ctl!]);
    assert.equal(stranger.files[0]!.outputs[0]!.verdict.valid, false);
    assert.equal(stranger.files[0]!.outputs[0]!.verdict.reason, strangerCli.json.reason);

    const enc = await call<SignFilesView>('signFiles', { files: [{ path: f.config! }], signer: { pem: k.ccm! }, outDir: out, overwrite: true, deviceCert: { path: c.device! } });
    assert.deepEqual(enc.files[0]!.outputs.map((o) => path.basename(o.path)), ['SEP001122334455.cnf.xml.enc.sgn', 'SEP001122334455.cnf.xml.sgn']);
    assert.ok(enc.files[0]!.outputs.every((o) => o.verdict.valid));
    const decrypted = await runCliCaptured(['decrypt', enc.files[0]!.outputs[0]!.path, '--device-key', k.device!, '--out', path.join(dir, 'plain.xml')]);
    assert.equal(decrypted.code, 0, decrypted.stderr);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'plain.xml')), CONFIG_XML);
    const noFolder = await refused('signFiles', { ...request, outDir: path.join(dir, 'missing') });
    assert.match(noFolder.message, /missing: no such folder/);
  });

  it('Fetch: the result is openctl fetch --json (TFTP on loopback), and an existing file is not replaced', async () => {
    let server: RunningTftpServer | undefined;
    try {
      server = await startTftpServer({ files: { 'ITLFile.tlv': fs.readFileSync(f.itl12!), 'SEP001122334455.cnf.xml.sgn': (await config(p.ccm)).bytes } });
      const common = { host: '127.0.0.1', macs: ['00:11:22:33:44:55'], tftpPort: server.port, via: ['tftp'] as Array<'tftp'>, timeoutMs: 500 };
      const gui = await call<FetchView>('fetch', { ...common, outDir: path.join(dir, 'fetch-gui') });
      const cli = await cliJson<Omit<FetchView, 'failed'>>(['fetch', '127.0.0.1', '--mac', '00:11:22:33:44:55', '--port', String(server.port), '--via', 'tftp', '--timeout', '500', '--out', path.join(dir, 'fetch-cli')]);
      const strip = (v: Omit<FetchView, 'failed'>) => v.files.map(({ file, ...rest }) => ({ ...rest, file: file ? path.basename(file) : undefined }));
      assert.deepEqual(strip(gui), strip(cli.json));
      assert.equal(gui.failed, cli.code !== 0);
      assert.deepEqual(gui.files.map((x) => [x.name, x.notFound, Boolean(x.sha1)]), [
        ['CTLFile.tlv', true, false],
        ['ITLFile.tlv', false, true],
        ['SEP001122334455.cnf.xml.sgn', false, true],
      ]);
      const exists = await refused('fetch', { ...common, outDir: path.join(dir, 'fetch-gui') });
      assert.match(exists.message, /ITLFile\.tlv: already exists/);
    } finally {
      await server?.close();
    }
  });

  it('Compare: the structured diff is openctl diff --json, with full labels', async () => {
    const gui = await call<DiffView>('diff', { old: { path: f.itlPre12! }, new: { path: f.itl12! }, oldLabel: 'current', newLabel: 'new' });
    const cli = await cliJson<Record<string, unknown>>(['diff', f.itlPre12!, f.itl12!]);
    const { old: _o, new: _n, ...cliDiff } = cli.json;
    // The CLI names the files by the argument given; the GUI by base name, in its labels.
    assert.deepEqual(JSON.parse(JSON.stringify(gui.structured)), cliDiff);
    assert.equal(gui.oldLabel, 'current ITL (itlPre12.tlv)');
    assert.equal(gui.newLabel, 'new ITL (itl12.tlv)');
  });

  it('merging a cluster into the CTL in progress counts what it added and what was already there, as the table will', async () => {
    const cluster = { sast: [{ role: 0, source: c.sastA }, { role: 0, source: c.sastB }], servers: [{ name: 'cucm-pub', certificates: [{ role: Role.CCM_TFTP, source: c.ccm }] }] };
    const current = { path: f.ctlB! };
    const draft = { records: [0, 1, 2].map((index) => ({ from: 'current' as const, index })), current };
    const merged = await call<CtlMergeView>('mergeClusterIntoCtl', { cluster, draft });
    assert.deepEqual([merged.added, merged.alreadyThere], [1, 2]);
    const preview = await call<{ records: unknown[] }>('previewCtl', { draft: { records: merged.records, current } });
    assert.equal(merged.total, preview.records.length);
    assert.equal(merged.total, 4);
  });

  it('bad input gets one line and code 2, never a hang: a FIFO, a folder that cannot be made, a file that is not a store', async () => {
    const fifo = path.join(dir, 'fifo');
    spawnSync('mkfifo', [fifo]);
    assert.ok(fs.statSync(fifo).isFIFO());
    const notStore = path.join(dir, 'not-a-store.db');
    fs.writeFileSync(notStore, 'plain text');
    const cases: Array<[string, unknown, RegExp]> = [
      ['signFiles', { files: [{ path: fifo }], signer: { pem: k.ccm }, outDir: dir }, /fifo: .*not a regular file$/],
      ['itlCheck', { cluster: fifo }, /fifo: .*not a regular file$/],
      ['preflight', { deploy: [f.itl12], phoneHas: [fifo] }, /fifo: .*not a regular file$/],
      ['fetch', { host: '127.0.0.1', outDir: '/proc/openctl-no-such', tftpPort: 9, timeoutMs: 100, via: ['tftp'] }, /^\/proc\/openctl-no-such: cannot create the folder: ENOENT$/],
      ['tvsList', { db: notStore }, /not-a-store\.db: not a SQLite database$/],
      ['capfAdd', { db: path.join(dir, 'capf.db'), devices: ['SEP0011'], operation: 'install', auth: 'mic' }, /SEP followed by its 12-hex-digit MAC/],
      ['serviceStatus', { service: 'tvs', url: 'ftp://127.0.0.1:21' }, /not a metrics address/],
    ];
    for (const [name, request, message] of cases) {
      const error = await refused(name, request);
      assert.match(error.message, message, name);
      assert.equal(error.code, 2, `${name}: ${error.message}`);
    }
  });

  it('Batch: include/exclude and --trust as the CLI; after a cancel, the counts are the journal\'s ("N of M signed, resumable")', async () => {
    const src = path.join(dir, 'batch-src');
    fs.mkdirSync(path.join(src, 'skip'), { recursive: true });
    const total = 3000;
    for (let i = 0; i < total; i += 1) fs.writeFileSync(path.join(src, `SEP${(0x0011220000 + i).toString(16).toUpperCase().padStart(12, '0')}.cnf.xml`), CONFIG_XML);
    fs.writeFileSync(path.join(src, 'skip', 'SEPFFFFFFFFFFFF.cnf.xml'), CONFIG_XML);
    fs.writeFileSync(path.join(src, 'notes.txt'), 'not a config');
    const wait = async (until: (s: BatchState) => boolean) => {
      for (let i = 0; i < 600; i += 1) {
        const s = await call<BatchState>('batchState', {});
        if (until(s)) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('batch did not reach the expected state');
    };

    // --trust with a list that does not hold the signer: nothing signed (the CLI refuses the same way).
    const untrusted = await dispatch(service, 'batchStart', { source: src, output: path.join(dir, 'batch-untrusted'), signer: { pem: k.otherCcm! }, trust: [f.ctl!], include: ['*.cnf.xml'] });
    const untrustedState = untrusted.ok ? await wait((s) => s.status !== 'running') : undefined;
    assert.ok(!untrusted.ok || untrustedState!.status === 'failed', 'a signer the --trust list does not hold signs nothing');
    const message = untrusted.ok ? untrustedState!.message! : untrusted.error.message;
    const cliUntrusted = await runCliCaptured(['batch', 'sign', src, '--out', path.join(dir, 'batch-untrusted-cli'), '--signer', k.otherCcm!, '--trust', f.ctl!, '--include', '*.cnf.xml']);
    assert.equal(cliUntrusted.code, 1);
    assert.ok(cliUntrusted.stderr.includes(message.replace(/^openctl: /, '')), `${cliUntrusted.stderr} vs ${message}`);

    const out = path.join(dir, 'batch-out');
    const started = await call<BatchState>('batchStart', { source: src, output: out, signer: { pem: k.ccm! }, include: ['*.cnf.xml'], exclude: ['skip/**'], trust: [f.ctl!] });
    assert.deepEqual(started.options, ['--include *.cnf.xml', '--exclude skip/**', `--trust ${f.ctl}`]);
    // Cancel once the counting walk has given the total (before it, the message says the total is not known).
    await wait((s) => s.done > 0 && s.total === total);
    await call('batchCancel', {});
    const stopped = await wait((s) => s.status !== 'running');
    assert.equal(stopped.status, 'cancelled', `cancelled mid-way (${stopped.message})`);
    {
      const m = /^([\d,]+) of ([\d,]+) signed, resumable$/.exec(stopped.message ?? '');
      assert.ok(m, stopped.message);
      assert.equal(m[2], total.toLocaleString('en-US'));
      assert.equal(stopped.resumable, true);
      const signedBefore = Number(m[1]!.replace(/,/g, ''));
      const resumed = await call<BatchState>('batchStart', { source: src, output: out, signer: { pem: k.ccm! }, include: ['*.cnf.xml'], exclude: ['skip/**'], trust: [f.ctl!], resume: true });
      assert.equal(resumed.skipped, signedBefore, 'the resume finds exactly the files the message counted');
    }
    const done = await wait((s) => s.status === 'done');
    assert.equal(done.total, total);
    assert.ok(!fs.existsSync(path.join(out, 'skip', 'SEPFFFFFFFFFFFF.cnf.xml.sgn')), 'excluded');
    assert.ok(!fs.existsSync(path.join(out, 'notes.txt.sgn')), 'not included');
    assert.equal(fs.readdirSync(out).filter((n) => n.endsWith('.sgn')).length, total);
  });
});
