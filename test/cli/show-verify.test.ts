import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runCliCaptured, runCliProcess } from '../helpers/run-cli';
import { vector } from '../helpers/paths';

/** The verdicts the vectors' README states, independent of our code. */
const TRUST_LISTS: Array<[string, boolean, 'ctl' | 'itl']> = [
  ['CTLFile-sha1.tlv', true, 'ctl'],
  ['CTLFile-sha512.tlv', true, 'ctl'],
  ['CTLFile-tampered.tlv', false, 'ctl'],
  ['ITLFile-sha1.tlv', true, 'itl'],
  ['ITLFile-v1.1.tlv', true, 'itl'],
  ['cucm-style/CTLFile-cucm-style.tlv', true, 'ctl'],
  ['cucm-style/ITLFile-cucm-style.tlv', true, 'itl'],
];

const SIGNED: string[] = [
  'configs/SEP001122334455.cnf.xml.sgn',
  'configs/SEP0011223344AA.cnf.xml.sgn',
  'configs/Ringlist.xml.sgn',
  'encrypted/SEP001122334455.cnf.xml.sgn',
  'encrypted/SEP001122334455.cnf.xml.enc.sgn',
];

describe('openctl show / verify on the interop vectors', () => {
  for (const [name, valid, kind] of TRUST_LISTS) {
    it(`verify ${name}: ${valid ? 'valid' : 'invalid'}`, async () => {
      const r = await runCliCaptured(['verify', vector(name)]);
      assert.equal(r.code, valid ? 0 : 1, r.stderr);
      assert.match(r.stdout, valid ? /^valid:/ : /^invalid:/);
    });

    it(`show ${name}: CUCM layout, checksums, verdict, exit 0`, async () => {
      const r = await runCliCaptured(['show', vector(name)]);
      assert.equal(r.code, 0, r.stderr);
      const bytes = readFileSync(vector(name));
      assert.ok(r.stdout.includes(`${createHash('md5').update(bytes).digest('hex')}(MD5)`));
      assert.ok(r.stdout.includes(`${createHash('sha1').update(bytes).digest('hex')}(SHA1)`));
      assert.match(r.stdout, /Version: 1\.2/);
      const label = kind.toUpperCase();
      assert.match(r.stdout, new RegExp(`${label} Record #:1`));
      if (valid) {
        assert.ok(r.stdout.includes(`The ${label} file was verified successfully.`));
        assert.equal((r.stdout.match(new RegExp(`This etoken was used to sign the ${label} file\\.`, 'g')) ?? []).length, 1);
      } else {
        assert.match(r.stdout, /signature is INVALID/);
      }
    });
  }

  it('show --json reports the same records as the reference dump of CTLFile-sha1.tlv', async () => {
    const r = await runCliCaptured(['show', '--json', vector('CTLFile-sha1.tlv')]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.kind, 'ctl');
    assert.equal(report.header.headerLength, 480);
    assert.equal(report.header.digest, 'sha1');
    assert.equal(report.header.signer.serial, '9ff7b09849136c18ce71a47bffdd4c7b');
    // Roles and certificate hashes straight from reference/CTLFile-sha1.tlv.txt.
    assert.deepEqual(
      report.records.map((rec: { roleName: string; certificateSha1: string }) => [rec.roleName, rec.certificateSha1]),
      [
        ['SAST', '27122bf325393a6f59e427fc01cdd6e495c70cca'],
        ['SAST', '6629b27e2c2dcb3657a66df812f8b004e8262825'],
        ['CCM+TFTP', '570aa09683000b6fccd1995e31a442fe5a7c4444'],
        ['CCM', '0c3e04279925106fb333bfc5bd71c65f8a9a8bb9'],
        ['CAPF', 'f2e7018aa35c8fd54b9acd5d7387fb960379f32f'],
        ['TVS', '47b9b590a9305c3d3791113282d73bf9b9efd323'],
        ['TFTP', '3528621be1ce8f296bf6db2e2f38348bd2559dfa'],
      ],
    );
    assert.equal(report.verdict.valid, true);
    assert.equal(report.verdict.signerRecord, 1);
  });

  it('show keeps unknown functions and tags of the CUCM-style CTL', async () => {
    const r = await runCliCaptured(['show', '--json', vector('cucm-style/CTLFile-cucm-style.tlv')]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.records.map((x: { role: number }) => x.role), [0, 0, 2, 4, 2, 99]);
    assert.deepEqual(report.records[5].unknownTags, [30]);
    assert.equal(report.records[4].certificateLength, undefined);
    assert.equal(report.records[4].ipv4, '10.0.0.6');
  });

  for (const name of SIGNED) {
    it(`verify ${name} against ccm-tftp.pem: valid; against sast-a.pem: invalid`, async () => {
      const good = await runCliCaptured(['verify', vector(name), '--cert', vector('certs/ccm-tftp.pem')]);
      assert.equal(good.code, 0, good.stderr + good.stdout);
      assert.match(good.stdout, /^valid:/);
      const bad = await runCliCaptured(['verify', vector(name), '--cert', vector('certs/sast-a.pem')]);
      assert.equal(bad.code, 1);
      assert.match(bad.stdout, /^invalid:/);
    });

    it(`verify ${name} against the TFTP-capable records of CTLFile-sha1.tlv: valid`, async () => {
      const r = await runCliCaptured(['verify', '--json', vector(name), '--trust', vector('CTLFile-sha1.tlv')]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const v = JSON.parse(r.stdout);
      assert.equal(v.valid, true);
      assert.equal(v.record.roleName, 'CCM+TFTP');
    });
  }

  it('verify of a signed file with nothing to check against is a usage error (exit 2, one line)', async () => {
    const r = await runCliCaptured(['verify', vector('configs/Ringlist.xml.sgn')]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /--cert CERT or --trust/);
  });

  it('a real process: openctl verify on the tampered CTL exits 1', async () => {
    const r = await runCliProcess(['verify', vector('CTLFile-tampered.tlv')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^invalid:/);
  });

  it('--kind overrides the detection by header filename', async () => {
    const r = await runCliCaptured(['show', '--json', '--kind', 'itl', vector('CTLFile-sha1.tlv')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).kind, 'itl');
  });
});
