import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writePhoneConfigs } from '../../bench/configs';
import { readCertificates } from '../../src/crypto/certificate';
import { loadPemSigner } from '../../src/crypto/pem-signer';
import { buildSignedFile, decryptConfig, parseFile } from '../../src/formats';
import type { EncryptedConfig } from '../../src/formats/model';
import { readManifestEntries, readManifestHeader, statePaths, type AuditRecord, type BatchSummary } from '../../src/pipeline';
import { SignedFileTemplate } from '../../src/pipeline/signed-template';
import { runCliCaptured } from '../helpers/run-cli';
import { vector } from '../helpers/paths';
import { certPemOf, listFiles, openctlVerifies, opensslVerifies, rawHeader, readJsonLines, tempDir, tempFiles } from './support';

const SIGNER = vector('certs', 'ccm-tftp.pem');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function batch(args: string[]): Promise<{ code: number; summary: BatchSummary; stderr: string }> {
  const r = await runCliCaptured(['batch', 'sign', ...args, '--json']);
  let summary: BatchSummary;
  try {
    summary = JSON.parse(r.stdout) as BatchSummary;
  } catch {
    throw new Error(`no JSON summary (exit ${r.code}): ${r.stderr}`);
  }
  return { code: r.code, summary, stderr: r.stderr };
}

async function collect<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of gen) items.push(item);
  return items;
}

