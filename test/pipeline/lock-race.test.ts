import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writePhoneConfigs } from '../../bench/configs';
import { batchSign, statePaths, readManifestEntries, type AuditRecord } from '../../src/pipeline';
import { acquireLock } from '../../src/pipeline/state-files';
import { CLI_BIN, REPO_ROOT, vector } from '../helpers/paths';
import { readJsonLines, tempDir } from './support';

const STATE_FILES = path.join(REPO_ROOT, 'dist', 'src', 'pipeline', 'state-files.js');

interface Attempt {
  /** When the child called acquireLock, when it got it and when it let it go (ms since the epoch). */
  attemptAt: number;
  wonAt?: number;
  releasedAt?: number;
  error?: string;
}

/**
 * A child that takes the lock at a given instant (all children at the same millisecond), holds it for a while,
 * and reports. Real processes: the lock is between processes, and the PID matters.
 */
function contender(out: string, at: number, holdMs: number): Promise<Attempt> {
  const script = `
    const { acquireLock, statePaths } = require(${JSON.stringify(STATE_FILES)});
    const paths = statePaths(${JSON.stringify(out)});
    while (Date.now() < ${at}) {}
    const attemptAt = Date.now();
    acquireLock(paths).then(
      async (release) => {
        const wonAt = Date.now();
        await new Promise((r) => setTimeout(r, ${holdMs}));
        const releasedAt = Date.now();
        await release();
        process.stdout.write(JSON.stringify({ attemptAt, wonAt, releasedAt }));
      },
      (err) => process.stdout.write(JSON.stringify({ attemptAt, error: err.message })),
    );`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout) as Attempt) : reject(new Error(`contender exit ${code}: ${stderr}`))));
  });
}

