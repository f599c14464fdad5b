import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseFile, serializeFile, type SignedFile } from '../../src/formats';
import { verifySignature } from '../../src/crypto/verify';
import { FormatError } from '../../src/util/errors';
import { runCliCaptured } from '../helpers/run-cli';
import { FIXTURES, REPO_ROOT, vector } from '../helpers/paths';
import { readVector, vectorCert } from './support/fixtures';

/**
 * Issue 10, item 17: the firmware containers phones fetch over TFTP (`.loads`, `.sbn`, `.zz.sgn`) are signed files
 * with header version 1.1 and no timestamp. The fixtures are written by an independent writer
 * (test/interop/independent_sgn.py: Python and the openssl command line; see test/fixtures/own/firmware/make.sh), never by openctl.
 */
const DIR = path.join(FIXTURES, 'own', 'firmware');
const WRITER = path.join(REPO_ROOT, 'test', 'interop', 'independent_sgn.py');
const CHECKER = path.join(REPO_ROOT, 'test', 'interop', 'independent_check.py');
const EXPECTED = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Record<string, { headerLength: number; bodySha1: string; signatureOffset: number }>;
const SIGNER: Record<string, string> = {
  'SCCP45.9-4-2SR3-1S.loads': 'ccm-tftp.pem',
  'cvm45sccp.9-4-2SR3-1S.sbn': 'tftp-4096.pem',
  'jar45sccp.9-4-2SR3-1S.zz.sgn': 'ccm.pem',
};
const FILES = Object.keys(SIGNER);
const fixture = (name: string) => path.join(DIR, name);
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

/** Parse, and insist that a failure is a FormatError (exit 2), never anything else. */
function outcome(bytes: Buffer): SignedFile | FormatError {
  try {
    const parsed = parseFile(bytes, { file: 'fw.sbn' });
    assert.equal(parsed.kind, 'signed');
    return parsed as SignedFile;
  } catch (err) {
    assert.ok(err instanceof FormatError, `expected a FormatError, got ${String(err)}`);
    return err;
  }
}

