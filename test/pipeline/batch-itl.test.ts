import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseTrustList, roleName } from '../../src/formats';
import { statePaths, type AuditRecord } from '../../src/pipeline';
import { vector } from '../helpers/paths';
import { runCliCaptured } from '../helpers/run-cli';
import { certPemOf, opensslVerifies, readJsonLines, tempDir } from './support';

interface ItlSummaryJson {
  written: Array<{ server: string; file: string; records: number }>;
  failures: Array<{ server: string; problem: string }>;
  exitCode: number;
}

describe('batch itl', function () {
  this.timeout(60_000);
  let dir: string;
  let clusterFile: string;
  beforeEach(() => {
    dir = tempDir('itl');
    for (const name of ['ccm-tftp', 'tftp-4096', 'capf', 'tvs-ec', 'itlrecovery', 'ccm']) {
      fs.copyFileSync(vector('certs', `${name}.pem`), path.join(dir, `${name}.pem`));
    }
    clusterFile = path.join(dir, 'cluster.json');
    fs.writeFileSync(
      clusterFile,
      JSON.stringify({
        name: 'lab',
        digest: 'sha1',
        servers: [
          {
            name: 'cucm-pub',
            dns: 'cucm-pub.example.net',
            ip: '10.0.0.5',
            certificates: [
              { role: 'ccm-tftp', cert: 'ccm-tftp.pem' },
              { role: 'capf', cert: 'capf.pem' },
              { role: 'tvs', cert: 'tvs-ec.pem' },
            ],
            itlSigner: 'itlrecovery.pem',
          },
          { name: 'tftp-2', ip: '10.0.0.6', certificates: [{ role: 'tftp', cert: 'tftp-4096.pem' }], itlSigner: 'itlrecovery.pem' },
          { name: 'cucm-sub', ip: '10.0.0.7', certificates: [{ role: 'ccm', cert: 'ccm.pem' }] },
        ],
      }),
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function run(args: string[]): Promise<{ code: number; summary: ItlSummaryJson; stderr: string }> {
    const r = await runCliCaptured(['batch', 'itl', '--cluster', clusterFile, ...args, '--json']);
    return { code: r.code, summary: JSON.parse(r.stdout) as ItlSummaryJson, stderr: r.stderr };
  }

  const roles = (file: string) => parseTrustList(fs.readFileSync(file), { kind: 'itl' }).records.map((r) => roleName(r.role ?? -1));

  it('writes one ITL per TFTP server that verifies (openctl and openssl), with its own TFTP certificate', async () => {
    const out = path.join(dir, 'out');
    const { code, summary } = await run(['--out', out, '--timestamp', '1764288000']);
    assert.equal(code, 0);
    assert.deepEqual(summary.written.map((w) => w.server), ['cucm-pub', 'tftp-2']);
    assert.ok(!fs.existsSync(path.join(out, 'cucm-sub')), 'no ITL for a server without a TFTP certificate');
    const scratch = path.join(dir, 'scratch');
    fs.mkdirSync(scratch);
    for (const server of ['cucm-pub', 'tftp-2']) {
      const file = path.join(out, server, 'ITLFile.tlv');
      const verify = await runCliCaptured(['verify', file, '--json']);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.ok(opensslVerifies(fs.readFileSync(file), certPemOf(vector('certs', 'itlrecovery.pem')), scratch), `${server}: openssl verifies`);
    }
    assert.deepEqual(roles(path.join(out, 'cucm-pub', 'ITLFile.tlv')), ['SAST', 'CCM+TFTP', 'TVS', 'CAPF']);
    assert.deepEqual(roles(path.join(out, 'tftp-2', 'ITLFile.tlv')), ['SAST', 'TFTP', 'TVS', 'CAPF']);
    const audit = readJsonLines<AuditRecord>(statePaths(out).audit);
    assert.deepEqual(audit.map((a) => a.file).sort(), ['cucm-pub/ITLFile.tlv', 'tftp-2/ITLFile.tlv']);
  });

  it('--rollback writes ITLs with empty TVS and TFTP sections', async () => {
    const out = path.join(dir, 'rollback');
    const { code } = await run(['--out', out, '--rollback']);
    assert.equal(code, 0);
    for (const server of ['cucm-pub', 'tftp-2']) {
      const file = path.join(out, server, 'ITLFile.tlv');
      assert.deepEqual(roles(file), ['SAST', 'CAPF']);
      assert.equal((await runCliCaptured(['verify', file])).code, 0);
    }
  });

  it('a TFTP server without an ITL signer is listed as failed (exit 1); the others are written', async () => {
    const cluster = JSON.parse(fs.readFileSync(clusterFile, 'utf8'));
    delete cluster.servers[1].itlSigner;
    fs.writeFileSync(clusterFile, JSON.stringify(cluster));
    const out = path.join(dir, 'partial');
    const { code, summary } = await run(['--out', out]);
    assert.equal(code, 1);
    assert.deepEqual(summary.written.map((w) => w.server), ['cucm-pub']);
    assert.deepEqual(summary.failures.map((f) => f.server), ['tftp-2']);
    assert.match(summary.failures[0].problem, /itlSigner/);
  });
});
