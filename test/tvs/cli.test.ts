import { strict as assert } from 'node:assert';
import { promises as fs, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import * as http from 'node:http';
import { runCliCaptured } from '../helpers/run-cli';
import { sha256Hex } from '../../src/store/tvs';
import { encodeVerifyRequest, encodeVerifyResponse } from '../../src/services/tvs/messages';
import { execFileSync } from 'node:child_process';
import { makeCert } from '../helpers/pki';
import { itlWithTvs, tempDir, tvsPki, type TvsPki } from './fixture';
import { serveInProcess, serveProcess } from './cli-helpers';

const get = (port: number, pathname: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: pathname }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });

describe('CLI: openctl tvs', function () {
  this.timeout(120_000);
  let p: TvsPki;
  let dir: string;
  const f: Record<string, string> = {};

  before(async () => {
    p = await tvsPki();
    dir = await tempDir();
    for (const [name, cert] of Object.entries(p)) {
      const w = await cert.write(dir, name);
      f[`${name}Signer`] = w.signer;
      f[name] = w.cert;
    }
    f.itl = path.join(dir, 'ITLFile.tlv');
    writeFileSync(f.itl, await itlWithTvs(p));
    f.otherItl = path.join(dir, 'other-ITLFile.tlv');
    writeFileSync(f.otherItl, await itlWithTvs(p, p.otherTvs));
  });
  after(async () => fs.rm(dir, { recursive: true, force: true }));

  describe('the store: add, list, remove', () => {
    it('adds with roles as ctl build names them, updates on a second add, lists, removes by hash or file', async () => {
      const db = path.join(dir, 'a.db');
      let r = await runCliCaptured(['tvs', 'add', '--db', db, f.app!, '--roles', 'ccm,app-server', '--ttl', '3600']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'added  CCM,APP-SERVER  ttl 3600  CN=apps.example.net,O=openctl test,OU=UC\n');
      r = await runCliCaptured(['tvs', 'add', '--db', db, f.app!, '--roles', 'ccm-tftp', '--json']);
      assert.deepEqual(JSON.parse(r.stdout).updated, [{ sha256: sha256Hex(p.app.certDer), subject: p.app.subject, roles: ['CCM+TFTP'], ttl: 86400 }]);
      await runCliCaptured(['tvs', 'add', '--db', db, f.ccm!, '--roles', 'SAST,TVS', '--ttl', '1']);
      r = await runCliCaptured(['tvs', 'list', '--db', db, '--json']);
      const list = JSON.parse(r.stdout) as { schemaVersion: number; certificates: Array<{ sha256: string; roles: string[]; ttl: number; subject: string }> };
      assert.equal(list.schemaVersion, 1);
      assert.deepEqual(
        list.certificates.map((c) => [c.subject, c.roles, c.ttl]),
        [
          [p.app.subject, ['CCM+TFTP'], 86400],
          [p.ccm.subject, ['SAST', 'TVS'], 1],
        ],
      );
      r = await runCliCaptured(['tvs', 'list', '--db', db]);
      assert.match(r.stdout, new RegExp(`^${sha256Hex(p.ccm.certDer)}  SAST,TVS  ttl 1  CN=cucm-pub`, 'm'));
      r = await runCliCaptured(['tvs', 'remove', '--db', db, sha256Hex(p.app.certDer).toUpperCase()]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `removed ${sha256Hex(p.app.certDer)}\n`);
      r = await runCliCaptured(['tvs', 'remove', '--db', db, f.ccm!, f.app!]);
      assert.equal(r.code, 1, 'one of them was not in the store');
      assert.equal(r.stdout, `removed ${sha256Hex(p.ccm.certDer)}\n`);
      assert.equal(r.stderr, `openctl: ${sha256Hex(p.app.certDer)}: not in the store\n`);
      r = await runCliCaptured(['tvs', 'list', '--db', db]);
      assert.equal(r.stdout, `${db}: TVS vouches for no certificate\n`);
    });

    it('never sends a certificate name\'s control characters to the terminal; refuses a FIFO instead of blocking on it', async () => {
      const evil = await makeCert({ cn: 'evil\x1b[2J\x1b[31mred\x7f\x07' });
      const file = path.join(dir, 'evil.pem');
      writeFileSync(file, evil.certPem);
      const db = path.join(dir, 'evil.db');
      let r = await runCliCaptured(['tvs', 'add', '--db', db, file, '--roles', 'app-server']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'added  APP-SERVER  ttl 86400  CN=evil\\u001b[2J\\u001b[31mred\\u007f\\u0007,O=openctl test,OU=UC\n');
      r = await runCliCaptured(['tvs', 'list', '--db', db]);
      assert.doesNotMatch(r.stdout, /[\x00-\x09\x0b-\x1f]/);
      const fifo = path.join(dir, 'cert.fifo');
      execFileSync('mkfifo', [fifo]);
      r = await runCliCaptured(['tvs', 'add', '--db', db, fifo, '--roles', 'ccm']);
      assert.equal(r.code, 2);
      assert.equal(r.stderr, `openctl: ${fifo}: cannot read the certificate: is a named pipe (FIFO), not a regular file\n`);
      r = await runCliCaptured(['tvs', 'query', '127.0.0.1:1', f.app!, '--tvs-cert', '/dev/zero']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /\/dev\/zero: cannot read the certificate or ITL: is a device, not a regular file\n$/);
    });

    it('adds every record of a CTL or ITL with its role (--from)', async () => {
      const db = path.join(dir, 'from.db');
      const r = await runCliCaptured(['tvs', 'add', '--db', db, '--from', f.itl!, '--ttl', '600']);
      assert.equal(r.code, 0, r.stderr);
      const list = JSON.parse((await runCliCaptured(['tvs', 'list', '--db', db, '--json'])).stdout) as { certificates: Array<{ sha256: string; roles: string[] }> };
      const roles = Object.fromEntries(list.certificates.map((c) => [c.sha256, c.roles]));
      assert.deepEqual(roles, {
        [sha256Hex(p.itlRecovery.certDer)]: ['SAST'],
        [sha256Hex(p.ccm.certDer)]: ['CCM+TFTP'],
        [sha256Hex(p.tvs.certDer)]: ['TVS'],
      });
    });

    it('bad input: exit 2 and one line naming the problem; nothing written', async () => {
      const db = path.join(dir, 'bad.db');
      const garbage = path.join(dir, 'garbage.pem');
      writeFileSync(garbage, 'not a certificate at all');
      const cases: Array<[string[], RegExp]> = [
        [['tvs', 'add', '--db', db, f.app!, '--roles', 'ccm', '--ttl', '0'], /^openctl: --ttl must be whole seconds from 1 to 2592000 \(30 days\), not "0"\n$/],
        [['tvs', 'add', '--db', db, f.app!, '--roles', 'ccm', '--ttl', '2592001'], /--ttl must be whole seconds/],
        [['tvs', 'add', '--db', db, f.app!, '--roles', 'ccm', '--ttl', '1.5'], /--ttl must be whole seconds/],
        [['tvs', 'add', '--db', db, f.app!, '--roles', 'ccm,boss'], /^openctl: --roles: unknown role "boss" \(expected sast, ccm, ccm-tftp, tftp, capf, tvs, app-server\)\n$/],
        [['tvs', 'add', '--db', db, f.app!], /--roles is required with certificate files/],
        [['tvs', 'add', '--db', db], /give certificate files with --roles, or --from CTL_OR_ITL/],
        [['tvs', 'add', '--db', db, garbage, '--roles', 'ccm'], new RegExp(`^openctl: ${garbage}: not a certificate`)],
        [['tvs', 'add', '--db', db, '--from', f.app!], /not a CTL or ITL|at byte/],
        [['tvs', 'add', '--db', dir, f.app!, '--roles', 'ccm'], /is a folder, not a store file/],
        [['tvs', 'list', '--db', garbage], new RegExp(`^openctl: ${garbage}: not a SQLite database\n$`)],
        [['tvs', 'remove', '--db', db, 'abcd'], /abcd: cannot read( the certificate)?: no such file/],
      ];
      for (const [args, pattern] of cases) {
        const r = await runCliCaptured(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, pattern, args.join(' '));
        assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
      }
      await assert.rejects(fs.stat(db), 'no store was created by a refused command');
    });
  });

  describe('serve and query', () => {
    let db: string;
    before(async () => {
      db = path.join(dir, 'serve.db');
      const r = await runCliCaptured(['tvs', 'add', '--db', db, f.app!, '--roles', 'ccm,app-server', '--ttl', '3600']);
      assert.equal(r.code, 0, r.stderr);
    });

    it('query: exit 0 with roles and TTL, 1 when not trusted; an ITL authenticates the server by its TVS record', async () => {
      const s = await serveInProcess(['--db', db, '--signer', f.tvsSigner!]);
      try {
        const at = `127.0.0.1:${s.port}`;
        let r = await runCliCaptured(['tvs', 'query', at, f.app!, '--tvs-cert', f.itl!]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `trusted: ${p.app.subject}: roles CCM, APP-SERVER; TTL 3600 s (TVS ${at})\n`);
        r = await runCliCaptured(['tvs', 'query', at, f.stranger!, '--tvs-cert', f.tvs!, '--device', 'CP-7841-SEP00AABBCCDDEE', '--json']);
        assert.equal(r.code, 1);
        const json = JSON.parse(r.stdout) as Record<string, unknown>;
        assert.equal(json.trusted, false);
        assert.equal(json.device, 'CP-7841-SEP00AABBCCDDEE');
        assert.equal(json.serverCertificateSha256, sha256Hex(p.tvs.certDer));
        let lines = s.log().filter((l) => l.event === 'request');
        for (let i = 0; i < 100 && lines.length < 2; i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 20)); // log lines are written in batches (50 ms)
          lines = s.log().filter((l) => l.event === 'request');
        }
        assert.deepEqual(lines.map((l) => [l.device, l.verdict]), [['CP-0000-SEP000000000000', 'trusted'], ['CP-7841-SEP00AABBCCDDEE', 'not-trusted']]);
      } finally {
        assert.equal(await s.stop(), 0);
      }
    });

    it('query: exit 4 for a server the ITL does not name, a closed port; exit 2 for a bad device name', async () => {
      const s = await serveInProcess(['--db', db, '--signer', f.tvsSigner!]);
      const at = `127.0.0.1:${s.port}`;
      let r = await runCliCaptured(['tvs', 'query', at, f.app!, '--tvs-cert', f.otherItl!]);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /^openctl: TVS 127\.0\.0\.1:\d+: the server's certificate \(CN=tvs\.cucm-pub\.example\.net.*\) is not one of .*other-ITLFile\.tlv \(TVS record\): not the TVS a phone would trust\n$/);
      assert.equal(await s.stop(), 0);
      r = await runCliCaptured(['tvs', 'query', at, f.app!, '--tvs-cert', f.tvs!]);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /connection refused/);
      r = await runCliCaptured(['tvs', 'query', at, f.app!, '--tvs-cert', f.tvs!, '--device', 'SEP001122334455']);
      assert.equal(r.code, 2);
      r = await runCliCaptured(['tvs', 'query', at, f.app!, '--tvs-cert', f.app!.replace('.crt.pem', '.nothing')]);
      assert.equal(r.code, 2);
    });

    it('serve: refuses a PKCS#11 signer, a busy port and a key that does not match, each in one line (exit 2)', async () => {
      const s = await serveInProcess(['--db', db, '--signer', f.tvsSigner!]);
      try {
        let r = await runCliCaptured(['tvs', 'serve', '--db', db, '--signer', f.tvsSigner!, '--listen', `127.0.0.1:${s.port}`]);
        assert.equal(r.code, 2);
        assert.equal(r.stderr, `openctl: --listen 127.0.0.1:${s.port}: the address is in use (another TVS/CAPF running?)\n`);
        r = await runCliCaptured(['tvs', 'serve', '--db', db, '--signer', 'pkcs11:token=tvs', '--listen', '127.0.0.1:0']);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /needs the TVS key as a PEM file/);
        const mixed = path.join(dir, 'mixed.pem');
        writeFileSync(mixed, p.tvs.keyPem + p.app.certPem);
        r = await runCliCaptured(['tvs', 'serve', '--db', db, '--signer', mixed, '--listen', '127.0.0.1:0']);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /the private key does not belong to the certificate/);
        r = await runCliCaptured(['tvs', 'serve', '--db', db, '--signer', f.tvsSigner!, '--listen', '127.0.0.1:0', '--tls-min', '0.9']);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /--tls-min must be 1\.0, 1\.1, 1\.2 or 1\.3/);
      } finally {
        await s.stop();
      }
    });

    it('a real process: metrics and health, SIGTERM finishes the request in flight and exits 0', async () => {
      const s = await serveProcess(['--db', db, '--signer', f.tvsSigner!, '--metrics', '127.0.0.1:0']);
      const metricsLine = s.stdout.find((l) => l.startsWith('metrics on')) ?? (await new Promise<string>((resolve) => setTimeout(() => resolve(s.stdout.find((l) => l.startsWith('metrics on')) ?? ''), 500)));
      const metricsPort = Number(/:(\d+)\/metrics$/.exec(metricsLine)![1]);
      const health = await get(metricsPort, '/health');
      assert.equal(health.status, 200);
      assert.deepEqual(JSON.parse(health.body), { status: 'ok', store: db, certificates: 1 });
      // A phone that has sent half its request when SIGTERM arrives still gets its answer.
      const socket = await new Promise<tls.TLSSocket>((resolve) => {
        const c = tls.connect({ host: '127.0.0.1', port: s.port, rejectUnauthorized: false }, () => resolve(c));
      });
      const request = encodeVerifyRequest({ session: 5, deviceName: 'CP-8845-SEP0011223344AA', certificate: p.app.certDer });
      const parts: Buffer[] = [];
      socket.on('data', (c: Buffer) => parts.push(c));
      const ended = new Promise<void>((resolve) => socket.on('end', () => resolve()));
      socket.write(request.subarray(0, 30));
      await new Promise((r) => setTimeout(r, 200));
      s.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      socket.write(request.subarray(30));
      await ended;
      assert.deepEqual(Buffer.concat(parts), encodeVerifyResponse({ session: 5, trusted: true, roles: [1, 7], ttl: 3600 }));
      assert.equal(await s.exited, 0);
      const events = s.log().map((l) => l.event);
      assert.deepEqual(events.slice(-3), ['stopping', 'request', 'stopped'], 'the request in flight is answered after SIGTERM');
    });
  });
});
