import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseFile, type EncryptedConfig } from '../../src/formats';
import { runCliCaptured } from '../helpers/run-cli';
import { REPO_ROOT, vector } from '../helpers/paths';

/**
 * Issue 10, item 18: the padding count of encrypted configs, at every plaintext size modulo 16, both ways.
 * The independent side (test/interop/independent_enc.py: Python and the openssl command line, no openctl code) pads and cuts as
 * the readers in the field do: `body[:-count]`, so a count of 0 decrypts to nothing.
 */
const INDEPENDENT = path.join(REPO_ROOT, 'test', 'interop', 'independent_enc.py');
const TFTP = vector('certs', 'ccm-tftp.pem');
const DEVICE = vector('certs', 'device-lsc.pem'); // certificate and private key
const SIZES = Array.from({ length: 34 }, (_, i) => i).concat([984, 1024]); // 0..33: every size modulo 16, twice

interface Decrypted {
  file: string;
  plaintext?: string;
  error?: string;
}

function independentDecrypt(files: string[]): Map<string, Decrypted> {
  const out = execFileSync('python3', [INDEPENDENT, 'decrypt', DEVICE, ...files], { encoding: 'utf8' });
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Decrypted);
  return new Map(lines.map((l) => [l.file, l]));
}

function independentEncrypt(files: string[], env: NodeJS.ProcessEnv = {}): void {
  execFileSync('python3', [INDEPENDENT, 'encrypt', TFTP, DEVICE, ...files], { env: { ...process.env, ...env } });
}

describe('interop: encrypted configs at every plaintext size modulo 16 (padding count, issue 10 item 18)', function () {
  this.timeout(120_000);
  let dir: string;
  const plain = new Map<number, string>();

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-encpad-'));
    for (const size of SIZES) {
      const file = path.join(dir, `SEP${String(size).padStart(12, '0')}.cnf.xml`);
      // Random bytes, some of them 0x0D: a reader that strips trailing carriage returns instead of counting fails.
      const bytes = randomBytes(size);
      if (size > 0) bytes[size - 1] = 0x0d;
      fs.writeFileSync(file, bytes);
      plain.set(size, file);
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('openctl encrypt -> the independent reader decrypts every size (count 1..16, never 0)', async () => {
    const outDir = path.join(dir, 'openctl');
    fs.mkdirSync(outDir);
    const encrypted: string[] = [];
    for (const size of SIZES) {
      const r = await runCliCaptured(['encrypt', plain.get(size)!, '--signer', TFTP, '--device-cert', DEVICE, '--out-dir', outDir]);
      assert.equal(r.code, 0, r.stderr);
      encrypted.push(path.join(outDir, `${path.basename(plain.get(size)!)}.enc.sgn`));
    }
    const results = independentDecrypt(encrypted);
    const failures: string[] = [];
    for (const [i, size] of SIZES.entries()) {
      const r = results.get(encrypted[i]!)!;
      if (r.error !== undefined || r.plaintext !== fs.readFileSync(plain.get(size)!).toString('hex')) {
        failures.push(`${size} bytes: ${r.error ?? 'different plaintext'}`);
      }
      const parsed = parseFile(fs.readFileSync(encrypted[i]!)) as EncryptedConfig;
      const count = parsed.header.encryption!.padCount;
      if (count !== 16 - (size % 16)) failures.push(`${size} bytes: padding count ${count}`);
      if (parsed.ciphertext.length !== size + count) failures.push(`${size} bytes: ${parsed.ciphertext.length}-byte body`);
    }
    assert.deepEqual(failures, []);
  });

  it('the independent writer -> openctl decrypt gives back every size', async () => {
    const files = SIZES.map((s) => plain.get(s)!);
    independentEncrypt(files);
    for (const size of SIZES) {
      const enc = `${plain.get(size)}.enc.sgn`;
      const parsed = parseFile(fs.readFileSync(enc)) as EncryptedConfig;
      assert.equal(parsed.header.encryption!.padCount, 16 - (size % 16));
      const verified = await runCliCaptured(['verify', enc, '--cert', TFTP]);
      assert.equal(verified.code, 0, `${size} bytes: ${verified.stdout}${verified.stderr}`);
      const out = path.join(dir, `indep-${size}.out`);
      const r = await runCliCaptured(['decrypt', enc, '--device-key', DEVICE, '--out', out]);
      assert.equal(r.code, 0, `${size} bytes: ${r.stderr}`);
      assert.ok(fs.readFileSync(out).equals(fs.readFileSync(plain.get(size)!)), `${size} bytes: same plaintext`);
    }
  });

  it('old files with a padding count of 0 (whole-block plaintexts) still decrypt with openctl', async () => {
    const aligned = SIZES.filter((s) => s % 16 === 0);
    const oldDir = path.join(dir, 'old');
    fs.mkdirSync(oldDir);
    const files = aligned.map((s) => {
      const copy = path.join(oldDir, path.basename(plain.get(s)!));
      fs.copyFileSync(plain.get(s)!, copy);
      return copy;
    });
    independentEncrypt(files, { OLD_ZERO_COUNT: '1' });
    for (const [i, size] of aligned.entries()) {
      const enc = `${files[i]}.enc.sgn`;
      const parsed = parseFile(fs.readFileSync(enc)) as EncryptedConfig;
      assert.equal(parsed.header.encryption!.padCount, 0, 'the old style: count 0');
      const out = path.join(oldDir, `${size}.out`);
      const r = await runCliCaptured(['decrypt', enc, '--device-key', DEVICE, '--out', out]);
      assert.equal(r.code, 0, `${size} bytes: ${r.stderr}`);
      assert.ok(fs.readFileSync(out).equals(fs.readFileSync(files[i]!)));
    }
    // What the trap looked like: the independent reader cuts [:-0] and finds nothing (for a non-empty config).
    const cut = independentDecrypt(aligned.filter((s) => s > 0).map((s) => path.join(oldDir, `${path.basename(plain.get(s)!)}.enc.sgn`)));
    for (const r of cut.values()) assert.match(r.error ?? '', /mismatched encryption digest \(padding count 0\)/);
  });

  it('a padding count larger than the body, or one that cuts into the config, is refused with one line (exit 2, nothing written)', async () => {
    const enc = `${plain.get(20)}.enc.sgn`; // written by the independent writer above: count 12, 32-byte body
    const bytes = fs.readFileSync(enc);
    const parsed = parseFile(bytes) as EncryptedConfig;
    const ivInfo = parsed.header.elements.find((e) => e.tag === 16)!.children!.find((e) => e.tag === 17)!;
    const countAt = ivInfo.children!.find((e) => e.tag === 20)!.offset + 3;
    for (const [count, pattern] of [
      [33, /padding count 33 exceeds the 32-byte body/],
      [13, /does not match its sha1 digest/],
      [0, /does not match its sha1 digest/],
    ] as const) {
      const damaged = Buffer.from(bytes);
      damaged.writeUInt16BE(count, countAt);
      const file = path.join(dir, `count-${count}.enc.sgn`);
      fs.writeFileSync(file, damaged);
      const r = await runCliCaptured(['decrypt', file, '--device-key', DEVICE, '--out', path.join(dir, `count-${count}.out`)]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(!fs.existsSync(path.join(dir, `count-${count}.out`)), 'nothing written');
    }
  });
});
