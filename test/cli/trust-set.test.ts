import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliCaptured, runCliProcess } from '../helpers/run-cli';
import { REPO_ROOT, vector } from '../helpers/paths';
import { makeCert } from '../helpers/pki';
import { labPublisher, writeLabCluster } from '../helpers/cluster-file';

const cert = (name: string) => vector('certs', name);

/** The shell commands of the first ```sh block after `heading` in the README, continuation lines joined. */
function readmeCommands(heading: string): string[] {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(heading);
  assert.ok(at >= 0, `README has no "${heading}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, `no sh block after "${heading}"`);
  return block[1]!.replace(/\\\n\s*/g, '').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('openctl '));
}

/** Split a README command into argv (single quotes only, as the README writes them). */
function argv(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!).slice(1);
}

describe('CTL and ITL built together pass preflight together', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-set-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("the README's own ctl build + itl build commands give files preflight accepts together", async () => {
    const commands = readmeCommands('### `openctl ctl build` / `openctl itl build`').filter((c) => !c.includes('pkcs11:'));
    assert.ok(commands.some((c) => c.startsWith('openctl ctl build')) && commands.some((c) => c.startsWith('openctl itl build')), commands.join('\n'));
    assert.ok(commands.some((c) => c.startsWith('openctl preflight')), 'the README checks its own files');
    for (const f of fs.readdirSync(vector('certs'))) fs.copyFileSync(cert(f), path.join(dir, f));
    for (const command of commands) {
      const r = await runCliProcess(argv(command), { cwd: dir });
      assert.equal(r.code, 0, `${command}\n${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stderr, /warning/, `${command}: ${r.stderr}`);
    }
    const pre = await runCliProcess(['preflight', '--json', '--deploy', 'CTLFile.tlv', '--deploy', 'ITLFile.tlv'], { cwd: dir });
    assert.equal(pre.code, 0, pre.stdout);
    const json = JSON.parse(pre.stdout) as { files: Array<{ name: string; rule: string }> };
    assert.deepEqual(json.files.map((f) => f.rule), ['first-trust-list', 'itl-signer-in-held-ctl']);
  });

  it('ctl build --cluster lists every itlSigner as SAST and no TVS; batch itl and itl build outputs pass preflight with it', async () => {
    const subRecovery = await makeCert({ cn: 'ITLRECOVERY_cucm-sub', o: 'Example Voice' });
    const subRecoveryFiles = await subRecovery.write(dir, 'itlrecovery-sub');
    const clusterFile = writeLabCluster(dir, [
      labPublisher([{ role: 'capf', cert: cert('capf.pem') }, { role: 'tvs', cert: cert('tvs-ec.pem') }]),
      { name: 'cucm-sub', dns: 'cucm-sub.example.net', ip: '10.0.0.6', itlSigner: subRecoveryFiles.signer,
        certificates: [{ role: 'ccm', cert: cert('ccm.pem') }, { role: 'tftp', cert: cert('tftp-4096.pem') }, { role: 'app-server', cert: cert('device-lsc.pem') }] },
    ]);
    const ctl = path.join(dir, 'ctl-out.tlv');
    const r = await runCliCaptured(['ctl', 'build', '--cluster', clusterFile, '--signer', cert('sast-a.pem'), '--out', ctl, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const built = JSON.parse(r.stdout) as { filename: string; warnings: string[]; records: Array<{ roleName: string; subject: string }> };
    assert.deepEqual(built.warnings, []);
    assert.equal(built.filename, 'CTLFile.tlv', 'the header names the CTL as phones know it, not the --out name');
    assert.deepEqual(built.records.map((x) => x.roleName), ['SAST', 'SAST', 'SAST', 'SAST', 'CCM+TFTP', 'CAPF', 'CCM', 'TFTP']);
    assert.ok(built.records.some((x) => x.roleName === 'SAST' && /ITLRECOVERY_cucm-pub/.test(x.subject)));
    assert.ok(built.records.some((x) => x.roleName === 'SAST' && /ITLRECOVERY_cucm-sub/.test(x.subject)));

    const itls = path.join(dir, 'itls');
    const b = await runCliCaptured(['batch', 'itl', '--cluster', clusterFile, '--out', itls]);
    assert.equal(b.code, 0, b.stderr);
    const single = path.join(dir, 'sub-itl.tlv');
    const i = await runCliCaptured(['itl', 'build', '--cluster', clusterFile, '--server', 'cucm-sub', '--out', single, '--ctl', ctl]);
    assert.equal(i.code, 0, i.stderr);
    assert.doesNotMatch(i.stderr, /warning/);
    const sgn = path.join(dir, 'SEP001122334455.cnf.xml');
    fs.copyFileSync(vector('configs/SEP001122334455.cnf.xml'), sgn);
    assert.equal((await runCliCaptured(['sign', sgn, '--signer', cert('ccm-tftp.pem')])).code, 0);

    for (const itl of [path.join(itls, 'cucm-pub', 'ITLFile.tlv'), path.join(itls, 'cucm-sub', 'ITLFile.tlv'), single]) {
      const pre = await runCliCaptured(['preflight', '--json', '--deploy', ctl, '--deploy', itl, '--deploy', `${sgn}.sgn`]);
      assert.equal(pre.code, 0, `${itl}: ${pre.stdout}`);
      const rules = (JSON.parse(pre.stdout) as { files: Array<{ rule: string }> }).files.map((f) => f.rule);
      assert.deepEqual(rules, ['first-trust-list', 'itl-signer-in-held-ctl', 'config-signed-by-tftp-record']);
      // And for phones that already hold this CTL and ITL: the same set again is accepted.
      const again = await runCliCaptured(['preflight', '--phone-has', ctl, '--phone-has', itl, '--deploy', ctl, '--deploy', itl]);
      assert.equal(again.code, 0, again.stdout);
    }
  });

  it('ctl build --cluster keeps a function given by number (a firewall\'s) as a CTL record; itl build leaves it out', async () => {
    const asa = await makeCert({ cn: 'asa-fw.example.net', o: 'Example Voice' });
    const asaFiles = await asa.write(dir, 'asa');
    const clusterFile = writeLabCluster(dir, [
      labPublisher([{ role: 'tvs', cert: cert('tvs-ec.pem') }]),
      { name: 'asa', dns: 'asa-fw.example.net', ip: '10.0.0.1', certificates: [{ role: 5, cert: asaFiles.cert }] },
    ]);
    const ctl = path.join(dir, 'CTLFile.tlv');
    const r = await runCliCaptured(['ctl', 'build', '--cluster', clusterFile, '--signer', cert('sast-a.pem'), '--out', ctl, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const records = (JSON.parse(r.stdout) as { records: Array<{ role: number; subject: string; dnsName?: string }> }).records;
    const fw = records.filter((x) => x.role === 5);
    assert.equal(fw.length, 1, JSON.stringify(records));
    assert.match(fw[0]!.subject, /asa-fw\.example\.net/);
    assert.ok(!records.some((x) => x.role === 21), 'no TVS record in the CTL');
    // The CTL read back from disk holds it too (show --json reads the file, not the builder's view).
    const shown = await runCliCaptured(['show', ctl, '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /asa-fw\.example\.net/);
    const itl = path.join(dir, 'ITLFile.tlv');
    const i = await runCliCaptured(['itl', 'build', '--cluster', clusterFile, '--server', 'cucm-pub', '--out', itl, '--json']);
    assert.equal(i.code, 0, i.stderr);
    const itlRecords = (JSON.parse(i.stdout) as { records: Array<{ role: number }> }).records;
    assert.ok(!itlRecords.some((x) => x.role === 5), 'the firewall is a CTL record only');
  });

  it('every build warns when its set would be rejected (rule ids as preflight prints them)', async () => {
    const ctl = path.join(dir, 'CTLFile.tlv');
    assert.equal((await runCliCaptured(['ctl', 'build', '--out', ctl, '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem'), '--ccm-tftp', cert('ccm-tftp.pem')])).code, 0);
    // An ITL signed by ITLRecovery, which this CTL does not list.
    const itl = path.join(dir, 'ITLFile.tlv');
    const i = await runCliCaptured(['itl', 'build', '--out', itl, '--signer', cert('itlrecovery.pem'), '--ccm-tftp', cert('ccm-tftp.pem'), '--ctl', ctl, '--json']);
    assert.equal(i.code, 0, i.stderr);
    assert.match(i.stderr, /warning: phones holding .*CTLFile\.tlv would reject .*ITLFile\.tlv: .*\[itl-signer-not-in-held-ctl\]/);
    assert.equal((JSON.parse(i.stdout) as { warnings: string[] }).warnings.length, 1);
    // The same pair seen from the CTL side, and preflight agrees.
    const again = await runCliCaptured(['ctl', 'build', '--out', path.join(dir, 'ctl2.tlv'), '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem'), '--itl', itl]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /\[itl-signer-not-in-held-ctl\]/);
    const pre = await runCliCaptured(['preflight', '--deploy', ctl, '--deploy', itl]);
    assert.equal(pre.code, 1);
    assert.match(pre.stdout, /REJECTED \[itl-signer-not-in-held-ctl\]/);

    // itl build --cluster with a signer the cluster's CTL does not list.
    const clusterFile = path.join(dir, 'cluster.json');
    fs.writeFileSync(clusterFile, JSON.stringify({
      sast: [cert('sast-a.pem'), cert('sast-b.pem')],
      servers: [{ name: 'pub', itlSigner: cert('itlrecovery.pem'), certificates: [{ role: 'ccm-tftp', cert: cert('ccm-tftp.pem') }, { role: 'capf', cert: cert('capf.pem') }] }],
    }));
    const c = await runCliCaptured(['itl', 'build', '--cluster', clusterFile, '--signer', cert('capf.pem'), '--out', path.join(dir, 'itl3.tlv')]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, /phones holding the CTL built from .*cluster\.json would reject .*\[itl-signer-not-in-held-ctl\]/);
    const ok = await runCliCaptured(['itl', 'build', '--cluster', clusterFile, '--signer', cert('ccm-tftp.pem'), '--out', path.join(dir, 'itl4.tlv')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.doesNotMatch(ok.stderr, /warning/, 'a CCM+TFTP certificate of the CTL may sign the ITL');
    // A CTL given a TVS certificate says where it belongs.
    const tvs = await runCliCaptured(['ctl', 'build', '--out', path.join(dir, 'ctl-tvs.tlv'), '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem'), '--tvs', cert('tvs-ec.pem')]);
    assert.equal(tvs.code, 0, tvs.stderr);
    assert.match(tvs.stderr, /TVS certificates belong in the ITLs/);
  });

  it('the header filename is CTLFile.tlv / ITLFile.tlv whatever --out is called (or --filename)', async () => {
    const ctl = path.join(dir, 'ctl-2026-12-02.bin');
    assert.equal((await runCliCaptured(['ctl', 'build', '--out', ctl, '--signer', cert('sast-a.pem'), '--sast', cert('sast-b.pem')])).code, 0);
    const itl = path.join(dir, 'pub-itl.tlv');
    assert.equal((await runCliCaptured(['itl', 'build', '--out', itl, '--signer', cert('itlrecovery.pem'), '--ccm-tftp', cert('ccm-tftp.pem')])).code, 0);
    const named = path.join(dir, 'named.tlv');
    assert.equal((await runCliCaptured(['itl', 'build', '--out', named, '--filename', 'ITLSEP001122334455.tlv', '--signer', cert('itlrecovery.pem')])).code, 0);
    const header = async (f: string) => {
      const r = await runCliCaptured(['show', '--json', f]);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout) as { kind: string; header: { filename: string } };
      return [j.kind, j.header.filename];
    };
    assert.deepEqual(await header(ctl), ['ctl', 'CTLFile.tlv']);
    assert.deepEqual(await header(itl), ['itl', 'ITLFile.tlv']);
    assert.deepEqual(await header(named), ['itl', 'ITLSEP001122334455.tlv']);
  });
});
