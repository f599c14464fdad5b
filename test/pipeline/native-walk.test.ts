import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BatchSummary } from '../../src/pipeline';
import { loadFilesAddon } from '../../src/pipeline/native-files';
import { chunkSizeNear, nativeCountFiles, NativeWalk } from '../../src/pipeline/native-walk';
import { countFiles, skipProblem, walkFiles, type SkipKind } from '../../src/pipeline/walk';
import { TEMP_MARKER } from '../../src/util/atomic-write';
import { vector } from '../helpers/paths';
import { runCliProcess } from '../helpers/run-cli';
import { listFiles, tempDir } from './support';

/**
 * The walk in C (native-bindings/src/walk.c) must find what the walk in JavaScript finds: the same files, the same
 * entries passed over, the same problems, the same count; and a batch through it must claim output names as the
 * JavaScript planner does (names that differ only by letter case, ASCII or not).
 */

const KEY = vector('certs', 'ccm-tftp.pem');
const KELVIN = '\u212a'; // 'K'.toLowerCase() === 'k': a name outside ASCII that collides with an ASCII one

interface WalkResult {
  files: string[];
  problems: string[];
}

/** The JavaScript walk: every file it yields, and what it reports. */
async function jsWalk(root: string, skipDirs: string[]): Promise<WalkResult> {
  const files: string[] = [];
  const problems: string[] = [];
  for await (const entry of walkFiles(root, { skipDirs, onSkip: (rel, problem) => problems.push(`${rel}: ${problem}`) })) files.push(entry.rel);
  return { files: files.sort(), problems: problems.sort() };
}

/** The walk in C, `max` files per step: its names, the names left to JavaScript and the collisions are all files. */
function nativeWalk(root: string, skipDirs: string[], max: number): WalkResult & { collisions: string[]; others: string[]; order: string[] } {
  const walk = NativeWalk.open(root, skipDirs) as NativeWalk;
  const order: string[] = [];
  const others: string[] = [];
  const collisions: string[] = [];
  const problems: string[] = [];
  const kinds: SkipKind[] = ['unreadable', 'special', 'dangling'];
  try {
    for (;;) {
      const step = walk.next(max);
      assert.ok(step.count <= max, 'never more than asked for');
      assert.equal(step.xml.length, step.count);
      const names = step.count ? step.names.split('\0').slice(0, -1) : [];
      assert.equal(names.length, step.count, 'one name per file, each with its NUL');
      names.forEach((n, i) => assert.equal(step.xml[i], /\.xml$/i.test(n) ? 1 : 0, `${n}: xml flag`));
      order.push(...names);
      others.push(...(step.others ?? []));
      collisions.push(...(step.collisions ?? []));
      for (const [rel, kind, errno] of step.problems ?? []) problems.push(`${rel}: ${skipProblem(kinds[kind], errno === 13 ? 'EACCES' : undefined)}`);
      if (step.done) break;
    }
  } finally {
    walk.close();
  }
  return { files: [...order, ...others, ...collisions].sort(), problems: problems.sort(), collisions, others, order };
}

