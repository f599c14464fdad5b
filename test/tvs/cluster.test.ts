import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { runCliProcess } from '../helpers/run-cli';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { tempDir, tvsPki, type TvsPki } from './fixture';
import { serveProcess } from './cli-helpers';

const health = (port: number) =>
  new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/health' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });

/**
 * A cluster: two TVS servers (one per node) sharing one PostgreSQL store, as real processes, the password in
 * PGPASSWORD (never in argv). A certificate added through either node is vouched for by both at once.
 */
describe('tvs on a cluster: one PostgreSQL store shared by two servers', function () {
  this.timeout(180_000);
  let pg: TestPostgres;
  let p: TvsPki;
  let dir: string;
  const f: Record<string, string> = {};

  before(async () => {
    [pg, p, dir] = await Promise.all([startPostgres(), tvsPki(), tempDir()]);
    for (const [name, cert] of Object.entries(p)) {
      const w = await cert.write(dir, name);
      f[`${name}Signer`] = w.signer;
      f[name] = w.cert;
    }
  });
  after(async () => {
    await pg?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('both nodes answer from the shared store; a stopped database closes requests, never answers "not trusted", never crashes', async () => {
    const env = { PGPASSWORD: pg.password };
    const url = pg.urlWithoutPassword;
    let r = await runCliProcess(['tvs', 'add', '--db', url, f.app!, '--roles', 'app-server', '--ttl', '120'], { env });
    assert.equal(r.code, 0, r.stderr);
    const [a, b] = await Promise.all([
      serveProcess(['--db', url, '--signer', f.tvsSigner!, '--metrics', '127.0.0.1:0'], env),
      serveProcess(['--db', url, '--signer', f.tvsSigner!], env),
    ]);
    try {
      const ask = (port: number, cert: string) => runCliProcess(['tvs', 'query', `127.0.0.1:${port}`, cert, '--tvs-cert', f.tvs!, '--timeout', '5000']);
      for (const s of [a, b]) {
        r = await ask(s.port, f.app!);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /roles APP-SERVER; TTL 120 s/);
      }
      r = await runCliProcess(['tvs', 'add', '--db', url, f.ccm!, '--roles', 'ccm-tftp'], { env });
      assert.equal(r.code, 0, r.stderr);
      r = await ask(b.port, f.ccm!);
      assert.equal(r.code, 0, 'added through the store, seen by node B without a restart');
      r = await runCliProcess(['tvs', 'remove', '--db', url, f.app!], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await ask(a.port, f.app!)).code, 1);
      assert.ok(!JSON.stringify(a.log()).includes(pg.password), 'the password is never logged');

      const metricsPort = Number(/:(\d+)\/metrics$/.exec(a.stdout.find((l) => l.startsWith('metrics on'))!)![1]);
      assert.equal(await health(metricsPort), 200);
      await pg.stop();
      r = await ask(a.port, f.ccm!);
      assert.equal(r.code, 4, `${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /closed the connection without answering/);
      assert.equal(await health(metricsPort), 503);
      assert.ok(a.log().some((l) => l.event === 'store-error'));
    } finally {
      assert.equal(await a.stop(), 0);
      assert.equal(await b.stop(), 0);
    }
  });
});