describe('batch sign with a PEM key', function () {
  this.timeout(120_000);
  let dir: string;
  let src: string;
  let out: string;
  beforeEach(() => {
    dir = tempDir('batch');
    src = path.join(dir, 'src');
    out = path.join(dir, 'out');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('signs a few hundred files; every output verifies (openctl verify and openssl), manifest and audit list them all', async () => {
    const names = writePhoneConfigs(src, 300, { perFolder: 120 });
    fs.writeFileSync(path.join(src, 'Ringlist.xml'), '<CiscoIPPhoneRingList><Ring><DisplayName>Chirp</DisplayName><FileName>chirp.raw</FileName></Ring></CiscoIPPhoneRingList>\n');
    fs.writeFileSync(path.join(src, 'chirp.raw'), Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 37) & 0xff)));
    fs.writeFileSync(path.join(src, 'already.xml.sgn'), 'a signed file is never signed again');
    names.push('Ringlist.xml', 'chirp.raw');

    const { code, summary } = await batch([src, '--out', out, '--signer', SIGNER, '--timestamp', '1764288000']);
    assert.equal(code, 0);
    assert.equal(summary.signed, names.length);
    assert.equal(summary.failed, 0);
    assert.equal(summary.complete, true);
    assert.deepEqual(listFiles(out), names.map((n) => `${n}.sgn`).sort());

    const certPem = certPemOf(SIGNER);
    const scratch = path.join(dir, 'scratch');
    fs.mkdirSync(scratch);
    const bySource = new Map((await collect(readManifestEntries(statePaths(out).manifest))).map((e) => [e.source, e]));
    const audit = readJsonLines<AuditRecord>(statePaths(out).audit);
    const auditByFile = new Map(audit.map((a) => [a.file, a]));
    assert.equal(audit.length, names.length, 'one audit line per signature');
    const fingerprint = sha256(readCertificates(fs.readFileSync(SIGNER))[0]);
    for (const name of names) {
      const output = path.join(out, `${name}.sgn`);
      const bytes = fs.readFileSync(output);
      const source = fs.readFileSync(path.join(src, name));
      assert.ok(await openctlVerifies(output, SIGNER), `openctl verify ${name}.sgn`);
      assert.ok(opensslVerifies(bytes, certPem, scratch), `openssl verifies ${name}.sgn`);
      const raw = rawHeader(bytes);
      assert.ok(raw.body.equals(source), `${name}: the body is the source`);
      assert.equal(raw.filename, path.basename(output));
      assert.equal(raw.hash, 'sha1');
      const entry = bySource.get(name);
      assert.ok(entry, `manifest lists ${name}`);
      assert.equal(entry.sourceSha256, sha256(source));
      assert.equal(entry.signer, fingerprint);
      assert.deepEqual(entry.outputs.map((o) => [o.file, o.sha256, o.size]), [[`${name}.sgn`, sha256(bytes), bytes.length]]);
      const line = auditByFile.get(`${name}.sgn`);
      assert.ok(line, `audit lists ${name}.sgn`);
      assert.equal(line.signer, fingerprint);
      assert.equal(line.digest, createHash('sha1').update(raw.signed).digest('hex'), 'the audited digest is what was signed');
      assert.equal(line.token, undefined);
    }
    assert.equal(bySource.size, names.length);
    assert.deepEqual(tempFiles(out), []);
    assert.ok(!fs.existsSync(statePaths(out).journal), 'a finished job leaves no journal');
    const header = await readManifestHeader(statePaths(out).manifest);
    assert.equal(header?.digest, 'sha1');
    assert.deepEqual(header?.failures, []);
  });

  it('lists bad files (empty, not XML, name collision, unwritable output) and signs the good ones: exit 1', async () => {
    writePhoneConfigs(src, 20, { min: 2000, max: 4000 });
    fs.writeFileSync(path.join(src, 'empty.xml'), '');
    fs.writeFileSync(path.join(src, 'notes.cnf.xml'), 'this is not a config\n');
    fs.writeFileSync(path.join(src, 'binary.xml'), Buffer.from('<device>\0\0\0</device>'));
    fs.writeFileSync(path.join(src, 'Dial.xml'), '<dialTemplate/>');
    fs.writeFileSync(path.join(src, 'dial.xml'), '<dialTemplate/>');
    fs.writeFileSync(path.join(src, 'blocked.xml'), '<x/>');
    fs.mkdirSync(path.join(out, 'blocked.xml.sgn'), { recursive: true });

    // OUT_DIR already holds the folder in the way: --force to sign into it (the folder still blocks that one file).
    const { code, summary } = await batch([src, '--out', out, '--signer', SIGNER, '--force']);
    assert.equal(code, 1);
    assert.equal(summary.signed, 21, 'the 20 configs and one of Dial.xml/dial.xml');
    const problems = new Map(summary.failures.map((f) => [f.source, f.problem]));
    assert.match(problems.get('empty.xml') ?? '', /empty file/);
    assert.match(problems.get('notes.cnf.xml') ?? '', /not XML/);
    assert.match(problems.get('binary.xml') ?? '', /not XML/);
    assert.match(problems.get('blocked.xml') ?? '', /blocked\.xml\.sgn.*(is a folder|cannot write)/);
    const collided = ['Dial.xml', 'dial.xml'].filter((n) => problems.has(n));
    assert.equal(collided.length, 1, 'one of the two names that differ only by case');
    assert.match(problems.get(collided[0]) ?? '', /name collision/);
    assert.equal(summary.failures.length, 5);
    for (const f of summary.failures) assert.ok(!f.problem.includes('\n'), 'one line per problem');

    for (const name of listFiles(out, (r) => r.endsWith('.sgn'))) {
      assert.ok(await openctlVerifies(path.join(out, name), SIGNER), name);
    }
    for (const bad of ['empty.xml', 'notes.cnf.xml', 'binary.xml']) assert.ok(!fs.existsSync(path.join(out, `${bad}.sgn`)));
    assert.ok(fs.statSync(path.join(out, 'blocked.xml.sgn')).isDirectory(), 'the folder in the way is left alone');
    assert.deepEqual(tempFiles(out), []);
    const header = await readManifestHeader(statePaths(out).manifest);
    assert.deepEqual(new Set(header?.failures.map((f) => f.source)), new Set(problems.keys()));
  });

  it('disk full: files that do not fit are listed (or the batch stops, resumable), what was written verifies', async function () {
    // A real full file system: a small tmpfs (needs root; skipped elsewhere).
    const mount = path.join(dir, 'small');
    fs.mkdirSync(mount);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=320k', 'tmpfs', mount], { stdio: 'ignore' });
    } catch {
      this.skip();
    }
    try {
      writePhoneConfigs(src, 60, { min: 8 * 1024, max: 9 * 1024 });
      const small = path.join(mount, 'out');
      const r = await runCliCaptured(['batch', 'sign', src, '--out', small, '--signer', SIGNER, '--json']);
      assert.equal(r.code, 1, r.stderr);
      const summary = JSON.parse(r.stdout) as BatchSummary;
      const full = summary.failures.filter((f) => /disk full/.test(f.problem));
      assert.ok(full.length > 0 || /disk full/.test(summary.stopped ?? ''), `disk full reported: ${JSON.stringify(summary).slice(0, 400)}`);
      for (const f of summary.failures) assert.ok(!f.problem.includes('\n'));
      const written = listFiles(small, (n) => n.endsWith('.sgn'));
      assert.ok(written.length > 0 && written.length < 60);
      for (const n of written) assert.ok(await openctlVerifies(path.join(small, n), SIGNER), `${n} is whole`);
      assert.deepEqual(tempFiles(small), [], 'no temp file left on the full disk');
    } finally {
      execFileSync('umount', [mount], { stdio: 'ignore' });
    }
  });

  it('encrypts the configs of phones with a certificate (by name or by CN); they decrypt to their source', async () => {
    fs.mkdirSync(src, { recursive: true });
    const plain = fs.readFileSync(vector('configs', 'SEP001122334455.cnf.xml'));
    fs.writeFileSync(path.join(src, 'SEP001122334455.cnf.xml'), plain);
    writePhoneConfigs(src, 3, { base: 0x0011_2233_44a0, min: 3000, max: 5000 });
    const certs = path.join(dir, 'phones');
    fs.mkdirSync(certs);
    const deviceCertPem = certPemOf(vector('certs', 'device-lsc.pem'));
    fs.writeFileSync(path.join(certs, 'lsc-of-desk-phone.pem'), deviceCertPem); // CN=CP-8845-SEP001122334455
    fs.writeFileSync(path.join(certs, 'SEP0011223344A1.pem'), deviceCertPem); // by name

    const { code, summary } = await batch([src, '--out', out, '--signer', SIGNER, '--encrypt-with', certs, '--digest', 'sha512']);
    assert.equal(code, 0, JSON.stringify(summary.failures));
    const files = listFiles(out);
    assert.ok(files.includes('SEP001122334455.cnf.xml.enc.sgn'));
    assert.ok(files.includes('SEP0011223344A1.cnf.xml.enc.sgn'));
    assert.ok(!files.includes('SEP0011223344A0.cnf.xml.enc.sgn'), 'no certificate: not encrypted');
    assert.equal(files.length, 6);

    const deviceKey = createPrivateKey(fs.readFileSync(vector('certs', 'device-lsc.pem')));
    const deviceDer = readCertificates(Buffer.from(deviceCertPem))[0];
    for (const name of ['SEP001122334455.cnf.xml', 'SEP0011223344A1.cnf.xml']) {
      const enc = path.join(out, `${name}.enc.sgn`);
      const parsed = parseFile(fs.readFileSync(enc), { file: enc });
      assert.equal(parsed.kind, 'encrypted');
      assert.equal(parsed.header.hash, 'sha512');
      assert.ok(decryptConfig(parsed as EncryptedConfig, deviceKey).equals(fs.readFileSync(path.join(src, name))), `${name} decrypts to its source`);
      assert.ok(await openctlVerifies(enc, SIGNER));
      const stub = path.join(out, `${name}.sgn`);
      assert.ok(await openctlVerifies(stub, SIGNER));
      const stubXml = rawHeader(fs.readFileSync(stub)).body.toString('utf8');
      assert.match(stubXml, new RegExp(`<certHash>${createHash('md5').update(deviceDer).digest('hex')}</certHash>`));
      assert.match(stubXml, /<encrConfig>true<\/encrConfig>/);
      assert.ok(!stubXml.includes('<sipLines>'), 'the stub does not carry the config');
    }
    const manifest = await collect(readManifestEntries(statePaths(out).manifest));
    const encrypted = manifest.find((e) => e.source === 'SEP001122334455.cnf.xml');
    assert.deepEqual(encrypted?.outputs.map((o) => o.kind), ['encrypted', 'stub']);
    assert.equal(encrypted?.deviceCertSha256, sha256(deviceDer));
  });

  it('--trust: refuses a signer that is not a TFTP-capable record (exit 1, nothing written), accepts one that is', async () => {
    writePhoneConfigs(src, 5, { min: 1000, max: 2000 });
    const ctl = vector('CTLFile-sha1.tlv');
    const refused = await runCliCaptured(['batch', 'sign', src, '--out', out, '--signer', vector('certs', 'ccm.pem'), '--trust', ctl]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not a TFTP-capable record.*CTLFile-sha1\.tlv.*would reject/);
    assert.equal(refused.stderr.trim().split('\n').length, 1, 'one line');
    assert.deepEqual(fs.existsSync(out) ? listFiles(out) : [], []);

    const accepted = await batch([src, '--out', out, '--signer', SIGNER, '--trust', ctl, '--trust', vector('ITLFile-sha1.tlv')]);
    assert.equal(accepted.code, 0);
    assert.equal(accepted.summary.signed, 5);
  });

  it('--incremental signs again only changed and new sources, keeps the rest byte for byte; --prune removes orphans', async () => {
    const names = writePhoneConfigs(src, 40, { min: 2000, max: 6000 });
    const first = await batch([src, '--out', out, '--signer', SIGNER]);
    assert.equal(first.code, 0);
    const before = new Map(names.map((n) => [n, fs.statSync(path.join(out, `${n}.sgn`), { bigint: true })]));

    const changed = names.slice(0, 3);
    for (const n of changed) fs.appendFileSync(path.join(src, n), '<!-- edited -->\n');
    const removed = names.slice(3, 5);
    for (const n of removed) fs.rmSync(path.join(src, n));
    const added = writePhoneConfigs(path.join(src, 'new'), 2, { base: 0x00aa_0000_0000, min: 2000, max: 3000 }).map((n) => `new/${n}`);
    const tampered = names[10];
    const tamperedOut = path.join(out, `${tampered}.sgn`);
    fs.writeFileSync(tamperedOut, Buffer.concat([fs.readFileSync(tamperedOut), Buffer.from(' ')]));

    const second = await batch([src, '--out', out, '--signer', SIGNER, '--incremental', '--prune']);
    assert.equal(second.code, 0);
    assert.equal(second.summary.signed, changed.length + added.length + 1, 'changed, new, and the output that no longer matched');
    assert.equal(second.summary.kept, names.length - changed.length - removed.length - 1);
    assert.equal(second.summary.pruned, removed.length);
    for (const n of removed) assert.ok(!fs.existsSync(path.join(out, `${n}.sgn`)), `${n}.sgn pruned`);
    for (const n of names.slice(11)) {
      const now = fs.statSync(path.join(out, `${n}.sgn`), { bigint: true });
      assert.equal(now.ino, before.get(n)?.ino, `${n}.sgn not rewritten`);
      assert.equal(now.mtimeNs, before.get(n)?.mtimeNs);
    }
    for (const n of [...changed, ...added, tampered]) assert.ok(await openctlVerifies(path.join(out, `${n}.sgn`), SIGNER), n);
    const manifest = await collect(readManifestEntries(statePaths(out).manifest));
    assert.equal(manifest.length, names.length - removed.length + added.length);
    for (const e of manifest) assert.equal(e.outputs[0].sha256, sha256(fs.readFileSync(path.join(out, e.outputs[0].file))));

    const third = await batch([src, '--out', out, '--signer', SIGNER, '--incremental']);
    assert.equal(third.summary.signed, 0, 'nothing changed since');
    assert.equal(third.summary.kept, manifest.length);
  });

  it('refuses to start over an interrupted batch without --resume, and a resume with other options', async () => {
    writePhoneConfigs(src, 3, { min: 1000, max: 1500 });
    fs.mkdirSync(statePaths(out).dir, { recursive: true });
    const header = { type: 'job', version: 1, jobId: 'j1', startedAt: '2026-01-01T00:00:00.000Z', source: src, signer: 'ff', digest: 'sha1', timestamp: 1, include: [], exclude: [], incremental: false };
    fs.writeFileSync(statePaths(out).journal, `${JSON.stringify(header)}\n`);
    const fresh = await runCliCaptured(['batch', 'sign', src, '--out', out, '--signer', SIGNER]);
    assert.equal(fresh.code, 2);
    assert.match(fresh.stderr, /interrupted batch.*--resume/);
    const other = await runCliCaptured(['batch', 'sign', src, '--out', out, '--signer', SIGNER, '--resume']);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /another signer certificate/);
  });

  it('the header template writes exactly the bytes buildSignedFile writes', async () => {
    const signer = await loadPemSigner(vector('certs', 'tftp-4096.pem'));
    for (const hash of ['sha1', 'sha256', 'sha512'] as const) {
      const template = await SignedFileTemplate.derive(signer, hash);
      assert.ok(template, `a template for ${hash}`);
      for (const filename of ['a.sgn', 'Ringlist.xml.sgn', 'SEP001122334455.cnf.xml.sgn', 'x'.repeat(201)]) {
        const body = Buffer.from(`<device>${filename}</device>`);
        const reference = await buildSignedFile({ body, filename, signer, hash, timestamp: 1764288000 });
        const ours = template.build(body, filename, 1764288000, (d, h) => signer.signSync(d, h));
        assert.ok(ours.file.equals(reference), `${hash} ${filename}`);
      }
    }
  });
});
