import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TEMP_MARKER } from '../../src/util/atomic-write';
import { Journal, readJournal, sourceOfLine, type JobHeader, type ManifestEntry } from '../../src/pipeline/journal';
import { readManifestEntries, readManifestHeader, writeManifest, type ManifestHeader } from '../../src/pipeline/manifest';
import { countFiles, walkFiles } from '../../src/pipeline/walk';
import { looksLikeXml, mustBeXml, phoneMacOf } from '../../src/pipeline/file-checks';
import { tempDir } from './support';

async function collect<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of gen) items.push(item);
  return items;
}

const entry = (i: number): ManifestEntry => ({
  source: `phones/SEP${String(i).padStart(12, '0')}.cnf.xml`,
  sourceSha256: 'ab'.repeat(32),
  signer: 'cd'.repeat(32),
  digest: 'sha1',
  outputs: [{ file: `phones/SEP${String(i).padStart(12, '0')}.cnf.xml.sgn`, sha256: 'ef'.repeat(32), size: 9000 + i, kind: 'signed' }],
  signedAt: '2026-11-28T00:00:00.000Z',
});

describe('pipeline parts: walk, journal, manifest, file checks', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('parts');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('walks depth first with --include/--exclude, never yielding .sgn, temp files or the output folder', async () => {
    const files = ['a.cnf.xml', 'Ringlist.xml', 'x.raw', 'deep/er/b.cnf.xml', 'deep/c.xml', 'skip/d.cnf.xml', 'out/e.cnf.xml', 'f.cnf.xml.sgn', `deep/${TEMP_MARKER}g.sgn.1`];
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), '<x/>');
    }
    fs.symlinkSync(path.join(dir, 'deep'), path.join(dir, 'loop'));
    const rels = async (opts: Parameters<typeof walkFiles>[1]) => (await collect(walkFiles(dir, opts))).map((e) => e.rel).sort();
    assert.deepEqual(await rels({ skipDirs: [path.join(dir, 'out')] }), ['Ringlist.xml', 'a.cnf.xml', 'deep/c.xml', 'deep/er/b.cnf.xml', 'skip/d.cnf.xml', 'x.raw']);
    assert.deepEqual(await rels({ include: ['*.cnf.xml'], exclude: ['skip/**'], skipDirs: [path.join(dir, 'out')] }), ['a.cnf.xml', 'deep/er/b.cnf.xml']);
    assert.deepEqual(await rels({ include: ['deep/**'] }), ['deep/c.xml', 'deep/er/b.cnf.xml']);
    assert.equal(await countFiles(dir, { skipDirs: [path.join(dir, 'out')] }), 6);
  });

  it('a journal cut in the middle of its last line drops that line and is cut back for the next append', async () => {
    const file = path.join(dir, 'journal.jsonl');
    const header: JobHeader = { type: 'job', version: 1, jobId: 'j', startedAt: 't', source: '/s', signer: 'ff', digest: 'sha1', timestamp: 1, include: [], exclude: [], incremental: false };
    const journal = await Journal.create(file, header);
    await journal.append([entry(1), entry(2)].map((e) => JSON.stringify(e)));
    await journal.append([JSON.stringify(entry(3))]);
    await journal.close();
    const whole = fs.readFileSync(file);
    fs.writeFileSync(file, whole.subarray(0, whole.length - 20)); // power loss in the middle of the last append

    const read = await readJournal(file);
    assert.equal(read?.header.jobId, 'j');
    assert.deepEqual((await collect(read!.entries())).map((e) => e.source), [entry(1).source, entry(2).source]);
    const again = await Journal.reopen(file, header);
    await again.append([JSON.stringify(entry(4))]);
    await again.close();
    assert.deepEqual((await collect((await readJournal(file))!.entries())).map((e) => e.source), [entry(1).source, entry(2).source, entry(4).source]);
  });

  it('reads the source of a journal line without parsing it', () => {
    for (const source of ['a.xml', 'odd "quoted" \\ name.xml', 'ünï/cødé.xml']) {
      assert.equal(sourceOfLine(JSON.stringify({ ...entry(1), source })), source);
    }
  });

  it('a manifest of many entries streams out and back, and is plain JSON', async () => {
    const file = path.join(dir, 'manifest.json');
    const header: ManifestHeader = {
      format: 'openctl-batch-manifest',
      version: 1,
      job: 'j',
      completedAt: 't',
      source: '/s',
      signer: { fingerprint: 'ff', subject: 'CN=x', description: 'pem:x' },
      digest: 'sha1',
      summary: { signed: 5000 },
      failures: [{ source: 'bad.xml', problem: 'empty file' }],
    };
    async function* entries() {
      for (let i = 0; i < 5000; i += 1) yield entry(i);
    }
    await writeManifest(file, header, entries());
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as ManifestHeader & { files: ManifestEntry[] };
    assert.equal(parsed.files.length, 5000);
    assert.deepEqual(parsed.failures, header.failures);
    const streamed = await collect(readManifestEntries(file));
    assert.deepEqual(streamed, parsed.files);
    assert.deepEqual(await readManifestHeader(file), header);
    assert.deepEqual(await collect(readManifestEntries(path.join(dir, 'none.json'))), []);
  });

  it('tells configs and XML from other files', () => {
    assert.ok(mustBeXml('SEP001122334455.cnf.xml'));
    assert.ok(mustBeXml('Ringlist.XML'));
    assert.ok(!mustBeXml('ring.raw'));
    assert.equal(phoneMacOf('phones/sep00112233aabb.cnf.xml'), '00112233AABB');
    assert.equal(phoneMacOf('SEP001122334455.xml'), undefined);
    assert.ok(looksLikeXml(Buffer.from('\ufeff  <?xml version="1.0"?><a/>\n')));
    assert.ok(!looksLikeXml(Buffer.from('<a>\0</a>')));
    assert.ok(!looksLikeXml(Buffer.from('plain text')));
    assert.ok(!looksLikeXml(Buffer.from('<device><truncated')));
  });
});
