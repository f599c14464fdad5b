import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  HttpFetchError,
  TftpError,
  fetchFile,
  httpGet,
  startHttpFileServer,
  startTftpServer,
  tftpGet,
  type RunningHttpServer,
  type RunningTftpServer,
} from '../../src/fetch';
import { Opcode, decodePacket, encodeData } from '../../src/fetch/tftp-packets';
import { runCliCaptured } from '../helpers/run-cli';
import { config, pki, standardCtl, standardItl } from '../trust/fixture';

const HOST = '127.0.0.1';

async function silentUdpPort(): Promise<{ port: number; close: () => void }> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, HOST, () => r()));
  return { port: (s.address() as AddressInfo).port, close: () => s.close() };
}

describe('fetch: TFTP client and server (RFC 1350 over UDP on 127.0.0.1)', function () {
  this.timeout(60_000);
  const big = randomBytes(100_003);
  const exact = randomBytes(1024); // a multiple of 512: the transfer ends with an empty block
  let server: RunningTftpServer;
  before(async () => {
    server = await startTftpServer({ files: { 'ITLFile.tlv': big, 'exact.bin': exact, 'empty.bin': Buffer.alloc(0) } });
  });
  after(() => server.close());

  it('downloads with negotiated blksize and tsize', async () => {
    const got = await tftpGet(HOST, 'ITLFile.tlv', { port: server.port });
    assert.ok(got.equals(big));
    const req = server.requests.at(-1)!;
    assert.deepEqual(req.options, { blksize: '1428', tsize: '0' });
    assert.equal(req.result, 'sent');
  });

  it('downloads from a plain RFC 1350 exchange (512-byte blocks, no options), file names case-insensitive', async () => {
    assert.ok((await tftpGet(HOST, 'itlfile.TLV', { port: server.port, options: false })).equals(big));
    assert.ok((await tftpGet(HOST, 'exact.bin', { port: server.port, options: false })).equals(exact));
    assert.equal((await tftpGet(HOST, 'empty.bin', { port: server.port })).length, 0);
    const plain = await startTftpServer({ files: { 'a.bin': big }, acceptOptions: false });
    try {
      assert.ok((await tftpGet(HOST, 'a.bin', { port: plain.port })).equals(big), 'a server that ignores options answers with DATA 1');
    } finally {
      await plain.close();
    }
  });

  it('reports TFTP error 1 as file not found', async () => {
    await assert.rejects(tftpGet(HOST, 'CTLFile.tlv', { port: server.port }), (err: unknown) => {
      assert.ok(err instanceof TftpError);
      assert.equal(err.kind, 'not-found');
      assert.equal(err.code, 1);
      assert.match(err.message, /^CTLFile\.tlv: TFTP error 1 \(file not found\)/);
      return true;
    });
  });

  it('recovers lost packets by retransmission', async () => {
    const lossy = await startTftpServer({ files: { 'f.bin': big }, dropData: 3, timeoutMs: 50 });
    try {
      assert.ok((await tftpGet(HOST, 'f.bin', { port: lossy.port, timeoutMs: 80, retries: 8 })).equals(big));
    } finally {
      await lossy.close();
    }
  });

  it('gives up with a timeout when nothing answers', async () => {
    const silent = await silentUdpPort();
    try {
      await assert.rejects(tftpGet(HOST, 'ITLFile.tlv', { port: silent.port, timeoutMs: 50, retries: 2 }), (err: unknown) => {
        assert.ok(err instanceof TftpError && err.kind === 'timeout');
        assert.match(err.message, /timeout: no answer from 127\.0\.0\.1:\d+ after 3 tries of 50 ms/);
        return true;
      });
    } finally {
      silent.close();
    }
  });

  it('answers a packet from another transfer ID with error 5 and keeps the transfer', async () => {
    // A hand-driven server: DATA 1 from port X, a stray DATA 2 from port Y, then the real DATA 2 from X.
    const listen = dgram.createSocket('udp4');
    const x = dgram.createSocket('udp4');
    const y = dgram.createSocket('udp4');
    await Promise.all([listen, x, y].map((s) => new Promise<void>((r) => s.bind(0, HOST, () => r()))));
    const strayAnswers: number[] = [];
    y.on('message', (m) => strayAnswers.push(decodePacket(m).op === Opcode.ERROR ? (decodePacket(m) as { code: number }).code : -1));
    const first = randomBytes(512);
    const last = randomBytes(100);
    listen.once('message', (_m, client) => {
      x.on('message', (m) => {
        const p = decodePacket(m);
        if (p.op === Opcode.ACK && p.block === 1) {
          y.send(encodeData(2, Buffer.from('stray')), client.port, client.address, () => {
            setTimeout(() => x.send(encodeData(2, last), client.port, client.address), 50);
          });
        }
      });
      x.send(encodeData(1, first), client.port, client.address);
    });
    try {
      const got = await tftpGet(HOST, 'x', { port: (listen.address() as AddressInfo).port, options: false });
      assert.ok(got.equals(Buffer.concat([first, last])));
      assert.deepEqual(strayAnswers, [5]);
    } finally {
      for (const s of [listen, x, y]) s.close();
    }
  });

  it('handles block numbers past 65535 (they wrap to 0)', async () => {
    const blocks = 65_540;
    const data = randomBytes(blocks * 8 + 3);
    const s = await startTftpServer({ files: { 'wrap.bin': data } });
    try {
      const got = await tftpGet(HOST, 'wrap.bin', { port: s.port, blockSize: 8 });
      assert.equal(got.length, data.length);
      assert.ok(got.equals(data));
    } finally {
      await s.close();
    }
  });
});