describe('formats: firmware containers (header 1.1, no timestamp; issue 10 item 17)', () => {
  for (const name of FILES) {
    it(`${name}: parses as a signed firmware container with the independent writer's header and body`, () => {
      const bytes = fs.readFileSync(fixture(name));
      const parsed = parseFile(bytes, { file: name }) as SignedFile;
      assert.equal(parsed.kind, 'signed');
      assert.equal(parsed.firmware, true);
      assert.deepEqual(parsed.header.version, { major: 1, minor: 1 });
      assert.equal(parsed.header.timestamp, undefined);
      assert.equal(parsed.header.filename, name);
      assert.equal(parsed.header.headerLength, EXPECTED[name]!.headerLength);
      assert.equal(parsed.header.signatureElement.offset, EXPECTED[name]!.signatureOffset);
      assert.equal(sha1(parsed.body), EXPECTED[name]!.bodySha1);
      assert.ok(verifySignature(parsed, vectorCert(SIGNER[name]!)), 'verifies with its signer');
      assert.ok(!verifySignature(parsed, vectorCert('sast-a.pem')), 'not with another key');
      assert.ok(serializeFile(parsed).equals(bytes), 'round trip byte for byte');
      // The independent reader and openssl agree that the fixture is whole and signed.
      assert.match(execFileSync('python3', [CHECKER, fixture(name), vector('certs', SIGNER[name]!)], { encoding: 'utf8' }), /version \(1, 1\).*Verified OK/);
    });
  }

  it('signed configs (1.0), trust lists (1.2) and encrypted configs (2.0) still need their timestamp', () => {
    for (const file of ['configs/Ringlist.xml.sgn', 'CTLFile-sha1.tlv', 'encrypted/SEP001122334455.cnf.xml.enc.sgn']) {
      const bytes = readVector(file);
      const parsed = parseFile(bytes);
      const ts = parsed.header.elements.find((e) => e.tag === 15)!;
      // Turn the timestamp into an unknown tag 99 of the same size: the file stays whole, only tag 15 is gone.
      const without = Buffer.from(bytes);
      without[ts.offset] = 99;
      const result = outcome(without);
      assert.ok(result instanceof FormatError, file);
      assert.match(result.problem, /missing timestamp \(tag 15\)/, file);
    }
  });

  it('a 1.1 header that does carry a timestamp keeps it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-fw-'));
    try {
      const body = path.join(dir, 'body');
      fs.writeFileSync(body, randomBytes(1000));
      execFileSync('python3', [WRITER, vector('certs', 'ccm-tftp.pem'), body, path.join(dir, 'dsp45.sbn'), '--timestamp', '1700000000']);
      const parsed = parseFile(fs.readFileSync(path.join(dir, 'dsp45.sbn'))) as SignedFile;
      assert.equal(parsed.firmware, true);
      assert.equal(parsed.header.timestamp, 1700000000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every single-byte change of the .loads fixture: a FormatError, or a file whose signature fails', () => {
    const bytes = fs.readFileSync(fixture('SCCP45.9-4-2SR3-1S.loads'));
    const cert = vectorCert('ccm-tftp.pem');
    const signature = EXPECTED['SCCP45.9-4-2SR3-1S.loads']!;
    let malformed = 0;
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const copy = Buffer.from(bytes);
        copy[i]! ^= mask;
        const result = outcome(copy);
        if (result instanceof FormatError) {
          malformed++;
          continue;
        }
        // Padding bytes (tag 13) are signed too, so every change that still parses must break the signature.
        assert.equal(verifySignature(result, cert), false, `byte ${i} ^ ${mask} (signature at ${signature.signatureOffset}) still verifies`);
      }
    }
    assert.ok(malformed > 0 && malformed < bytes.length * 3);
  });

  it('every truncation of the .sbn fixture: a FormatError in the header, a failing signature in the body', () => {
    const bytes = fs.readFileSync(fixture('cvm45sccp.9-4-2SR3-1S.sbn'));
    const cert = vectorCert('tftp-4096.pem');
    const headerLength = EXPECTED['cvm45sccp.9-4-2SR3-1S.sbn']!.headerLength;
    for (let n = 0; n < bytes.length; n += n < headerLength + 8 ? 1 : 97) {
      const result = outcome(bytes.subarray(0, n));
      if (n < headerLength) assert.ok(result instanceof FormatError, `cut at ${n}`);
      else {
        assert.ok(!(result instanceof FormatError), `cut at ${n}: ${String(result)}`);
        assert.equal(verifySignature(result, cert), false, `cut at ${n}`);
      }
    }
  });
});

