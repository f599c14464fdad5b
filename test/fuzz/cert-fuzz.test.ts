import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliCaptured, type CliResult } from '../helpers/run-cli';
import { vector } from '../helpers/paths';
import { certificateRanges, mutateCertificate, rng } from './cert-mutations';

/** Fixed: the same mutations every run (a failure names its seed and index to replay). */
const SEED = 0x0c71_2026;
const PER_FILE = 150;

describe('fuzz: mutated certificates inside trust lists never make show, verify, preflight or diff crash', function () {
  this.timeout(600_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-certfuzz-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function assertOneOf(r: CliResult, allowed: number[], what: string): void {
    assert.ok(allowed.includes(r.code), `${what}: exit ${r.code} (allowed ${allowed.join('/')}): ${r.stderr}${r.stdout.slice(0, 200)}`);
    assert.doesNotMatch(r.stderr, /internal error/, what);
    if (r.code !== 0) {
      const lines = r.stderr.trimEnd().split('\n').filter((l) => l.startsWith('openctl: '));
      assert.ok(r.code === 1 || lines.length === 1, `${what}: one error line expected:\n${r.stderr}`);
    }
  }

  it('a flipped bit in a validity date is an invalid certificate (exit 1), not "internal error: Invalid time value"', async () => {
    const original = fs.readFileSync(vector('CTLFile-sha1.tlv'));
    const [first] = certificateRanges(original);
    assert.ok(first.timeDigits.length >= 26, 'found both validity times');
    const bytes = Buffer.from(original);
    bytes[first.timeDigits[13]] ^= 0x40; // notAfter's first year digit: '2' -> 'r'
    const file = path.join(dir, 'bad-year.tlv');
    fs.writeFileSync(file, bytes);
    for (const args of [['verify', file], ['preflight', '--deploy', file], ['diff', vector('CTLFile-sha1.tlv'), file]]) {
      const r = await runCliCaptured(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}${r.stdout}`);
      assert.doesNotMatch(r.stderr, /internal error/);
    }
  });

  for (const name of ['CTLFile-sha1.tlv', 'CTLFile-sha512.tlv', 'ITLFile-sha1.tlv', 'ITLFile-v1.1.tlv']) {
    it(`${PER_FILE} certificate mutations of ${name} (seed ${SEED}): show exits 0/2, verify, preflight and diff 1/2, one line`, async () => {
      const original = fs.readFileSync(vector(name));
      const ranges = certificateRanges(original);
      assert.ok(ranges.length > 0, 'the vector holds certificates');
      const rand = rng(SEED ^ original.length);
      const file = path.join(dir, `mutated-${name}`);
      const outcomes = new Map<string, number>();
      for (let i = 0; i < PER_FILE; i += 1) {
        const mutated = mutateCertificate(original, ranges, rand);
        if (mutated.equals(original)) continue;
        fs.writeFileSync(file, mutated);
        const where = `${name} mutation ${i}`;
        const runs: Array<[string[], number[]]> = [
          [['show', file], [0, 2]],
          [['show', file, '--json'], [0, 2]],
          [['verify', file], [1, 2]],
          [['preflight', '--deploy', file], [1, 2]],
          [['preflight', '--phone-has', vector(name), '--deploy', file], [1, 2]],
          [['diff', vector(name), file], [0, 1, 2]],
        ];
        for (const [args, allowed] of runs) {
          const r = await runCliCaptured(args);
          assertOneOf(r, allowed, `${where}: ${args.join(' ')}`);
          const key = `${args[0]}:${r.code}`;
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        }
      }
      // The mutations reach the certificate checks: verify rejects them (a changed byte breaks the signature).
      assert.ok((outcomes.get('verify:1') ?? 0) + (outcomes.get('verify:2') ?? 0) > PER_FILE / 2, JSON.stringify([...outcomes]));
    });
  }

  it('a flipped bit in the certificate of a SIGNER PEM: batch sign and sign exit 0 or 2 with one line, never 70', async () => {
    const text = fs.readFileSync(vector('certs', 'ccm-tftp.pem'), 'utf8');
    const block = /-----BEGIN CERTIFICATE-----\n([\s\S]+?)-----END CERTIFICATE-----/.exec(text);
    assert.ok(block, 'the vector bundles its certificate');
    const der = Buffer.from(block[1].replace(/\s/g, ''), 'base64');
    const src = path.join(dir, 'signer-src');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'Ringlist.xml'), '<CiscoIPPhoneRingList/>\n');
    const signer = path.join(dir, 'mutated-signer.pem');
    const exits = new Map<number, number>();
    for (let i = 0; i < 30; i += 1) {
      const mutated = Buffer.from(der);
      const bit = (i * 7919 + 13) % (mutated.length * 8);
      mutated[bit >> 3] ^= 1 << (bit & 7);
      fs.writeFileSync(signer, text.replace(block[1], `${mutated.toString('base64').replace(/.{64}/g, '$&\n')}\n`));
      const out = path.join(dir, `signer-out-${i}`);
      for (const args of [['batch', 'sign', src, '--out', out, '--signer', signer], ['sign', path.join(src, 'Ringlist.xml'), '--signer', signer, '--out-dir', `${out}-one`]]) {
        fs.mkdirSync(`${out}-one`, { recursive: true });
        const r = await runCliCaptured(args);
        assertOneOf(r, [0, 2], `${args[0]} ${args[1]}, bit ${bit}`);
        exits.set(r.code, (exits.get(r.code) ?? 0) + 1);
      }
    }
    // Some flips land where OpenSSL no longer reads the certificate: those must be the one-line refusals.
    assert.ok((exits.get(2) ?? 0) > 0, JSON.stringify([...exits]));
  });
});