describe('fetch: HTTP port 6970 stand-in and fallback', function () {
  this.timeout(60_000);
  let tftp: RunningTftpServer;
  let http: RunningHttpServer;
  const itl = randomBytes(3000);
  const cfg = randomBytes(700);
  before(async () => {
    tftp = await startTftpServer({ files: { 'ITLFile.tlv': itl } });
    http = await startHttpFileServer({ files: { 'ITLFile.tlv': itl, 'SEP001122334455.cnf.xml.sgn': cfg } });
  });
  after(async () => {
    await tftp.close();
    await http.close();
  });

  it('GETs a file and reports 404', async () => {
    assert.ok((await httpGet(HOST, 'SEP001122334455.cnf.xml.sgn', { port: http.port })).equals(cfg));
    await assert.rejects(httpGet(HOST, 'CTLFile.tlv', { port: http.port }), (e: unknown) => e instanceof HttpFetchError && e.kind === 'not-found' && e.status === 404);
  });

  it('falls back to HTTP when TFTP does not have the file, and says which transport delivered it', async () => {
    const o = await fetchFile(HOST, 'SEP001122334455.cnf.xml.sgn', { tftpPort: tftp.port, httpPort: http.port });
    assert.equal(o.via, 'http');
    assert.ok(o.bytes!.equals(cfg));
    assert.equal(o.attempts.length, 1);
    assert.equal(o.attempts[0]!.via, 'tftp');
    assert.equal(o.attempts[0]!.notFound, true);
    const missing = await fetchFile(HOST, 'CTLFile.tlv', { tftpPort: tftp.port, httpPort: http.port });
    assert.equal(missing.bytes, undefined);
    assert.equal(missing.notFound, true);
  });
});

