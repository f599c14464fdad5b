import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliCaptured, runCliProcess, type CliResult } from '../helpers/run-cli';
import { vector } from '../helpers/paths';

/** One clear line naming the file, the byte offset and the problem: `openctl: FILE: at byte N: ...`. */
function assertStructuralError(r: CliResult, file: string): void {
  assert.equal(r.code, 2, `expected exit 2, got ${r.code}: ${r.stderr}${r.stdout}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.ok(lines[0].startsWith(`openctl: ${file}: at byte `), lines[0]);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

describe('negative corpus through the CLI entry (exit 2 with one line, or exit 1 when only the signature fails)', function () {
  this.timeout(300_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-neg-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function write(name: string, bytes: Uint8Array): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  }

  for (const name of ['CTLFile-sha1.tlv', 'ITLFile-v1.1.tlv', 'configs/Ringlist.xml.sgn', 'encrypted/SEP001122334455.cnf.xml.enc.sgn']) {
    it(`truncating ${name} at every offset never crashes, hangs or prints a stack`, async () => {
      const bytes = fs.readFileSync(vector(name));
      const file = path.join(dir, `cut-${path.basename(name)}`);
      const seen = { 1: 0, 2: 0 } as Record<number, number>;
      const certArgs = name.endsWith('.tlv') ? [] : ['--cert', vector('certs/ccm-tftp.pem')];
      for (let cut = 0; cut < bytes.length; cut += 1) {
        fs.writeFileSync(file, bytes.subarray(0, cut));
        const r = await runCliCaptured(['verify', file, ...certArgs]);
        if (r.code === 2) assertStructuralError(r, file);
        else {
          // Only a whole structure may reach the signature check: a cut at a record boundary (or in a body).
          assert.equal(r.code, 1, `cut at ${cut}: ${r.stderr}${r.stdout}`);
          assert.match(r.stdout, /^invalid:/);
        }
        seen[r.code] += 1;
      }
      assert.ok(seen[2] > 0);
      if (name.endsWith('.tlv')) assert.ok(seen[1] >= 1, 'cuts at record boundaries parse and fail the signature');
    });
  }

  it('a length past the end names the offset', async () => {
    const bytes = Buffer.from(fs.readFileSync(vector('CTLFile-sha1.tlv')));
    bytes.writeUInt16BE(0xffff, 480 + 3); // first record's length element value
    const file = write('overrun-record.tlv', bytes);
    assertStructuralError(await runCliCaptured(['show', file]), file);
  });

  it('a header length past the file', async () => {
    const bytes = Buffer.from(fs.readFileSync(vector('configs/Ringlist.xml.sgn')));
    bytes.writeUInt16BE(0xfff0, 8);
    const file = write('hl.sgn', bytes);
    assertStructuralError(await runCliCaptured(['show', file]), file);
  });

  it('a container overrunning its parent (signer info longer than the header)', async () => {
    const bytes = Buffer.from(fs.readFileSync(vector('CTLFile-sha1.tlv')));
    bytes.writeUInt16BE(0x0400, 16); // tag 3 at offset 15: its length
    const file = write('container.tlv', bytes);
    assertStructuralError(await runCliCaptured(['show', file]), file);
  });

  it('zero lengths where a value is required', async () => {
    const bytes = Buffer.from(fs.readFileSync(vector('CTLFile-sha1.tlv')));
    bytes.writeUInt16BE(0, 480 + 3); // record length 0 would loop forever in a naive parser
    const file = write('zero.tlv', bytes);
    assertStructuralError(await runCliCaptured(['show', file]), file);
  });

  it('a 64 KiB element claimed inside a small file', async () => {
    const bytes = Buffer.concat([Buffer.from([1, 0xff, 0xff]), Buffer.alloc(100)]);
    const file = write('big-element.tlv', bytes);
    assertStructuralError(await runCliCaptured(['show', file]), file);
  });

  it('an empty file', async () => {
    const file = write('empty.tlv', Buffer.alloc(0));
    assertStructuralError(await runCliCaptured(['show', file]), file);
  });

  it('a PEM where a TLV is expected', async () => {
    const file = write('cert.tlv', fs.readFileSync(vector('certs/sast-a.pem')));
    assertStructuralError(await runCliCaptured(['show', file]), file);
  });

  it('a random 50 MB file fails fast with one line', async () => {
    const file = write('random.bin', randomBytes(50 * 1024 * 1024));
    const r = await runCliCaptured(['verify', file]);
    assertStructuralError(r, file);
  });

  it('a missing file and a folder are one line each, exit 2', async () => {
    for (const target of [path.join(dir, 'nope.tlv'), dir]) {
      const r = await runCliCaptured(['show', target]);
      assert.equal(r.code, 2);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.ok(r.stderr.includes(target));
    }
  });

  it('real processes: a sample of bad inputs exit 2 with one line and no stack', async () => {
    const bytes = fs.readFileSync(vector('CTLFile-sha1.tlv'));
    for (const cut of [0, 1, 7, 100, 479, 481, 5000]) {
      const file = write(`proc-${cut}.tlv`, bytes.subarray(0, cut));
      const r = await runCliProcess(['show', file]);
      assertStructuralError(r, file);
    }
    const usage = await runCliProcess(['show']);
    assert.equal(usage.code, 2);
    const unknown = await runCliProcess(['frobnicate']);
    assert.equal(unknown.code, 2);
  });
});