describe('the walk in C: the same files and problems as the walk in JavaScript', function () {
  this.timeout(120_000);
  let dir: string;
  let src: string;
  before(function () {
    if (!loadFilesAddon()) this.skip();
    dir = tempDir('native-walk');
    src = path.join(dir, 'src');
    const put = (rel: string, text = '<a/>\n') => {
      fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
      fs.writeFileSync(path.join(src, rel), text);
    };
    for (let i = 0; i < 40; i += 1) put(`phones/SEP0011220000${i.toString(16).padStart(2, '0').toUpperCase()}.cnf.xml`);
    put('a/b/c/d/e/deep.xml');
    put('ringlist.xml');
    put('tone.raw', 'not xml, not checked');
    put('UPPER.XML');
    put('Case.xml');
    put('case.xml'); // collides with Case.xml
    put(`${KELVIN}.xml`);
    put('k.xml'); // collides with the Kelvin sign's name
    put('café/ü.xml');
    put('already.xml.sgn'); // an output: never signed
    put(`${TEMP_MARKER}x.xml.sgn.abc1`); // a temp file of an interrupted write
    put('out/inside.xml'); // the output folder inside the source: never entered
    put('x.sgn/in-a-folder-named-sgn.xml'); // a folder's name does not matter
    fs.writeFileSync(Buffer.from(path.join(src, 'bad-\xff.xml'), 'latin1'), '<bad/>'); // a byte no UTF-8 name has
    fs.symlinkSync(path.join(src, 'ringlist.xml'), path.join(src, 'link-to-file.xml'));
    fs.symlinkSync(path.join(src, 'a'), path.join(src, 'link-to-folder'));
    fs.symlinkSync(path.join(dir, 'gone.xml'), path.join(src, 'dangling.xml'));
    fs.symlinkSync(path.join(dir, 'gone.xml'), path.join(src, 'dangling.xml.sgn')); // never signed: not reported
    execFileSync('mkfifo', [path.join(src, 'pipe.cnf.xml')]);
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds the same files and reports the same problems, whatever the step size; counts the same', async () => {
    const skip = [path.join(src, 'out')];
    const js = await jsWalk(src, skip);
    assert.ok(js.files.includes('a/b/c/d/e/deep.xml') && js.files.includes('link-to-file.xml'));
    assert.ok(!js.files.some((f) => f.startsWith('out/') || f.startsWith('link-to-folder') || f.endsWith('.sgn') || f.includes(TEMP_MARKER)));
    assert.deepEqual(js.problems, [`dangling.xml: ${skipProblem('dangling')}`, `pipe.cnf.xml: ${skipProblem('special')}`]);
    for (const max of [1, 3, 128, 100_000]) {
      const c = nativeWalk(src, skip, max);
      assert.deepEqual(c.files, js.files, `max ${max}: the same files`);
      assert.deepEqual(c.problems, js.problems, `max ${max}: the same problems`);
      // Names outside ASCII go to JavaScript unclaimed; of the ASCII pair, the second one read collides.
      assert.deepEqual(c.others.sort(), js.files.filter((f) => /[^\x00-\x7f]/.test(f)).sort());
      assert.equal(c.collisions.length, 1);
      assert.ok(['Case.xml', 'case.xml'].includes(c.collisions[0]));
    }
    assert.equal(await nativeCountFiles(src, skip), await countFiles(src, { skipDirs: skip }));
    assert.equal(await nativeCountFiles(src, []), js.files.length + 1, 'without the skip, out/inside.xml too');
  });

  it('claims a name once, lower-cased; a name given by JavaScript shares the set with the names claimed in C', () => {
    const walk = NativeWalk.open(src, []) as NativeWalk;
    try {
      let step;
      do step = walk.next(1000);
      while (!step.done);
      assert.equal(walk.claim(`${KELVIN}.XML`), false, 'k.xml was claimed in C: the Kelvin sign lower-cases to k');
      assert.equal(walk.claim('UPPER.xml'), false);
      assert.equal(walk.claim('new/Name.xml'), true);
      assert.equal(walk.claim('NEW/name.XML'), false);
    } finally {
      walk.close();
    }
    assert.throws(() => walk.next(1), /closed/);
  });

  it('hands out smaller chunks near the end of the count, so that no thread is left alone with a whole chunk', () => {
    assert.equal(chunkSizeNear(undefined, 14_990, 128, 2), 128, 'no count yet: full chunks');
    assert.equal(chunkSizeNear(15_000, 0, 128, 2), 128);
    assert.equal(chunkSizeNear(15_000, 14_488, 128, 2), 128);
    assert.equal(chunkSizeNear(15_000, 14_600, 128, 2), 100);
    assert.equal(chunkSizeNear(15_000, 14_990, 128, 2), 8, 'never fewer than 8 files a call');
    assert.equal(chunkSizeNear(100, 250, 128, 2), 8, 'files added since the count');
    assert.equal(chunkSizeNear(1_000, 0, 4, 2), 4, 'never more than asked for');
  });

  // An unreadable sub-folder through the walk in C: batch-faults.test.ts (it drops root's power to read any folder).
  it('a source folder that cannot be opened throws the system error', () => {
    assert.throws(() => NativeWalk.open(path.join(dir, 'missing'), []), /no such file or directory/i);
    assert.throws(() => NativeWalk.open(path.join(src, 'ringlist.xml'), []), /not a directory/i);
  });

  it('a batch through it fails the same collisions and skips the same entries as the JavaScript walk, with the same words', async () => {
    const runs: Record<string, BatchSummary> = {};
    for (const engine of ['native', 'workers'] as const) {
      const out = path.join(dir, `out-${engine}`);
      const r = await runCliProcess(['batch', 'sign', src, '--out', out, '--signer', KEY, '--timestamp', '1764288000', '--json'], {
        env: { OPENCTL_NATIVE_FILES: engine === 'native' ? '1' : '0' },
      });
      assert.equal(r.code, 1, r.stderr); // the collisions and the name that is not UTF-8 fail
      runs[engine] = JSON.parse(r.stdout) as BatchSummary;
      assert.equal(runs[engine].fileEngine, engine);
      assert.match(r.stderr, /"event":"total","total":\d+/);
    }
    const { native, workers } = runs;
    const failures = (s: BatchSummary) => s.failures.map((f) => `${f.source}: ${f.problem}`).sort();
    assert.deepEqual(failures(native), failures(workers));
    assert.equal(native.failures.filter((f) => /^name collision: /.test(f.problem)).length, 2, failures(native).join('\n'));
    assert.deepEqual(native.skippedFiles, workers.skippedFiles);
    assert.equal(native.signed, workers.signed);
    assert.deepEqual(listFiles(path.join(dir, 'out-native')), listFiles(path.join(dir, 'out-workers')));
    // The output folder inside the source was not walked into (the batch writes its own outputs there too).
    const inside = await runCliProcess(['batch', 'sign', src, '--out', path.join(src, 'out'), '--signer', KEY, '--force', '--json'], { env: { OPENCTL_NATIVE_FILES: '1' } });
    assert.equal((JSON.parse(inside.stdout) as BatchSummary).failures.some((f) => f.source.startsWith('out/')), false, inside.stderr);
  });
});