describe('fetch and preflight from live servers (CLI)', function () {
  this.timeout(120_000);
  let dir: string;
  let tftp: RunningTftpServer;
  let http: RunningHttpServer;
  let files: Record<string, Buffer>;

  before(async () => {
    const p = await pki();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-fetch-'));
    const ctl = await standardCtl(p);
    const itl = await standardItl(p);
    const cfg = await config(p.ccm);
    files = { 'CTLFile.tlv': ctl.bytes, 'ITLFile.tlv': itl.bytes };
    tftp = await startTftpServer({ files });
    // The config exists only over HTTP (CUCM serves both; here TFTP lacks it, to exercise the fallback).
    http = await startHttpFileServer({ files: { ...files, 'SEP001122334455.cnf.xml.sgn': cfg.bytes } });
  });
  after(async () => {
    await tftp.close();
    await http.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('openctl fetch downloads CTL and ITL over TFTP and the config over HTTP, written whole', async () => {
    const out = path.join(dir, 'live');
    const r = await runCliCaptured(['fetch', HOST, '--port', String(tftp.port), '--http-port', String(http.port), '--mac', '00:11:22:33:44:55', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^CTLFile\.tlv: \d+ bytes via TFTP/m);
    assert.match(r.stdout, /^ITLFile\.tlv: \d+ bytes via TFTP/m);
    assert.match(r.stdout, /^SEP001122334455\.cnf\.xml\.sgn: \d+ bytes via HTTP .*\(after TFTP: .*TFTP error 1/m);
    assert.deepEqual(fs.readdirSync(out).sort(), ['CTLFile.tlv', 'ITLFile.tlv', 'SEP001122334455.cnf.xml.sgn']);
    assert.ok(fs.readFileSync(path.join(out, 'ITLFile.tlv')).equals(files['ITLFile.tlv']!));

    const again = await runCliCaptured(['fetch', HOST, '--port', String(tftp.port), '--http-port', String(http.port), '--out', out]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /CTLFile\.tlv: already exists \(use --force/);
    const forced = await runCliCaptured(['fetch', HOST, '--port', String(tftp.port), '--http-port', String(http.port), '--out', out, '--force', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    const json = JSON.parse(forced.stdout) as { files: Array<{ name: string; via: string; sha1: string }> };
    assert.deepEqual(json.files.map((f) => [f.name, f.via]), [['CTLFile.tlv', 'tftp'], ['ITLFile.tlv', 'tftp']]);
  });

  it('a file on neither transport is reported, a broken transfer fails with exit 1', async () => {
    const out = path.join(dir, 'partial');
    const r = await runCliCaptured(['fetch', HOST, '--port', String(tftp.port), '--http-port', String(http.port), '--via', 'tftp', '--mac', 'SEP0011223344AA', '--out', out]);
    assert.equal(r.code, 0, 'a file the server lacks is not a failure');
    assert.match(r.stdout, /^SEP0011223344AA\.cnf\.xml\.sgn: not on the server \(TFTP: .*TFTP error 1 \(file not found\)/m);

    const silent = await silentUdpPort();
    try {
      const dead = await runCliCaptured(['fetch', HOST, '--port', String(silent.port), '--http-port', '1', '--timeout', '50', '--out', path.join(dir, 'dead')]);
      assert.equal(dead.code, 1);
      assert.match(dead.stdout, /^CTLFile\.tlv: FAILED \(TFTP: CTLFile\.tlv: timeout: .*; HTTP: CTLFile\.tlv: 127\.0\.0\.1:1 refused the connection\)/m);
      assert.deepEqual(fs.readdirSync(path.join(dir, 'dead')), [], 'nothing half-written');
    } finally {
      silent.close();
    }
    const badMac = await runCliCaptured(['fetch', HOST, '--mac', 'zz', '--out', out]);
    assert.equal(badMac.code, 2);
    assert.match(badMac.stderr, /--mac zz: not a MAC address/);
  });

  it('openctl preflight reads what the phone holds from tftp:// and http:// URLs', async () => {
    const p = await pki();
    const newItl = await standardItl(p, { capf: p.capf2 });
    const deploy = path.join(dir, 'ITLFile.tlv');
    fs.writeFileSync(deploy, newItl.bytes);
    const r = await runCliCaptured([
      'preflight',
      '--phone-has', `tftp://${HOST}:${tftp.port}/CTLFile.tlv`,
      '--phone-has', `http://${HOST}:${http.port}/ITLFile.tlv`,
      '--deploy', deploy,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ITLFile\.tlv: accepted \[itl-signer-in-held-ctl\]/);
    const missing = await runCliCaptured(['preflight', '--phone-has', `tftp://${HOST}:${tftp.port}/nothere.tlv`, '--deploy', deploy]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /tftp:\/\/127\.0\.0\.1:\d+\/nothere\.tlv: nothere\.tlv: TFTP error 1/);
  });
});
