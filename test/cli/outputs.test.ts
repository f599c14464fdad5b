import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliCaptured } from '../helpers/run-cli';
import { vector } from '../helpers/paths';

const cert = (name: string) => vector('certs', name);

/** Every file under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else found.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return found.sort();
}

describe('every command checks all of its outputs before writing any, and never overwrites without --force', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-outputs-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('encrypt: an existing stub stops it before the encrypted config is written', async () => {
    const src = path.join(dir, 'SEP001122334455.cnf.xml');
    fs.copyFileSync(vector('configs/SEP001122334455.cnf.xml'), src);
    fs.writeFileSync(`${src}.sgn`, 'an older stub');
    const r = await runCliCaptured(['encrypt', src, '--signer', cert('ccm-tftp.pem'), '--device-cert', cert('device-lsc.pem')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /SEP001122334455\.cnf\.xml\.sgn: already exists \(use --force to replace it\)/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.deepEqual(tree(dir), ['SEP001122334455.cnf.xml', 'SEP001122334455.cnf.xml.sgn'], 'no .enc.sgn without its stub');
    assert.equal(fs.readFileSync(`${src}.sgn`, 'utf8'), 'an older stub');
    const forced = await runCliCaptured(['encrypt', src, '--signer', cert('ccm-tftp.pem'), '--device-cert', cert('device-lsc.pem'), '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await runCliCaptured(['verify', `${src}.sgn`, '--cert', cert('ccm-tftp.pem')])).code, 0);
  });

  it('sign: one existing output stops the whole run before any file is signed', async () => {
    for (const name of ['a.xml', 'b.xml']) fs.copyFileSync(vector('configs/Ringlist.xml'), path.join(dir, name));
    fs.writeFileSync(path.join(dir, 'b.xml.sgn'), 'keep');
    const r = await runCliCaptured(['sign', path.join(dir, 'a.xml'), path.join(dir, 'b.xml'), '--signer', cert('ccm-tftp.pem')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /b\.xml\.sgn: already exists/);
    assert.deepEqual(tree(dir), ['a.xml', 'b.xml', 'b.xml.sgn']);
    // Two sources that would land on one output in --out-dir.
    fs.mkdirSync(path.join(dir, 'x'));
    fs.mkdirSync(path.join(dir, 'signed'));
    fs.copyFileSync(vector('configs/Ringlist.xml'), path.join(dir, 'x', 'a.xml'));
    const twice = await runCliCaptured(['sign', path.join(dir, 'a.xml'), path.join(dir, 'x', 'a.xml'), '--signer', cert('ccm-tftp.pem'), '--out-dir', path.join(dir, 'signed')]);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /two inputs would be written to this one output/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'signed')), []);
  });

  it('batch itl: existing ITLs need --force (a rollback ITL never silently replaces the normal one)', async () => {
    const clusterFile = path.join(dir, 'cluster.json');
    fs.writeFileSync(clusterFile, JSON.stringify({
      sast: [cert('sast-a.pem'), cert('sast-b.pem')],
      servers: [
        { name: 'pub', itlSigner: cert('itlrecovery.pem'), certificates: [{ role: 'ccm-tftp', cert: cert('ccm-tftp.pem') }, { role: 'tvs', cert: cert('tvs-ec.pem') }] },
        { name: 'sub', itlSigner: cert('itlrecovery.pem'), certificates: [{ role: 'tftp', cert: cert('tftp-4096.pem') }] },
      ],
    }));
    const out = path.join(dir, 'itls');
    assert.equal((await runCliCaptured(['batch', 'itl', '--cluster', clusterFile, '--out', out])).code, 0);
    const normal = fs.readFileSync(path.join(out, 'pub', 'ITLFile.tlv'));
    fs.rmSync(path.join(out, 'sub', 'ITLFile.tlv'));
    const r = await runCliCaptured(['batch', 'itl', '--cluster', clusterFile, '--out', out, '--rollback']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /pub[/\\]ITLFile\.tlv: already exists \(use --force to replace it with a rollback ITL\); nothing written/);
    assert.deepEqual(fs.readFileSync(path.join(out, 'pub', 'ITLFile.tlv')), normal);
    assert.equal(fs.existsSync(path.join(out, 'sub', 'ITLFile.tlv')), false, 'not even the server whose ITL was missing');
    const forced = await runCliCaptured(['batch', 'itl', '--cluster', clusterFile, '--out', out, '--rollback', '--force', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    const show = await runCliCaptured(['show', '--json', path.join(out, 'pub', 'ITLFile.tlv')]);
    assert.deepEqual((JSON.parse(show.stdout) as { records: Array<{ roleName: string }> }).records.map((x) => x.roleName), ['SAST']);
  });

  it('batch sign: a folder that already holds files needs --force, --incremental or --resume', async () => {
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    fs.copyFileSync(vector('configs/Ringlist.xml'), path.join(src, 'Ringlist.xml'));
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'Ringlist.xml.sgn'), 'served today');
    const r = await runCliCaptured(['batch', 'sign', src, '--out', out, '--signer', cert('ccm-tftp.pem')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--out .*out: already holds 1 entry: add --force/);
    assert.equal(fs.readFileSync(path.join(out, 'Ringlist.xml.sgn'), 'utf8'), 'served today');
    assert.deepEqual(fs.readdirSync(out), ['Ringlist.xml.sgn'], 'no state folder either');
    const forced = await runCliCaptured(['batch', 'sign', src, '--out', out, '--signer', cert('ccm-tftp.pem'), '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await runCliCaptured(['verify', path.join(out, 'Ringlist.xml.sgn'), '--cert', cert('ccm-tftp.pem')])).code, 0);
    // The nightly run: --incremental needs no --force; a plain second run does.
    assert.equal((await runCliCaptured(['batch', 'sign', src, '--out', out, '--signer', cert('ccm-tftp.pem'), '--incremental'])).code, 0);
    assert.equal((await runCliCaptured(['batch', 'sign', src, '--out', out, '--signer', cert('ccm-tftp.pem')])).code, 2);
    // An empty folder is fine.
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    assert.equal((await runCliCaptured(['batch', 'sign', src, '--out', empty, '--signer', cert('ccm-tftp.pem')])).code, 0);
  });
});
