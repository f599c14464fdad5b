import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writePhoneConfigs } from '../../bench/configs';
import { readManifestEntries, statePaths, type AuditRecord, type ManifestEntry } from '../../src/pipeline';
import { CLI_BIN, REPO_ROOT, vector } from '../helpers/paths';
import { listFiles, openctlVerifies, readJsonLines, tempDir, tempFiles } from './support';

// A 4096-bit key makes each signature slow enough that a random kill lands in the middle of the batch.
const SIGNER = vector('certs', 'tftp-4096.pem');
const FILES = 900;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Run {
  child: ChildProcess;
  started: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function startBatch(args: string[]): Run {
  const child = spawn(process.execPath, [CLI_BIN, 'batch', 'sign', ...args, '--json'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let onStart: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    onStart = resolve;
  });
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
    if (stderr.includes('"event":"start"')) onStart();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => {
      onStart();
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, started, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the journal claims: every such file must be whole on disk (its recorded SHA-256) and verify. */
async function checkJournalClaims(out: string): Promise<number> {
  const journal = statePaths(out).journal;
  if (!fs.existsSync(journal)) return 0;
  const lines = fs.readFileSync(journal, 'utf8').split('\n').filter((l) => l.trim());
  let claimed = 0;
  for (const line of lines.slice(1)) {
    let entry: ManifestEntry;
    try {
      entry = JSON.parse(line) as ManifestEntry;
    } catch {
      continue; // a torn last line claims nothing
    }
    for (const output of entry.outputs) {
      const bytes = fs.readFileSync(path.join(out, output.file));
      assert.equal(sha256(bytes), output.sha256, `${output.file}: the journal's bytes are on disk`);
    }
    claimed += 1;
  }
  return claimed;
}

async function checkComplete(src: string, out: string, names: string[]): Promise<void> {
  assert.deepEqual(listFiles(out), names.map((n) => `${n}.sgn`).sort());
  for (const n of names) assert.ok(await openctlVerifies(path.join(out, `${n}.sgn`), SIGNER), `${n}.sgn verifies`);
  assert.deepEqual(tempFiles(out), [], 'no temp file left anywhere');
  assert.ok(!fs.existsSync(statePaths(out).journal), 'journal gone once complete');
  const entries: ManifestEntry[] = [];
  for await (const e of readManifestEntries(statePaths(out).manifest)) entries.push(e);
  assert.deepEqual(entries.map((e) => e.source).sort(), [...names].sort());
  for (const e of entries) assert.equal(e.sourceSha256, sha256(fs.readFileSync(path.join(src, e.source))));
  const audited = new Set(readJsonLines<AuditRecord>(statePaths(out).audit).map((a) => a.file));
  for (const n of names) assert.ok(audited.has(`${n}.sgn`), `${n}.sgn audited`);
}

describe('batch sign: kill -9, Ctrl-C and --resume', function () {
  this.timeout(300_000);
  let dir: string;
  let src: string;
  let out: string;
  let names: string[];
  /** How long an uninterrupted run takes here: kills are spread over it, whatever the machine's speed. */
  let runMs: number;
  before(async () => {
    dir = tempDir('resume');
    src = path.join(dir, 'src');
    names = writePhoneConfigs(src, FILES, { min: 1500, max: 3000, perFolder: 300 });
    const run = startBatch([src, '--out', path.join(dir, 'reference'), '--signer', SIGNER, '--jobs', '2']);
    await run.started;
    const t0 = Date.now();
    const result = await run.exited;
    assert.equal(result.code, 0, result.stderr);
    runMs = Date.now() - t0;
  });
  beforeEach(() => {
    out = path.join(dir, `out-${Date.now()}`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('kill -9 at random points, then --resume: complete, every file verifies, no temp file, nothing signed twice', async () => {
    const args = [src, '--out', out, '--signer', SIGNER, '--jobs', '2'];
    let signedBeforeLastRun = 0;
    let kills = 0;
    let finished: Awaited<Run['exited']> | undefined;
    for (let trial = 0; trial < 4 && !finished; trial += 1) {
      const run = startBatch(trial === 0 ? args : [...args, '--resume']);
      await run.started;
      // Anywhere in the run: before the first group commit, between commits, or during one.
      await sleep(Math.floor(Math.random() * runMs * (trial === 0 ? 0.6 : 1)));
      run.child.kill('SIGKILL');
      const result = await run.exited;
      if (result.code === 0) {
        finished = result; // it ended before the kill
        break;
      }
      assert.equal(result.signal, 'SIGKILL');
      kills += 1;
      const claimed = await checkJournalClaims(out);
      assert.ok(claimed >= signedBeforeLastRun, 'a resumed run keeps what the journal held');
      signedBeforeLastRun = claimed;
    }
    assert.ok(kills > 0, 'at least one run was killed in the middle');
    if (process.env.OPENCTL_TEST_VERBOSE) console.log(`killed ${kills} times; ${signedBeforeLastRun} files in the journal before the last run`);
    finished ??= await startBatch([...args, '--resume']).exited;
    assert.equal(finished.code, 0, finished.stderr);
    const summary = JSON.parse(finished.stdout) as { signed: number; alreadyDone: number; resumed: boolean };
    if (signedBeforeLastRun > 0) {
      assert.equal(summary.resumed, true, finished.stderr.slice(0, 600));
      assert.equal(summary.alreadyDone, signedBeforeLastRun, "the journal's files are not signed again");
      assert.equal(summary.signed, FILES - signedBeforeLastRun);
    }
    await checkComplete(src, out, names);
  });

  it('Ctrl-C stops cleanly with exit 130 and a resumable journal; --resume finishes', async () => {
    let args = [src, '--out', out, '--signer', SIGNER, '--jobs', '2'];
    // A third of the reference run's time in; when this run went faster than the reference (a machine whose load
    // changed) and the Ctrl-C found every file signed, or the batch done, it is tried again in a new folder,
    // earlier: the stop must land while files are still to be signed.
    let delay = Math.floor(runMs / 3);
    let stopped: Awaited<Run['exited']>;
    for (let attempt = 0; ; attempt += 1) {
      const run = startBatch(args);
      await run.started;
      await sleep(delay);
      run.child.kill('SIGINT');
      stopped = await run.exited;
      const tooLate = stopped.code === 0 || (stopped.code === 130 && (JSON.parse(stopped.stdout) as { signed: number }).signed === FILES);
      if (!tooLate || attempt === 4) break;
      out = path.join(dir, `out-${Date.now()}-${attempt}`);
      args = [src, '--out', out, '--signer', SIGNER, '--jobs', '2'];
      delay = Math.floor(delay / 2);
    }
    assert.equal(stopped.code, 130, stopped.stderr);
    const summary = JSON.parse(stopped.stdout) as { complete: boolean; stopped: string; signed: number };
    assert.equal(summary.complete, false);
    assert.equal(summary.stopped, 'interrupted');
    assert.ok(summary.signed < FILES);
    assert.deepEqual(tempFiles(out), [], 'a clean stop leaves no temp file');
    assert.ok(fs.existsSync(statePaths(out).journal));
    assert.equal(await checkJournalClaims(out), summary.signed, 'everything signed before the stop is in the journal');

    const resumed = startBatch([...args, '--resume']);
    const done = await resumed.exited;
    assert.equal(done.code, 0, done.stderr);
    assert.equal((JSON.parse(done.stdout) as { alreadyDone: number }).alreadyDone, summary.signed);
    await checkComplete(src, out, names);
  });
});