describe('cli: show and verify read firmware containers (issue 10 item 17)', () => {
  for (const name of FILES) {
    it(`show ${name}: exit 0, labelled, no TIMESTAMP row; --cert checks the signature`, async () => {
      const r = await runCliCaptured(['show', fixture(name)]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\(signed firmware container, no timestamp\)/);
      assert.match(r.stdout, /^Version: 1\.1$/m);
      assert.doesNotMatch(r.stdout, /TIMESTAMP/);
      assert.match(r.stdout, /Signature not checked/);
      const checked = await runCliCaptured(['show', fixture(name), '--cert', vector('certs', SIGNER[name]!)]);
      assert.equal(checked.code, 0, checked.stderr);
      assert.match(checked.stdout, /The file was verified successfully\./);
      const json = JSON.parse((await runCliCaptured(['show', fixture(name), '--json'])).stdout) as Record<string, unknown> & { header: Record<string, unknown> };
      assert.equal(json.kind, 'signed');
      assert.equal(json.firmware, true);
      assert.equal(json.header.version, '1.1');
      assert.ok(!('timestamp' in json.header) && !('timestampIso' in json.header), 'no timestamp in the JSON');
    });

    it(`verify ${name} --cert: valid with its signer (exit 0), invalid with another (exit 1)`, async () => {
      const ok = await runCliCaptured(['verify', fixture(name), '--cert', vector('certs', SIGNER[name]!), '--json']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((JSON.parse(ok.stdout) as { valid: boolean }).valid, true);
      const bad = await runCliCaptured(['verify', fixture(name), '--cert', vector('certs', 'sast-b.pem')]);
      assert.equal(bad.code, 1, bad.stderr);
      assert.match(bad.stdout, /^invalid: /);
    });
  }

  it('damaged firmware containers never give exit 70: bit flips and truncations give exit 1 or 2 with one line', async function () {
    this.timeout(60_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-fw-cli-'));
    try {
      const bytes = fs.readFileSync(fixture('jar45sccp.9-4-2SR3-1S.zz.sgn'));
      const cert = vector('certs', 'ccm.pem');
      const cases: Array<[string, Buffer]> = [];
      for (let i = 0; i < bytes.length; i += 7) {
        const copy = Buffer.from(bytes);
        copy[i]! ^= 0x10;
        cases.push([`flip-${i}`, copy]);
      }
      for (const n of [0, 1, 3, 5, 9, 40, 147, 150, 200, 420, 443, 444, 500]) cases.push([`cut-${n}`, bytes.subarray(0, n)]);
      const codes = new Map<number, number>();
      for (const [label, content] of cases) {
        const file = path.join(dir, `${label}.zz.sgn`);
        fs.writeFileSync(file, content);
        for (const args of [['show', file], ['verify', file, '--cert', cert]]) {
          const r = await runCliCaptured(args);
          codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
          assert.ok([0, 1, 2].includes(r.code), `${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
          if (args[0] === 'verify') assert.notEqual(r.code, 0, `${label}: a damaged file must not verify`);
          if (r.code === 2) assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        }
      }
      assert.ok(codes.get(1)! > 0 && codes.get(2)! > 0, JSON.stringify([...codes]));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('preflight gives firmware no CTL/ITL verdict: left out of a --deploy folder, refused by name (exit 2)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-fw-pf-'));
    try {
      fs.copyFileSync(fixture('jar45sccp.9-4-2SR3-1S.zz.sgn'), path.join(dir, 'jar45sccp.9-4-2SR3-1S.zz.sgn'));
      fs.copyFileSync(vector('configs', 'SEP001122334455.cnf.xml.sgn'), path.join(dir, 'SEP001122334455.cnf.xml.sgn'));
      const folder = await runCliCaptured(['preflight', '--phone-has', vector('CTLFile-sha1.tlv'), '--deploy', dir, '--json']);
      assert.equal(folder.code, 0, folder.stdout + folder.stderr);
      const names = (JSON.parse(folder.stdout) as { files: Array<{ name: string; verdict: string }> }).files.map((f) => [f.name, f.verdict]);
      assert.deepEqual(names, [['SEP001122334455.cnf.xml.sgn', 'accepted']]);
      const named = await runCliCaptured(['preflight', '--phone-has', vector('CTLFile-sha1.tlv'), '--deploy', path.join(dir, 'jar45sccp.9-4-2SR3-1S.zz.sgn')]);
      assert.equal(named.code, 2);
      assert.match(named.stderr, /jar45sccp\.9-4-2SR3-1S\.zz\.sgn: a signed firmware container \(header 1\.1\): phones check firmware with Cisco's image-signing key/);
      assert.equal(named.stderr.trim().split('\n').length, 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a fresh container from the independent writer (random body, SHA-256) shows and verifies', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-fw-'));
    try {
      const body = path.join(dir, 'body');
      fs.writeFileSync(body, randomBytes(40_000));
      const out = path.join(dir, 'term45.default.loads');
      execFileSync('python3', [WRITER, vector('certs', 'sast-a.pem'), body, out, '--digest', 'sha256', '--dn', 'comma']);
      const shown = await runCliCaptured(['show', out, '--json']);
      assert.equal(shown.code, 0, shown.stderr);
      const report = JSON.parse(shown.stdout) as { firmware: boolean; header: { digest: string }; body: { sha1: string } };
      assert.equal(report.firmware, true);
      assert.equal(report.header.digest, 'sha256');
      assert.equal(report.body.sha1, sha1(fs.readFileSync(body)));
      const verified = await runCliCaptured(['verify', out, '--cert', vector('certs', 'sast-a.pem')]);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
