import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writePhoneConfigs } from '../../bench/configs';
import { statePaths, type AuditRecord, type BatchSummary, type ManifestEntry } from '../../src/pipeline';
import { loadFilesAddon } from '../../src/pipeline/native-files';
import { joinLines } from '../../src/pipeline/journal';
import { concatText, linesOf } from '../../src/pipeline/committer';
import { nativeCopyJournalEntries } from '../../src/pipeline/native-files';
import { nativeCoreStatus } from '../../src/pipeline/native-core';
import { vector } from '../helpers/paths';
import { runCliProcess } from '../helpers/run-cli';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';
import { listFiles, openctlVerifies, readJsonLines, tempDir, tempFiles } from './support';
import { importKeyToTokens } from './token-import';

/**
 * The native file engine (native-bindings/src/files.c) and the worker threads (JavaScript) must write the same
 * bytes: outputs, manifest entries, audit lines (all but the times and the job id), and the same failures.
 */

const KEY = vector('certs', 'ccm-tftp.pem');
const TIMESTAMP = '1764288000';

interface Run {
  summary: BatchSummary;
  out: string;
}

async function signWith(engine: 'native' | 'workers', args: string[], out: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const r = await runCliProcess(['batch', 'sign', ...args, '--out', out, '--timestamp', TIMESTAMP, '--json'], {
    env: { ...env, OPENCTL_NATIVE_FILES: engine === 'native' ? '1' : '0' },
  });
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
  const summary = JSON.parse(r.stdout) as BatchSummary;
  assert.equal(summary.fileEngine, engine, 'the engine asked for did the work');
  return { summary, out };
}

/** Journal lines and audit lines without what differs from run to run (times, job id). */
function manifestOf(out: string): ManifestEntry[] {
  const manifest = JSON.parse(fs.readFileSync(statePaths(out).manifest, 'utf8')) as { files: ManifestEntry[] };
  return manifest.files.map((e) => ({ ...e, signedAt: 'T' })).sort((a, b) => (a.source < b.source ? -1 : 1));
}

function auditOf(out: string): string[] {
  return fs
    .readFileSync(statePaths(out).audit, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/"time":"[^"]+"/, '"time":"T"').replace(/"job":"[^"]+"/, '"job":"J"'))
    .sort();
}

function assertSameRuns(a: Run, b: Run): void {
  assert.equal(a.summary.signed, b.summary.signed);
  const failures = (r: Run) =>
    r.summary.failures.map((f) => ({ ...f, problem: f.problem.split(r.out).join('OUT') })).sort((x, y) => (x.source < y.source ? -1 : 1));
  assert.deepEqual(failures(a), failures(b));
  const files = listFiles(a.out);
  assert.deepEqual(files, listFiles(b.out));
  for (const f of files) assert.ok(fs.readFileSync(path.join(a.out, f)).equals(fs.readFileSync(path.join(b.out, f))), `${f}: same bytes`);
  assert.deepEqual(manifestOf(a.out), manifestOf(b.out));
  // The text too (one entry per line, the layout readManifestEntries streams): the native engine's run copies
  // the journal into the manifest whole (copyJournalEntries in C), the workers' run (no addon) line by line.
  const masked = (out: string) =>
    fs
      .readFileSync(statePaths(out).manifest, 'utf8')
      .split(out)
      .join('OUT')
      .replace(/"(signedAt|completedAt|job)": ?"[^"]+"/g, '"$1":"T"')
      .split('\n')
      .map((line) => line.replace(/,$/, '')) // the entries' order is the commits', not fixed
      .sort();
  assert.deepEqual(masked(a.out), masked(b.out));
  assert.deepEqual(auditOf(a.out), auditOf(b.out));
  assert.deepEqual(tempFiles(a.out), []);
  assert.deepEqual(tempFiles(b.out), []);
}

