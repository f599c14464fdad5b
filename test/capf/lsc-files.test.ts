import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DirectoryWriter } from '../../src/util/directory-writer';
import { TEMP_MARKER } from '../../src/util/atomic-write';

/** The LSC files of `capf serve`: atomic replacement, one chain of fs callbacks each, the folder's fsync shared. */
describe('capf: LSC files (DirectoryWriter)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-lsc-files-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes 200 files at once, each whole under its name, no temp file left; the writes share the folder\'s fsyncs', async () => {
    const writer = new DirectoryWriter(dir);
    const names = Array.from({ length: 200 }, (_, i) => `SEP0011223344${i.toString(16).padStart(2, '0').toUpperCase()}.pem`);
    const data = (name: string) => Buffer.from(`-----BEGIN CERTIFICATE-----\n${name.repeat(40)}\n-----END CERTIFICATE-----\n`);
    await Promise.all(names.map((n) => writer.write(n, data(n))));
    assert.deepEqual(fs.readdirSync(dir).sort(), [...names].sort(), 'the targets and nothing else');
    for (const n of names) assert.ok(fs.readFileSync(path.join(dir, n)).equals(data(n)), n);
    assert.equal(fs.statSync(path.join(dir, names[0]!)).mode & 0o777, 0o644 & ~process.umask());
    assert.ok(writer.directorySyncs >= 1, 'the folder was fsynced');
    assert.ok(writer.directorySyncs < names.length, `200 renames shared ${writer.directorySyncs} fsyncs of the folder`);
  });

  it('replaces an existing file atomically; a later write on its own gets a folder fsync of its own', async () => {
    const writer = new DirectoryWriter(dir);
    fs.writeFileSync(path.join(dir, 'SEP001122334455.pem'), 'old');
    await writer.write('SEP001122334455.pem', Buffer.from('new'));
    const syncs = writer.directorySyncs;
    await writer.write('SEP001122334455.pem', Buffer.from('newer'));
    assert.equal(fs.readFileSync(path.join(dir, 'SEP001122334455.pem'), 'utf8'), 'newer');
    assert.equal(writer.directorySyncs, syncs + 1);
  });

  it('fails with one line naming the file, and leaves no temp file, when the folder is gone or not writable', async () => {
    const gone = new DirectoryWriter(path.join(dir, 'missing'));
    await assert.rejects(gone.write('SEP001122334455.pem', Buffer.from('x')), /missing\/SEP001122334455\.pem: cannot write: folder does not exist/);
    if (process.getuid?.() !== 0) {
      const ro = path.join(dir, 'ro');
      fs.mkdirSync(ro, 0o555);
      await assert.rejects(new DirectoryWriter(ro).write('SEP001122334455.pem', Buffer.from('x')), /ro\/SEP001122334455\.pem: cannot write: permission denied/);
    }
    // A target that is a folder: the rename fails after the temp file was written; the temp file goes.
    fs.mkdirSync(path.join(dir, 'SEP0011223344AA.pem'));
    fs.writeFileSync(path.join(dir, 'SEP0011223344AA.pem', 'inside'), '');
    await assert.rejects(new DirectoryWriter(dir).write('SEP0011223344AA.pem', Buffer.from('x')), /SEP0011223344AA\.pem: cannot write/);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith(TEMP_MARKER)), []);
  });
});
