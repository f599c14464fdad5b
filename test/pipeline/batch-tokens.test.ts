import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writePhoneConfigs } from '../../bench/configs';
import { statePaths, type AuditRecord, type BatchSummary } from '../../src/pipeline';
import { nativeCoreStatus } from '../../src/pipeline/native-core';
import { CLI_BIN, REPO_ROOT, vector } from '../helpers/paths';
import { runCliCaptured } from '../helpers/run-cli';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';
import { testp11Available, testp11Env, testp11Path, writeControl } from '../helpers/testp11';
import { listFiles, openctlVerifies, readJsonLines, tempDir, tempFiles } from './support';
import { importKeyToTokens } from './token-import';

// The key both tokens hold: its certificate verifies every output.
const KEY = vector('certs', 'ccm-tftp.pem');
const URI_A = 'pkcs11:token=tftp-A;object=tftp';
const URI_B = 'pkcs11:token=tftp-B;object=tftp';
const FILES = 240;

const engines = ['pkcs11js', 'native'] as const;

function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('batch sign with PKCS#11 tokens (SoftHSM)', function () {
  this.timeout(300_000);
  let hsm: SoftHsmFixture;
  let dir: string;
  let src: string;
  let names: string[];
  let serials: Record<string, string>;

  before(async () => {
    hsm = await createSoftHsm({ tokens: [{ label: 'tftp-A', keys: [] }, { label: 'tftp-B', keys: [] }] });
    importKeyToTokens(hsm, ['tftp-A', 'tftp-B'], KEY, 'tftp');
    serials = Object.fromEntries(hsm.tokens.map((t) => [t.label, t.serial]));
    dir = tempDir('tokens');
    src = path.join(dir, 'src');
    names = writePhoneConfigs(src, FILES, { min: 2000, max: 5000, perFolder: 100 });
  });
  beforeEach(() => hsm.activate());
  after(() => {
    hsm.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function signAll(out: string, signers: string[], engine: string): Promise<BatchSummary> {
    const args = ['batch', 'sign', src, '--out', out, '--module', hsm.modulePath, '--engine', engine, '--json', '--no-wait'];
    for (const s of signers) args.push('--signer', s);
    const r = await runCliCaptured(args, { OPENCTL_PIN: hsm.pin });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as BatchSummary;
  }

  async function checkOutputs(out: string): Promise<void> {
    assert.deepEqual(listFiles(out), names.map((n) => `${n}.sgn`).sort());
    for (const n of names) assert.ok(await openctlVerifies(path.join(out, `${n}.sgn`), KEY), `${n}.sgn verifies`);
    assert.deepEqual(tempFiles(out), []);
  }

  for (const engine of engines) {
    describe(`through ${engine}`, () => {
      before(function () {
        if (engine === 'native' && !nativeCoreStatus().available) this.skip();
      });

      it('signs a few hundred files; every output verifies; the audit names the token', async () => {
        const out = path.join(dir, `one-${engine}`);
        const summary = await signAll(out, [URI_A], engine);
        assert.equal(summary.signed, FILES);
        assert.equal(summary.backend, engine === 'native' ? 'native' : 'pkcs11');
        await checkOutputs(out);
        const audit = readJsonLines<AuditRecord>(statePaths(out).audit);
        assert.equal(audit.length, FILES);
        assert.deepEqual(new Set(audit.map((a) => a.token)), new Set([serials['tftp-A']]));
      });

      it('uses the same key on two tokens at once: both sign, every output verifies', async () => {
        const out = path.join(dir, `two-${engine}`);
        const summary = await signAll(out, [URI_A, URI_B], engine);
        assert.equal(summary.signed, FILES);
        await checkOutputs(out);
        const audit = readJsonLines<AuditRecord>(statePaths(out).audit);
        const byToken = new Map<string | undefined, number>();
        for (const a of audit) byToken.set(a.token, (byToken.get(a.token) ?? 0) + 1);
        assert.deepEqual(new Set(byToken.keys()), new Set([serials['tftp-A'], serials['tftp-B']]));
        for (const [token, count] of byToken) assert.ok(count >= FILES / 10, `token ${token} made ${count} of ${FILES} signatures`);
      });

      it('a token removed in the middle: clean stop (exit 3, no temp file, journal kept), then --resume completes', async function () {
        if (!testp11Available()) this.skip();
        const out = path.join(dir, `removed-${engine}`);
        const control = path.join(dir, `control-${engine}`);
        writeControl(control, { remove_at_sign: 100 });
        const env = hsm.env({ OPENCTL_PIN: hsm.pin, ...testp11Env(control, hsm.modulePath) });
        const args = ['batch', 'sign', src, '--out', out, '--signer', URI_A, '--module', testp11Path(), '--engine', engine, '--json', '--no-wait'];

        const stopped = await runChild(args, env);
        assert.equal(stopped.code, 3, stopped.stderr);
        const summary = JSON.parse(stopped.stdout) as BatchSummary;
        assert.equal(summary.complete, false);
        assert.match(summary.stopped ?? '', /removed|CKR_/);
        assert.ok(summary.signed < FILES && summary.signed > 0, `stopped in the middle (${summary.signed} signed)`);
        assert.equal(summary.failed, 0, 'a removed token is not the files\' fault');
        assert.deepEqual(tempFiles(out), []);
        assert.ok(fs.existsSync(statePaths(out).journal));
        for (const n of listFiles(out)) assert.ok(await openctlVerifies(path.join(out, n), KEY), `${n} (written before the removal) verifies`);

        writeControl(control, {});
        const resumed = await runChild([...args, '--resume'], env);
        assert.equal(resumed.code, 0, resumed.stderr);
        const done = JSON.parse(resumed.stdout) as BatchSummary;
        assert.equal(done.alreadyDone, summary.signed);
        assert.equal(done.signed, FILES - summary.signed);
        await checkOutputs(out);
      });

      it('one of two tokens removed in the middle: the other one finishes the batch (exit 0, a warning)', async function () {
        if (!testp11Available()) this.skip();
        const out = path.join(dir, `failover-${engine}`);
        const control = path.join(dir, `control-failover-${engine}`);
        writeControl(control, { token_label: 'tftp-A', remove_at_sign: 40 });
        const env = hsm.env({ OPENCTL_PIN: hsm.pin, ...testp11Env(control, hsm.modulePath) });
        const args = ['batch', 'sign', src, '--out', out, '--signer', URI_A, '--signer', URI_B, '--module', testp11Path(), '--engine', engine, '--json', '--no-wait'];
        const result = await runChild(args, env);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, /"event":"warning".*tftp-A.*other tokens carry on/);
        await checkOutputs(out);
        const tokens = new Set(readJsonLines<AuditRecord>(statePaths(out).audit).map((a) => a.token));
        assert.ok(tokens.has(serials['tftp-B']));
      });
    });
  }
});