describe('journal and audit lines as bytes', () => {
  it('joins byte lines of one buffer (with or without their newline), strings and gaps into the same text', () => {
    const chunk = Buffer.from('{"a":1}\n{"b":2}\n{"c":3}\n{"d":4}\n');
    const line = (from: number, to: number) => chunk.subarray(from, to);
    // Lines 1, 2 and 4 of the chunk (3 failed), a string, a line from elsewhere, the last one without a newline.
    const lines = [line(0, 7), line(8, 15), line(24, 31), '{"kept":true}', Buffer.from('{"x":0}'), Buffer.from('{"y":0}\n').subarray(0, 7)];
    const expected = '{"a":1}\n{"b":2}\n{"d":4}\n{"kept":true}\n{"x":0}\n{"y":0}\n';
    assert.equal(joinLines(lines).toString(), expected);
    assert.equal(joinLines(lines.map(String)), expected);
    const audit = [line(0, 8), line(8, 16), line(24, 32), '{"s":1}\n', line(16, 24)];
    assert.equal(concatText(audit).toString(), '{"a":1}\n{"b":2}\n{"d":4}\n{"s":1}\n{"c":3}\n');
  });
});

describe('native chunks: lines cut where a rename failed', () => {
  it('keeps the whole buffer when nothing failed, and leaves out exactly the failed files\' lines otherwise', () => {
    // Files 0..4; file 2 failed before signing (no bytes), files 1 and 4 lose their renames.
    const bytes = Buffer.from('{"a":0}\n{"b":1}\n{"d":3}\n{"e":4}\n');
    const ends = Uint32Array.from([8, 16, 16, 24, 32]);
    assert.deepEqual(linesOf(bytes, ends, undefined), [bytes]);
    assert.deepEqual(linesOf(bytes, ends, new Set()), [bytes]);
    const text = (drop: number[]) => Buffer.concat(linesOf(bytes, ends, new Set(drop))).toString();
    assert.equal(text([1, 4]), '{"a":0}\n{"d":3}\n');
    assert.equal(text([0]), '{"b":1}\n{"d":3}\n{"e":4}\n');
    assert.equal(text([0, 1, 3, 4]), '');
    assert.deepEqual(linesOf(Buffer.alloc(0), new Uint32Array(3), undefined), []);
  });
});

