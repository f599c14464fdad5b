import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as http from 'node:http';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { createPrivateKey } from 'node:crypto';
import { openServiceStore } from '../../src/store';
import { TVS_MIGRATIONS, TvsStore, sha256Hex } from '../../src/store/tvs';
import { jsonLogger, ServiceMetrics, startMetricsServer, type RunningService } from '../../src/services/common';
import { startTvsServer, type TvsServerOptions } from '../../src/services/tvs/server';
import { encodeVerifyRequest, encodeVerifyResponse } from '../../src/services/tvs/messages';
import { queryTvs, tvsAnchorsFrom } from '../../src/services/tvs/client';
import { NetworkError } from '../../src/util/errors';
import { itlWithTvs, phoneAsks, tempDir, tvsPki, type TvsPki } from './fixture';

/** Log lines a server wrote, parsed. */
class LogSink extends Writable {
  lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) this.lines.push(JSON.parse(l) as Record<string, unknown>);
    done();
  }
  events(name: string) {
    return this.lines.filter((l) => l.event === name);
  }
  async waitFor(name: string, count = 1, ms = 5000) {
    const deadline = Date.now() + ms;
    while (this.events(name).length < count) {
      if (Date.now() > deadline) throw new Error(`no ${count} "${name}" log lines in ${ms} ms: ${JSON.stringify(this.lines.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.events(name);
  }
}

/** Resolves when the server closes the connection (or after ms: false). */
function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function tlsConnect(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => resolve(s));
    s.once('error', reject);
  });
}

describe('tvs server (real TLS on loopback, real SQLite store)', function () {
  this.timeout(120_000);
  let p: TvsPki;
  let dir: string;
  let store: TvsStore;
  let tvsCertPem: string;
  let appDer: string;
  let strangerDer: string;
  const servers: RunningService[] = [];

  async function serve(extra: Partial<TvsServerOptions> = {}) {
    const sink = new LogSink();
    const metrics = new ServiceMetrics('openctl_tvs');
    const running = await startTvsServer({
      store,
      listen: [{ host: '127.0.0.1', port: 0 }],
      key: createPrivateKey(p.tvs.keyPem),
      certificates: [p.tvs.certDer],
      log: jsonLogger(sink),
      metrics,
      ...extra,
    });
    servers.push(running);
    return { running, port: running.addresses[0]!.port, sink, metrics };
  }

  before(async () => {
    p = await tvsPki();
    dir = await tempDir();
    store = new TvsStore(await openServiceStore(path.join(dir, 'tvs.db'), [TVS_MIGRATIONS]));
    const info = (cert: typeof p.app) => ({ certificate: cert.certDer, serial: cert.serialHex, subject: cert.subject, issuer: cert.subject });
    await store.put([{ ...info(p.app), roles: [1, 7], ttl: 3600 }]);
    tvsCertPem = path.join(dir, 'tvs.crt.pem');
    await fs.writeFile(tvsCertPem, p.tvs.certPem);
    appDer = path.join(dir, 'app.der');
    await fs.writeFile(appDer, p.app.certDer);
    strangerDer = path.join(dir, 'stranger.der');
    await fs.writeFile(strangerDer, p.stranger.certDer);
  });

  after(async () => {
    for (const s of servers) await s.drain(0);
    await store.db.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('answers a phone (independent Python emulator) byte for byte as the description says', async () => {
    const { port, sink } = await serve();
    const trusted = await phoneAsks(port, tvsCertPem, appDer, { session: 0x11223344 });
    assert.deepEqual({ status: trusted.status, roles: trusted.roles, ttl: trusted.ttl, session: trusted.session }, { status: 0, roles: [1, 7], ttl: 3600, session: 0x11223344 });
    assert.equal(trusted.hex, '57010200112233440010070001000800020107090004' + '00000e10');
    const untrusted = await phoneAsks(port, tvsCertPem, strangerDer, { session: 0x11223344 });
    assert.equal(untrusted.hex, '5701020011223344000407000101');
    const [first, second] = await sink.waitFor('request', 2);
    assert.equal(first!.device, 'CP-8845-SEP0011223344AA');
    assert.equal(first!.sha256, sha256Hex(p.app.certDer));
    assert.equal(first!.verdict, 'trusted');
    assert.deepEqual(first!.roles, ['CCM', 'APP-SERVER']);
    assert.equal(second!.verdict, 'not-trusted');
    for (const line of [first!, second!]) {
      assert.match(String(line.time), /^\d{4}-\d\d-\d\dT/);
      assert.match(String(line.peer), /^127\.0\.0\.1:\d+$/);
      assert.equal(typeof line.ms, 'number');
    }
  });

  it('without a host, listens on IPv6 and IPv4 at once (dual stack)', async function () {
    const { running } = await serve({ listen: [{ port: 0 }] });
    const port = running.addresses[0]!.port;
    assert.equal(running.addresses[0]!.host, '::');
    const anchors = { certificates: [p.tvs.certDer], source: 'tvs.pem' };
    const query = { certificate: p.app.certDer, deviceName: 'CP-8845-SEP0011223344AA' };
    for (const host of ['127.0.0.1', '::1']) {
      const r = await queryTvs({ host, port }, anchors, query);
      assert.equal(r.response.trusted, true, host);
    }
  });

  it('sees store changes at once, without a restart', async () => {
    const { port } = await serve();
    assert.equal((await phoneAsks(port, tvsCertPem, strangerDer)).status, 1);
    await store.put([{ certificate: p.stranger.certDer, serial: '01', subject: p.stranger.subject, issuer: p.stranger.subject, roles: [3], ttl: 5 }]);
    assert.deepEqual(await phoneAsks(port, tvsCertPem, strangerDer).then((a) => [a.status, a.roles, a.ttl]), [0, [3], 5]);
    await store.remove(sha256Hex(p.stranger.certDer));
    assert.equal((await phoneAsks(port, tvsCertPem, strangerDer)).status, 1);
  });

  it('reassembles a request that arrives in 7-byte pieces', async () => {
    const { port } = await serve();
    const answer = await phoneAsks(port, tvsCertPem, appDer, { chunk: 7 });
    assert.equal(answer.status, 0);
  });

  it('closes plain TCP garbage, HTTP, and garbage inside TLS, one log line each, and keeps answering', async () => {
    const { port, sink } = await serve();
    const http1 = net.connect(port, '127.0.0.1', () => http1.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.equal(await closedWithin(http1, 3000), true);
    const junk = net.connect(port, '127.0.0.1', () => junk.write(Buffer.alloc(300, 0x41)));
    assert.equal(await closedWithin(junk, 3000), true);
    const inside = await tlsConnect(port);
    inside.write('hello, this is not TVS at all');
    assert.equal(await closedWithin(inside, 3000), true);
    const tlsErrors = await sink.waitFor('tls-error', 2);
    assert.ok(tlsErrors.some((l) => l.error === 'not TLS: an HTTP request'));
    const protocol = await sink.waitFor('protocol-error', 1);
    assert.match(String(protocol[0]!.error), /not a TVS message \(first byte 0x68/);
    assert.equal((await phoneAsks(port, tvsCertPem, appDer)).status, 0);
  });

  it('refuses a request larger than the limit before reading it, and a wrong device name, without answering', async () => {
    const { port, sink } = await serve({ maxRequestBytes: 1024 });
    const big = await tlsConnect(port);
    big.write(Buffer.from('5701010000000001ea60', 'hex')); // announces 60,000 bytes
    assert.equal(await closedWithin(big, 3000), true);
    assert.match(String((await sink.waitFor('protocol-error'))[0]!.error), /60010 bytes announced, the limit is 1024/);
    const odd = await tlsConnect(port);
    const got: Buffer[] = [];
    odd.on('data', (c: Buffer) => got.push(c));
    odd.write(encodeVerifyRequest({ session: 1, deviceName: 'CP-8845-SEP0011223344aa\n{"event":"forged"}', certificate: p.app.certDer }));
    assert.equal(await closedWithin(odd, 3000), true);
    assert.equal(Buffer.concat(got).length, 0, 'no answer');
    const line = (await sink.waitFor('protocol-error', 2))[1]!;
    assert.match(String(line.error), /device name/);
    assert.equal(sink.events('forged').length, 0, 'a hostile device name cannot forge a log line');
  });

  it('never stalls: idle TCP hits the handshake timeout, a silent TLS peer the request timeout', async () => {
    const { port, sink } = await serve({ handshakeTimeoutMs: 300, requestTimeoutMs: 300 });
    const idle = net.connect(port, '127.0.0.1');
    const silent = await tlsConnect(port);
    const half = await tlsConnect(port);
    half.write(encodeVerifyRequest({ session: 2, deviceName: 'CP-8845-SEP0011223344AA', certificate: p.app.certDer }).subarray(0, 50));
    assert.deepEqual(await Promise.all([closedWithin(idle, 3000), closedWithin(silent, 3000), closedWithin(half, 3000)]), [true, true, true]);
    await sink.waitFor('handshake-timeout');
    const timeouts = await sink.waitFor('request-timeout', 2);
    assert.ok(timeouts.some((l) => /50 of \d+ bytes/.test(String(l.error))));
  });

  it('caps connections: the one over the limit is closed at once, the others are served', async () => {
    const { port, sink, running } = await serve({ maxConnections: 4 });
    const idle = await Promise.all(Array.from({ length: 4 }, () => tlsConnect(port)));
    const extra = net.connect(port, '127.0.0.1');
    assert.equal(await closedWithin(extra, 2000), true);
    assert.match(String((await sink.waitFor('refused'))[0]!.reason), /connection limit \(4\)/);
    assert.equal(running.openConnections(), 4);
    const first = idle[0]!;
    const answer = new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = [];
      first.on('data', (c: Buffer) => parts.push(c));
      first.on('end', () => resolve(Buffer.concat(parts)));
    });
    first.write(encodeVerifyRequest({ session: 9, deviceName: 'CP-8845-SEP0011223344AA', certificate: p.app.certDer }));
    assert.deepEqual(await answer, encodeVerifyResponse({ session: 9, trusted: true, roles: [1, 7], ttl: 3600 }));
    for (const s of idle) s.destroy();
    while (running.openConnections() > 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await phoneAsks(port, tvsCertPem, appDer)).status, 0);
  });

  it('answers 200 parallel queries correctly while 50 idle or garbage connections are open', async () => {
    const { port, sink } = await serve({ handshakeTimeoutMs: 2000, requestTimeoutMs: 2000 });
    const anchors = { certificates: [p.tvs.certDer], source: 'tvs.pem' };
    const nuisances: net.Socket[] = [];
    for (let i = 0; i < 50; i += 1) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      if (i % 2 === 0) s.write(Buffer.from(`garbage ${i} `.repeat(20)));
      nuisances.push(s);
    }
    const certs = [p.app, p.stranger, p.ccm];
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        queryTvs({ host: '127.0.0.1', port }, anchors, { certificate: certs[i % 3]!.certDer, deviceName: 'CP-8845-SEP0011223344AA', session: i }, { timeoutMs: 60_000 }),
      ),
    );
    results.forEach((r, i) => {
      assert.equal(r.response.session, i);
      assert.equal(r.response.trusted, i % 3 === 0, `query ${i}`);
    });
    assert.equal((await sink.waitFor('request', 200)).length, 200); // log lines are written in batches (50 ms)
    assert.equal(sink.events('internal-error').length, 0);
    for (const s of nuisances) s.destroy();
  });

  it('speaks TLS 1.2+ by default, and TLS 1.0 to old phones only when asked', async () => {
    const modern = await serve();
    const refused = await phoneAsks(modern.port, tvsCertPem, appDer, { tls10: true });
    assert.match(String(refused.error), /connect/);
    const old = await serve({ tlsMin: '1.0' });
    const answer = await phoneAsks(old.port, tvsCertPem, appDer, { tls10: true });
    assert.equal(answer.status, 0, JSON.stringify(answer));
  });

  it('counts requests in Prometheus metrics and says when it cannot answer (health 503, connection closed, no crash)', async () => {
    const dbDir = await tempDir();
    const own = new TvsStore(await openServiceStore(path.join(dbDir, 'own.db'), [TVS_MIGRATIONS]));
    await own.put([{ certificate: p.app.certDer, serial: '01', subject: 's', issuer: 'i', roles: [1], ttl: 10 }]);
    const { port, sink, metrics } = await serve({ store: own });
    const m = await startMetricsServer({ host: '127.0.0.1', port: 0 }, metrics, async () => {
      await own.db.ping();
      return { ok: true };
    });
    const get = (pathname: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: m.address.port, path: pathname }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        }).on('error', reject);
      });
    try {
      await phoneAsks(port, tvsCertPem, appDer);
      await phoneAsks(port, tvsCertPem, strangerDer);
      await phoneAsks(port, tvsCertPem, strangerDer);
      const text = (await get('/metrics')).body;
      assert.match(text, /openctl_tvs_requests_total\{verdict="trusted"\} 1\b/);
      assert.match(text, /openctl_tvs_requests_total\{verdict="not_trusted"\} 2\b/);
      assert.match(text, /openctl_tvs_request_duration_seconds_count\{verdict="trusted"\} 1\b/);
      assert.deepEqual(await get('/health'), { status: 200, body: '{"status":"ok"}' });
      await own.db.close(); // the store goes away under the running server
      const health = await get('/health');
      assert.equal(health.status, 503);
      assert.match(health.body, /the store is closed/);
      const answer = await phoneAsks(port, tvsCertPem, appDer);
      assert.match(String(answer.error), /short answer \(0 bytes\)/, 'no "not trusted" when the store cannot say');
      assert.match(String((await sink.waitFor('store-error'))[0]!.error), /the store is closed/);
      assert.match((await get('/metrics')).body, /openctl_tvs_connections_total\{result="store_error"\} 1\b/);
    } finally {
      await m.close();
      await fs.rm(dbDir, { recursive: true, force: true });
    }
  });

  it('drains: stops accepting, finishes the request in flight, then resolves', async () => {
    const { port, running, sink } = await serve();
    const inFlight = await tlsConnect(port);
    const request = encodeVerifyRequest({ session: 77, deviceName: 'CP-8845-SEP0011223344AA', certificate: p.app.certDer });
    inFlight.write(request.subarray(0, 20));
    const parts: Buffer[] = [];
    inFlight.on('data', (c: Buffer) => parts.push(c));
    const answered = new Promise<void>((resolve) => inFlight.on('end', () => resolve()));
    const drained = running.drain(5000);
    await new Promise((r) => setTimeout(r, 100));
    const late = net.connect(port, '127.0.0.1');
    late.on('error', () => undefined);
    assert.equal(await closedWithin(late, 2000), true, 'no new connections once draining');
    inFlight.write(request.subarray(20));
    await answered;
    assert.deepEqual(Buffer.concat(parts), encodeVerifyResponse({ session: 77, trusted: true, roles: [1, 7], ttl: 3600 }));
    assert.deepEqual(await drained, { cut: 0 });
    assert.equal((await sink.waitFor('request', 1)).length, 1);
  });

  describe('the client', () => {
    it('authenticates the server by the TVS record of an ITL, and refuses another server', async () => {
      const { port } = await serve();
      const itl = await itlWithTvs(p);
      const anchors = tvsAnchorsFrom(itl, 'ITLFile.tlv');
      assert.equal(anchors.source, 'ITLFile.tlv (TVS record)');
      const ok = await queryTvs({ host: '127.0.0.1', port }, anchors, { certificate: p.app.certDer, deviceName: 'CP-8845-SEP0011223344AA' });
      assert.deepEqual(ok.response.trusted && [ok.response.roles, ok.response.ttl], [[1, 7], 3600]);
      const otherItl = tvsAnchorsFrom(await itlWithTvs(p, p.otherTvs), 'other-ITLFile.tlv');
      await assert.rejects(
        queryTvs({ host: '127.0.0.1', port }, otherItl, { certificate: p.app.certDer, deviceName: 'CP-8845-SEP0011223344AA' }),
        (e: unknown) => e instanceof NetworkError && /is not one of other-ITLFile.tlv \(TVS record\): not the TVS a phone would trust/.test(e.message),
      );
    });

    it('turns a refused port, a silent server and a non-TVS server into exit-4 errors', async () => {
      const anchors = { certificates: [p.tvs.certDer], source: 'tvs.pem' };
      const query = { certificate: p.app.certDer, deviceName: 'CP-8845-SEP0011223344AA' };
      const closed = net.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
      const closedPort = (closed.address() as net.AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      await assert.rejects(queryTvs({ host: '127.0.0.1', port: closedPort }, anchors, query), (e: unknown) => e instanceof NetworkError && e.exitCode === 4 && /connection refused/.test(e.message));
      const silent = net.createServer(() => undefined);
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
      const silentPort = (silent.address() as net.AddressInfo).port;
      await assert.rejects(queryTvs({ host: '127.0.0.1', port: silentPort }, anchors, query, { timeoutMs: 300 }), (e: unknown) => e instanceof NetworkError && /no TLS connection in 300 ms/.test(e.message));
      silent.close();
      // A TLS server with the right certificate that answers HTTP instead of TVS.
      const liar = tls.createServer({ key: p.tvs.keyPem, cert: p.tvs.certPem }, (s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
      await new Promise<void>((r) => liar.listen(0, '127.0.0.1', () => r()));
      const liarPort = (liar.address() as net.AddressInfo).port;
      await assert.rejects(queryTvs({ host: '127.0.0.1', port: liarPort }, anchors, query), (e: unknown) => e instanceof NetworkError && /not a TVS answer: not a TVS message/.test(e.message));
      liar.close();
    });
  });
});
