import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writePhoneConfigs } from '../../bench/configs';
import { readManifestEntries, readManifestHeader, statePaths } from '../../src/pipeline';
import { CLI_BIN, REPO_ROOT, vector } from '../helpers/paths';
import { listFiles, tempDir } from './support';

const SIGNER = vector('certs', 'ccm-tftp.pem');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `openctl batch sign` as a real process. `withoutOverride` drops root's power to read every folder whatever its mode
 * (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) but stays uid 0, so the checkout stays readable wherever CI cloned it (a
 * 0700 temp folder shuts out another user such as nobody).
 */
function batchSign(args: string[], options: { withoutOverride?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const argv = [CLI_BIN, 'batch', 'sign', ...args, '--jobs', '2'];
  const [cmd, cmdArgs] = options.withoutOverride ? ['setpriv', ['--bounding-set=-dac_override,-dac_read_search', process.execPath, ...argv]] : [process.execPath, argv];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs as string[], { cwd: REPO_ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function manifestSources(out: string): Promise<string[]> {
  const sources: string[] = [];
  for await (const e of readManifestEntries(statePaths(out).manifest)) sources.push(e.source);
  return sources.sort();
}

const isRoot = process.getuid?.() === 0;

describe('batch: faults are per-file failures, never exit 70', function () {
  this.timeout(300_000);
  let work: string;
  beforeEach(() => {
    work = tempDir('openctl-faults-');
    fs.chmodSync(work, 0o755);
  });
  afterEach(() => {
    try {
      execFileSync('umount', ['-l', path.join(work, 'mnt')], { stdio: 'ignore' }); // -l: a process just ended may still hold it
    } catch {
      // not mounted
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('an unreadable sub-folder fails (exit 1, named), the rest is signed, and a later run signs it', async () => {
    const src = path.join(work, 'src');
    const out = path.join(work, 'out');
    writePhoneConfigs(path.join(src, 'open'), 20, { min: 200, max: 400 });
    writePhoneConfigs(path.join(src, 'locked'), 5, { min: 200, max: 400, base: 0x100 });
    fs.mkdirSync(out);
    fs.chmodSync(path.join(src, 'locked'), 0o000);
    const r = await batchSign([src, '--out', out, '--signer', SIGNER, '--json'], { withoutOverride: isRoot });
    assert.equal(r.code, 1, r.stderr);
    const summary = JSON.parse(r.stdout) as { signed: number; failed: number; failures: Array<{ source: string; problem: string }> };
    assert.equal(summary.signed, 20);
    assert.deepEqual(summary.failures, [{ source: 'locked/', problem: 'cannot read the folder: permission denied' }]);
    assert.doesNotMatch(r.stderr, /internal error/);
    // Fixed permissions: the next run signs what was missed and keeps the rest.
    fs.chmodSync(path.join(src, 'locked'), 0o755);
    const again = await batchSign([src, '--out', out, '--signer', SIGNER, '--incremental', '--json'], { withoutOverride: isRoot });
    assert.equal(again.code, 0, again.stderr);
    const second = JSON.parse(again.stdout) as { signed: number; kept: number };
    assert.deepEqual([second.signed, second.kept], [5, 20]);
    assert.equal((await manifestSources(out)).length, 25);
  });

  it('a source folder that cannot be read: exit 2, one line naming it, on both engines, and OUT_DIR is not even made', async () => {
    const src = path.join(work, 'src');
    writePhoneConfigs(src, 3, { min: 200, max: 400 });
    fs.chmodSync(src, 0o000);
    try {
      for (const engine of ['1', '0']) {
        const out = path.join(work, `out-${engine}`);
        const r = await batchSign([src, '--out', out, '--signer', SIGNER], { withoutOverride: isRoot, env: { OPENCTL_NATIVE_FILES: engine } });
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stderr, `openctl: ${src}: cannot read the folder: permission denied\n`);
        assert.equal(fs.existsSync(out), false);
      }
    } finally {
      fs.chmodSync(src, 0o755);
    }
  });

  it('an OUT_DIR that cannot be made, or whose state folder cannot be: exit 2, one line naming the folder', async () => {
    const src = path.join(work, 'src');
    writePhoneConfigs(src, 3, { min: 200, max: 400 });
    const locked = path.join(work, 'locked');
    fs.mkdirSync(locked);
    fs.chmodSync(locked, 0o555);
    try {
      for (const engine of ['1', '0']) {
        const made = await batchSign([src, '--out', path.join(locked, 'out'), '--signer', SIGNER], { withoutOverride: isRoot, env: { OPENCTL_NATIVE_FILES: engine } });
        assert.equal(made.code, 2, made.stderr);
        assert.equal(made.stderr, `openctl: ${path.join(locked, 'out')}: cannot write: permission denied\n`);
        const state = await batchSign([src, '--out', locked, '--signer', SIGNER], { withoutOverride: isRoot, env: { OPENCTL_NATIVE_FILES: engine } });
        assert.equal(state.code, 2, state.stderr);
        assert.equal(state.stderr, `openctl: ${path.join(locked, '.openctl')}: cannot write: permission denied\n`);
      }
    } finally {
      fs.chmodSync(locked, 0o755);
    }
  });

  it('FIFOs and dangling links are skipped, counted in the summary and the manifest (no hang, exit 0)', async () => {
    const src = path.join(work, 'src');
    const out = path.join(work, 'out');
    writePhoneConfigs(src, 10, { min: 200, max: 400 });
    execFileSync('mkfifo', [path.join(src, 'pipe.cnf.xml')]);
    fs.symlinkSync(path.join(work, 'gone.xml'), path.join(src, 'dangling.cnf.xml'));
    const r = await batchSign([src, '--out', out, '--signer', SIGNER, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { signed: number; skipped: number; skippedFiles: Array<{ source: string; problem: string }> };
    assert.equal(summary.signed, 10);
    assert.equal(summary.skipped, 2);
    assert.deepEqual(summary.skippedFiles.map((s) => s.source).sort(), ['dangling.cnf.xml', 'pipe.cnf.xml']);
    const header = await readManifestHeader(statePaths(out).manifest);
    assert.deepEqual(header?.skipped?.map((s) => s.source).sort(), ['dangling.cnf.xml', 'pipe.cnf.xml']);
    // The text summary says so too.
    const text = await batchSign([src, '--out', path.join(work, 'out2'), '--signer', SIGNER]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /signed 10, skipped 2 \(not regular files\)/);
    assert.match(text.stderr, /pipe\.cnf\.xml: not a regular file/);
  });

  it('an output folder inside the source is never signed into itself, on the first run or the next', async () => {
    const src = path.join(work, 'src');
    const out = path.join(src, 'signed');
    writePhoneConfigs(src, 10, { min: 200, max: 400 });
    for (let run = 0; run < 2; run += 1) {
      const r = await batchSign([src, '--out', out, '--signer', SIGNER, '--incremental', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const sources = await manifestSources(out);
      assert.equal(sources.length, 10, sources.join(' '));
      assert.ok(sources.every((s) => !s.startsWith('signed/')), sources.join(' '));
      assert.deepEqual(listFiles(out, (rel) => rel.startsWith('signed/')), []);
    }
  });

  it('a disk that fills while the manifest is written: exit 1 "disk full", outputs in place, --resume writes the manifest', async function () {
    if (!isRoot) this.skip(); // mounting a small tmpfs needs root
    const src = path.join(work, 'src');
    const mnt = path.join(work, 'mnt');
    writePhoneConfigs(src, 400, { min: 200, max: 300 });
    fs.mkdirSync(mnt);
    const mount = (bytes: number) => execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', mnt]);
    const used = () => {
      const s = fs.statfsSync(mnt);
      return (s.blocks - s.bfree) * s.bsize;
    };
    // A dry run on a roomy tmpfs measures what the job takes with and without its manifest.
    mount(64 * 1024 * 1024);
    const dry = await batchSign([src, '--out', path.join(mnt, 'out'), '--signer', SIGNER, '--timestamp', '1700000000']);
    assert.equal(dry.code, 0, dry.stderr);
    const manifestBytes = fs.statSync(statePaths(path.join(mnt, 'out')).manifest).blocks * 512;
    const total = used();
    execFileSync('umount', [mnt]);
    // The journal (about the manifest's size) is still there while the manifest is written: room for half of it.
    const size = Math.floor((total + manifestBytes / 2) / 4096) * 4096;
    mount(size);
    const out = path.join(mnt, 'out');
    const r = await batchSign([src, '--out', out, '--signer', SIGNER, '--timestamp', '1700000000']);
    assert.equal(r.code, 1, `exit ${r.code}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /internal error/);
    assert.match(r.stderr, /manifest\.json: cannot write: disk full; every signed file is in place: free space, then run the same command with --resume/);
    assert.ok(fs.existsSync(statePaths(out).journal), 'the journal stays for --resume');
    assert.ok(!fs.existsSync(statePaths(out).manifest));
    assert.equal(listFiles(out, (rel) => rel.endsWith('.sgn')).length, 400, 'every output in place');
    // Room again (a bigger tmpfs in place of this one, same files): --resume only writes the manifest.
    execFileSync('mount', ['-o', `remount,size=${64 * 1024 * 1024}`, mnt]);
    const resumed = await batchSign([src, '--out', out, '--signer', SIGNER, '--timestamp', '1700000000', '--resume', '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const s = JSON.parse(resumed.stdout) as { signed: number; alreadyDone: number };
    assert.deepEqual([s.signed, s.alreadyDone], [0, 400]);
    assert.equal((await manifestSources(out)).length, 400);
  });
});