describe('batch: the output-folder lock under races', function () {
  this.timeout(300_000);

  it('8 processes taking the lock at the same instant, 4 rounds: never two holders at once, the others lose with one line', async () => {
    const out = tempDir('openctl-lockrace-');
    try {
      let contested = 0;
      for (let round = 0; round < 4; round += 1) {
        const at = Date.now() + 1500; // time for every child to start and load the module
        const results = await Promise.all(Array.from({ length: 8 }, () => contender(out, at, 1500)));
        const winners = results.filter((r) => r.wonAt !== undefined).sort((a, b) => a.wonAt! - b.wonAt!);
        assert.ok(winners.length >= 1, `round ${round}: nobody won: ${JSON.stringify(results)}`);
        // Never two holders at once: each winner took the lock after the previous one let it go.
        for (let i = 1; i < winners.length; i += 1) {
          assert.ok(winners[i].wonAt! >= winners[i - 1].releasedAt!, `round ${round}: two holders at once: ${JSON.stringify(results)}`);
        }
        // The others lost with one line naming the owner (an attempt slowed past the release may win later).
        const losers = results.filter((r) => r.wonAt === undefined);
        for (const r of losers) assert.match(r.error ?? '', /another batch \(pid \d+\) is writing to this folder/);
        if (losers.length >= 5) contested += 1;
        assert.ok(!fs.existsSync(statePaths(out).lock), 'released');
      }
      assert.ok(contested >= 2, `only ${contested} of 4 rounds had 5 or more losers (machine too loaded?)`);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('the lock names its owner whole (pid, start time, boot id); a lock whose PID now belongs to another process is stale', async () => {
    const out = tempDir('openctl-lockstale-');
    try {
      const paths = statePaths(out);
      const release = await acquireLock(paths);
      const owner = JSON.parse(fs.readFileSync(paths.lock, 'utf8')) as { pid: number; start?: string; boot?: string };
      assert.equal(owner.pid, process.pid);
      if (process.platform === 'linux') {
        assert.match(owner.start ?? '', /^\d+$/);
        assert.match(owner.boot ?? '', /^[0-9a-f-]{36}$/);
      }
      await release();
      // This test runner is alive: its PID alone would keep the lock forever. Its start time says it is not the owner.
      fs.writeFileSync(paths.lock, JSON.stringify({ ...owner, pid: process.ppid, start: '1' }));
      assert.ok((await contender(out, 0, 0)).wonAt !== undefined);
      // Written before a reboot (another boot id), by a PID alive now.
      fs.writeFileSync(paths.lock, JSON.stringify({ ...owner, pid: process.ppid, start: undefined, boot: '00000000-0000-0000-0000-000000000000' }));
      assert.ok((await contender(out, 0, 0)).wonAt !== undefined);
      // A live owner (this process, seen from another) keeps it.
      const held = await acquireLock(paths);
      assert.match((await contender(out, 0, 0)).error ?? 'won', new RegExp(`another batch \\(pid ${process.pid}\\)`));
      await held();
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('a state folder another batch is still creating (nothing but its lock temp file) is not "already holds": the lock decides', async () => {
    // The moment the 5-run test below used to hit by chance: batch A has made OUT/.openctl and written its lock
    // temp file but not yet linked the lock; batch B looks at OUT then. Each step of that moment, made on purpose.
    const src = tempDir('openctl-lockgap-src-');
    const out = tempDir('openctl-lockgap-out-');
    try {
      await writePhoneConfigs(src, 3);
      const signer = { pem: vector('certs', 'ccm-tftp.pem') };
      const paths = statePaths(out);
      // A's mkdir only: B signs (nobody holds the lock).
      fs.mkdirSync(paths.dir);
      assert.equal((await batchSign({ source: src, out, signer, jobs: 1 })).signed, 3);
      // A's lock temp file too, in a fresh folder: still not "already holds 1 entry".
      fs.rmSync(out, { recursive: true, force: true });
      fs.mkdirSync(paths.dir, { recursive: true });
      fs.writeFileSync(path.join(paths.dir, `lock.${process.pid + 1}.0123456789ab.tmp`), '{}\n');
      assert.equal((await batchSign({ source: src, out, signer, jobs: 1 })).signed, 3);
      // A linked the lock and is alive (a child holding it): B's refusal names A, not the folder's contents.
      fs.rmSync(out, { recursive: true, force: true });
      fs.mkdirSync(out);
      const holder = contender(out, 0, 4000);
      const deadline = Date.now() + 20_000;
      while (!fs.existsSync(paths.lock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await assert.rejects(batchSign({ source: src, out, signer, jobs: 1 }), /another batch \(pid \d+\) is writing to this folder/);
      assert.ok((await holder).wonAt !== undefined);
      // A finished batch's state folder (a manifest) still counts: a new batch into it needs --force.
      fs.rmSync(out, { recursive: true, force: true });
      fs.mkdirSync(paths.dir, { recursive: true });
      fs.writeFileSync(paths.manifest, '{}\n');
      await assert.rejects(batchSign({ source: src, out, signer, jobs: 1 }), /already holds 1 entry: add --force/);
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('5 `batch sign` runs started together on one folder: one signs, the others exit 2 with one line; journal and audit log valid', async () => {
    const src = tempDir('openctl-lockrace-src-');
    const out = tempDir('openctl-lockrace-out-');
    try {
      await writePhoneConfigs(src, 200);
      const signer = vector('certs', 'tftp-4096.pem'); // slow signatures: the winner holds the lock for seconds
      const runs = await Promise.all(
        Array.from({ length: 5 }, () =>
          new Promise<{ code: number | null; stderr: string }>((resolve) => {
            const child = spawn(process.execPath, [CLI_BIN, 'batch', 'sign', src, '--out', out, '--signer', signer, '--jobs', '1'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
            let stderr = '';
            child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
            child.on('close', (code) => resolve({ code, stderr }));
          }),
        ),
      );
      const ok = runs.filter((r) => r.code === 0);
      assert.equal(ok.length, 1, JSON.stringify(runs.map((r) => [r.code, r.stderr.slice(0, 200)])));
      for (const r of runs.filter((x) => x.code !== 0)) {
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /^openctl: .* another batch \(pid \d+\) is writing to this folder; wait for it to finish\n$/);
      }
      const paths = statePaths(out);
      const entries = [];
      for await (const e of readManifestEntries(paths.manifest)) entries.push(e);
      assert.equal(entries.length, 200);
      const audit = readJsonLines<AuditRecord>(paths.audit);
      assert.equal(audit.length, 200, 'one audit line per signature, from one job');
      assert.equal(new Set(audit.map((a) => a.job)).size, 1);
      assert.ok(!fs.existsSync(paths.lock));
      assert.deepEqual(fs.readdirSync(paths.dir).filter((n) => n.startsWith('lock')), [], 'no lock temp files left');
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