describe('the manifest copied from the journal in C', () => {
  it('writes every entry line (across 1 MB reads, one longer than a read) joined as entries, and counts their outputs', async function () {
    const copy = nativeCopyJournalEntries();
    if (!copy) this.skip();
    const dir = tempDir('journal-copy');
    try {
      const file = path.join(dir, 'journal.jsonl');
      const lines = Array.from({ length: 9000 }, (_, i) => JSON.stringify({ source: `f${i}.xml`, pad: 'x'.repeat((i * 37) % 500), outputs: [{ kind: 'signed' }] }));
      lines.splice(4000, 0, JSON.stringify({ source: 'long.xml', pad: 'y'.repeat(1_500_000), outputs: [{ kind: 'signed' }, { kind: 'encrypted' }] }));
      // An empty line is left out; the last line may lack its newline (this job wrote the journal whole otherwise).
      fs.writeFileSync(file, `${JSON.stringify({ type: 'job' })}\n${lines.slice(0, 10).join('\n')}\n\n${lines.slice(10).join('\n')}`);
      const target = path.join(dir, 'manifest.json');
      const fd = fs.openSync(target, 'w');
      fs.writeSync(fd, 'HEAD');
      const done = await (copy as NonNullable<typeof copy>)(file, fd, '\n');
      fs.writeSync(fd, 'TAIL');
      fs.closeSync(fd);
      assert.equal(fs.readFileSync(target, 'utf8'), `HEAD\n${lines.join(',\n')}TAIL`);
      assert.deepEqual(done, { lines: lines.length, outputs: lines.length + 1, bytes: Buffer.byteLength(`\n${lines.join(',\n')}`) });
      // A journal with nothing but its header writes nothing; a write that fails rejects with its errno.
      fs.writeFileSync(file, `${JSON.stringify({ type: 'job' })}\n`);
      const empty = fs.openSync(target, 'w');
      assert.deepEqual(await (copy as NonNullable<typeof copy>)(file, empty, ',\n'), { lines: 0, outputs: 0, bytes: 0 });
      fs.closeSync(empty);
      assert.equal(fs.readFileSync(target, 'utf8'), '');
      fs.writeFileSync(file, `${JSON.stringify({ type: 'job' })}\n{"a":1}\n`);
      const readOnly = fs.openSync(target, 'r');
      await assert.rejects((copy as NonNullable<typeof copy>)(file, readOnly, '\n'), (err: Error & { errno?: number }) => err.errno === -9);
      fs.closeSync(readOnly);
      await assert.rejects((copy as NonNullable<typeof copy>)(path.join(dir, 'missing'), 1, '\n'), (err: Error & { errno?: number }) => err.errno === -2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('native file engine: the same bytes as the worker threads', function () {
  this.timeout(300_000);
  let dir: string;
  let src: string;
  before(function () {
    if (!loadFilesAddon()) this.skip();
    dir = tempDir('native-files');
    src = path.join(dir, 'src');
    writePhoneConfigs(src, 150, { min: 2000, max: 20_000, perFolder: 60 });
    // Names JSON must escape, names outside ASCII, a control character, a large file, a binary file, bad files.
    fs.writeFileSync(path.join(src, 'quote"back\\slash.xml'), '<a>"quoted"</a>\n');
    fs.writeFileSync(path.join(src, 'tab\there\u0001.cnf.xml'), '<device/>\n');
    fs.writeFileSync(path.join(src, 'café-ü-日本.xml'), '\ufeff  <x>é</x>  \n');
    fs.writeFileSync(path.join(src, 'big.xml'), `<big>${'x'.repeat(700_000)}</big>`);
    fs.writeFileSync(path.join(src, 'tone.raw'), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) & 0xff)));
    fs.writeFileSync(path.join(src, 'empty.xml'), '');
    fs.writeFileSync(path.join(src, 'notxml.cnf.xml'), 'hello, not XML');
    fs.writeFileSync(path.join(src, 'nul.xml'), '<a>\0</a>');
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('PEM key: outputs, manifest, audit and failures are identical; every output verifies', async () => {
    const native = await signWith('native', [src, '--signer', KEY], path.join(dir, 'out-native'));
    const workers = await signWith('workers', [src, '--signer', KEY], path.join(dir, 'out-workers'));
    assert.equal(native.summary.signed, 155);
    assert.deepEqual(native.summary.failures.map((f) => f.source).sort(), ['empty.xml', 'notxml.cnf.xml', 'nul.xml']);
    assertSameRuns(native, workers);
    for (const f of ['quote"back\\slash.xml.sgn', 'tab\there\u0001.cnf.xml.sgn', 'café-ü-日本.xml.sgn', 'big.xml.sgn', 'tone.raw.sgn']) {
      assert.ok(await openctlVerifies(path.join(native.out, f), KEY), `${f} verifies`);
    }
  });

  it('--digest sha256: the same bytes from both engines, and SHA-256 digests in the audit', async () => {
    const native = await signWith('native', [src, '--signer', KEY, '--digest', 'sha256'], path.join(dir, 'sha256-native'));
    const workers = await signWith('workers', [src, '--signer', KEY, '--digest', 'sha256'], path.join(dir, 'sha256-workers'));
    assertSameRuns(native, workers);
    const audit = readJsonLines<AuditRecord>(statePaths(native.out).audit);
    assert.ok(audit.every((a) => a.hash === 'sha256' && a.digest.length === 64));
  });

  it('an output folder that cannot take a file: the same one-line problem from both engines', async () => {
    const outs = ['native', 'workers'].map((e) => path.join(dir, `blocked-${e}`));
    for (const out of outs) {
      fs.mkdirSync(out, { recursive: true });
      fs.writeFileSync(path.join(out, 'batch000'), 'a file where the sub-folder should be');
    }
    // --force: the folder is not empty (it holds the blocking file), which a new batch otherwise refuses.
    const native = await signWith('native', [src, '--signer', KEY, '--force'], outs[0]);
    const workers = await signWith('workers', [src, '--signer', KEY, '--force'], outs[1]);
    assert.equal(native.summary.failed, 3 + 60);
    assert.match(native.summary.failures.find((f) => f.source.startsWith('batch000/'))?.problem ?? '', /a parent is not a folder/);
    assertSameRuns(native, workers);
  });

  it('a rename that fails (a folder where an output goes): that file fails alone, the rest of its chunk is journaled; same as the workers', async () => {
    const names = fs.readdirSync(path.join(src, 'batch001')).sort().slice(0, 2).map((n) => `batch001/${n}`);
    const blocked = [...names, 'big.xml'];
    const outs = ['native', 'workers'].map((e) => path.join(dir, `rename-${e}`));
    for (const out of outs) {
      for (const rel of blocked) {
        fs.mkdirSync(path.join(out, `${rel}.sgn`), { recursive: true });
        fs.writeFileSync(path.join(out, `${rel}.sgn`, 'keep'), 'a folder where the output goes');
      }
    }
    const native = await signWith('native', [src, '--signer', KEY, '--force'], outs[0]);
    const workers = await signWith('workers', [src, '--signer', KEY, '--force'], outs[1]);
    assert.equal(native.summary.signed, 155 - blocked.length);
    assert.deepEqual(
      native.summary.failures.map((f) => f.source).sort(),
      [...blocked, 'empty.xml', 'notxml.cnf.xml', 'nul.xml'].sort(),
    );
    for (const rel of blocked) assert.match(native.summary.failures.find((f) => f.source === rel)?.problem ?? '', /\.sgn/);
    const journaled = manifestOf(native.out).map((e) => e.source);
    for (const rel of blocked) assert.ok(!journaled.includes(rel), `${rel}: not in the manifest`);
    assert.equal(journaled.length, 155 - blocked.length);
    assert.equal(auditOf(native.out).length, 155 - blocked.length, 'no audit line for a file not in place');
    assertSameRuns(native, workers);
  });

  it('an addon from an older build (without renameChunks) counts as not built: the worker threads sign, with a warning', async () => {
    const real = loadFilesAddon() as unknown as Record<string, unknown>;
    const old = path.join(dir, 'old-openctl-files.js');
    // What an earlier build exported: every function but renameChunks, which this version calls.
    fs.writeFileSync(old, `module.exports = ${JSON.stringify(Object.keys(real).filter((k) => k !== 'renameChunks'))}.reduce((m, k) => ({ ...m, [k]: () => { throw new Error('old ' + k + ' called'); } }), {});\n`);
    const out = path.join(dir, 'old-addon');
    const r = await runCliProcess(['batch', 'sign', src, '--signer', KEY, '--out', out, '--timestamp', TIMESTAMP, '--json'], {
      env: { OPENCTL_FILES_ADDON: old },
    });
    assert.equal(r.code, 1, r.stderr); // the three bad files
    const summary = JSON.parse(r.stdout) as BatchSummary;
    assert.equal(summary.fileEngine, 'workers');
    assert.equal(summary.signed, 155);
    assert.match(r.stderr, /native file engine is not used: .*older build \(run npm run build:native\)/);
  });

  describe('SoftHSM key through the native core', () => {
    let hsm: SoftHsmFixture;
    before(async function () {
      if (!nativeCoreStatus().available) this.skip();
      hsm = await createSoftHsm({ tokens: [{ label: 'tftp-A', keys: [] }] });
      importKeyToTokens(hsm, ['tftp-A'], KEY, 'tftp');
    });
    beforeEach(() => hsm?.activate());
    after(() => hsm?.cleanup());

    it('signs on its own sessions: the same bytes as the worker threads, the audit names the token', async () => {
      const args = [src, '--signer', 'pkcs11:token=tftp-A;object=tftp', '--module', hsm.modulePath, '--engine', 'native', '--no-wait'];
      const env = hsm.env({ OPENCTL_PIN: hsm.pin });
      const native = await signWith('native', args, path.join(dir, 'hsm-native'), env);
      const workers = await signWith('workers', args, path.join(dir, 'hsm-workers'), env);
      assert.equal(native.summary.backend, 'native');
      assertSameRuns(native, workers);
      const serial = hsm.tokens[0].serial;
      assert.ok(readJsonLines<AuditRecord>(statePaths(native.out).audit).every((a) => a.token === serial));
      assert.ok(await openctlVerifies(path.join(native.out, 'tone.raw.sgn'), KEY));
    });
  });
});
