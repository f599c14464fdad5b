import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Role } from '../../src/formats/model';
import type { PlanJson } from '../../src/plan';
import { runCliCaptured } from '../helpers/run-cli';
import { itl, pki, preTwelveItl, rec, type Pki } from '../trust/fixture';
import { serveInProcess } from './cli-helpers';

/**
 * `preflight --tvs` asks a live openctl TVS, and `plan` says which `tvs add` / `tvs remove` keep that TVS in
 * step: running a plan's TVS commands on a real store, then preflight against the live server at every step,
 * gives the plan's own verdicts.
 */
describe('preflight --tvs and plan with a live openctl TVS', function () {
  this.timeout(180_000);
  let p: Pki;
  let dir: string;
  const k: Record<string, string> = {};
  const c: Record<string, string> = {};

  before(async () => {
    p = await pki();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-tvs-pre-'));
    for (const [name, cert] of Object.entries(p)) {
      const w = await cert.write(dir, name);
      k[name] = w.signer;
      c[name] = w.cert;
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a new ITL signer is accepted via TVS exactly while the live TVS vouches for it; an unreachable TVS is exit 4', async () => {
    const held = path.join(dir, 'held-ITLFile.tlv');
    fs.writeFileSync(held, (await itl(p.itlRecovery, [rec(Role.SAST, p.itlRecovery), rec(Role.CCM_TFTP, p.ccm), rec(Role.TVS, p.tvs)])).bytes);
    const deployDir = path.join(dir, 'deploy');
    fs.mkdirSync(deployDir);
    fs.writeFileSync(path.join(deployDir, 'ITLFile.tlv'), (await itl(p.itlRecovery2, [rec(Role.SAST, p.itlRecovery2), rec(Role.CCM_TFTP, p.ccm), rec(Role.TVS, p.tvs)])).bytes);
    const db = path.join(dir, 'pre.db');
    assert.equal((await runCliCaptured(['tvs', 'add', '--db', db, c.ccm!, '--roles', 'ccm-tftp'])).code, 0);
    const s = await serveInProcess(['--db', db, '--signer', k.tvs!]);
    const preflight = (extra: string[] = []) =>
      runCliCaptured(['preflight', '--phone-has', held, '--deploy', deployDir, '--tvs', `127.0.0.1:${s.port}`, '--tvs-cert', held, ...extra]);
    try {
      let r = await preflight();
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /^asked TVS 127\.0\.0\.1:\d+ about 4 certificates: it vouches for 1$/m);
      assert.match(r.stdout, /REJECTED.*itl-signer-unknown/);
      assert.equal((await runCliCaptured(['tvs', 'add', '--db', db, c.itlRecovery2!, '--roles', 'sast'])).code, 0);
      r = await preflight(['--json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const json = JSON.parse(r.stdout) as { tvs: { asked: number; trusted: number; server: string }; files: Array<{ verdict: string; rule: string }> };
      assert.deepEqual([json.tvs.asked, json.tvs.trusted], [4, 2]);
      assert.deepEqual(json.files.map((v) => [v.verdict, v.rule]), [['accepted-via-tvs', 'itl-signer-via-tvs']]);
      // The ITL the phone holds must name the TVS that answers: another server's certificate is refused (exit 4).
      const other = path.join(dir, 'other-ITLFile.tlv');
      fs.writeFileSync(other, (await itl(p.otherItlRecovery, [rec(Role.SAST, p.otherItlRecovery), rec(Role.TVS, p.otherTvs)])).bytes);
      r = await runCliCaptured(['preflight', '--phone-has', held, '--deploy', deployDir, '--tvs', `127.0.0.1:${s.port}`, '--tvs-cert', other]);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /not the TVS a phone would trust/);
      r = await runCliCaptured(['preflight', '--phone-has', held, '--deploy', deployDir, '--tvs', `127.0.0.1:${s.port}`]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--tvs needs --tvs-cert/);
    } finally {
      assert.equal(await s.stop(), 0);
    }
    const r = await preflight();
    assert.equal(r.code, 4, 'the server is gone');
    assert.match(r.stderr, /connection refused/);
  });

  it("plan regenerate callmanager + tvs: each step's tvs add/remove, run on a real store, makes the live TVS agree with the plan", async () => {
    const itlPre12 = path.join(dir, 'itlPre12.tlv');
    fs.writeFileSync(itlPre12, (await preTwelveItl(p)).bytes);
    const out = path.join(dir, 'plan');
    const r = await runCliCaptured([
      'plan', 'regenerate', '--cert', 'callmanager', '--cert', 'tvs', '--itl', itlPre12, '--itl-signer', k.ccm!, '--config-signer', k.ccm!,
      '--new-callmanager', k.ccm2!, '--new-tvs', c.tvs2!, '--out', out,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const plan = JSON.parse(fs.readFileSync(path.join(out, 'plan.json'), 'utf8')) as PlanJson;
    const sha = (name: string) => new X509Certificate(fs.readFileSync(c[name]!)).fingerprint256.replace(/:/g, '').toLowerCase();
    assert.deepEqual(plan.steps.map((s) => s.tvsStore), [
      [`openctl tvs add --db TVS_DB 01-regenerate-tvs/tvs-add-tvs.pem --roles tvs`, `openctl tvs remove --db TVS_DB ${sha('tvs')}`],
      [`openctl tvs add --db TVS_DB 02-regenerate-callmanager/tvs-add-sast+ccm-tftp.pem --roles sast,ccm-tftp`, `openctl tvs remove --db TVS_DB ${sha('ccm')}`],
    ]);
    assert.match(fs.readFileSync(path.join(out, 'PLAN.txt'), 'utf8'), /openctl TVS store \(TVS_DB: what tvs serve --db uses\): openctl tvs add --db TVS_DB 01-regenerate-tvs\/tvs-add-tvs\.pem --roles tvs/);

    // The store starts as the cluster is now, then follows the plan's commands step by step.
    const db = path.join(dir, 'plan.db');
    assert.equal((await runCliCaptured(['tvs', 'add', '--db', db, '--from', path.join(out, plan.initial[0]!)])).code, 0);
    const signerFor = (servicePem: string) => {
      const presented = fs.readFileSync(servicePem, 'utf8');
      return presented.includes(p.tvs2.certPem.split('\n')[1]!) ? k.tvs2! : k.tvs!;
    };
    for (const step of plan.steps) {
      for (const command of step.tvsStore ?? []) {
        const args = command.split(' ').slice(1).map((a) => (a === 'TVS_DB' ? db : a.includes('/') ? path.join(out, a) : a));
        const done = await runCliCaptured(args);
        assert.equal(done.code, 0, `${command}: ${done.stderr}`);
      }
      const s = await serveInProcess(['--db', db, '--signer', signerFor(path.join(out, step.tvsCert!))]);
      try {
        const pre = await runCliCaptured([
          'preflight',
          ...step.phoneHas.flatMap((h) => ['--phone-has', path.join(out, h)]),
          '--tvs', `127.0.0.1:${s.port}`,
          '--tvs-cert', path.join(out, step.tvsCert!),
          '--deploy', path.join(out, step.dir),
          '--json',
        ]);
        assert.equal(pre.code, 0, `${step.dir}: ${pre.stdout}${pre.stderr}`);
        const verdicts = (JSON.parse(pre.stdout) as { files: Array<{ name: string; verdict: string; rule: string }> }).files;
        assert.deepEqual(verdicts.map((v) => [v.name, v.verdict, v.rule]), step.verdicts.map((v) => [v.name, v.verdict, v.rule]), step.dir);
      } finally {
        await s.stop();
      }
    }
    assert.deepEqual(plan.steps[1]!.verdicts.map((v) => v.rule), ['itl-signer-via-tvs', 'config-signed-by-tftp-record']);
  });
});
