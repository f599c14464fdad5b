import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { appEnv, launchChromium, startWebGui, type WebGui } from './support';
import { vector } from '../helpers/paths';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request, so that Host and Origin can be anything a hostile page or a rebinding DNS name would send. */
function request(port: number, options: { path?: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: options.path ?? '/', method: options.method ?? 'GET', headers: { Host: `127.0.0.1:${port}`, ...options.headers } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

describe('gui: web mode server (openctl gui --web)', function () {
  this.timeout(60_000);
  let gui: WebGui;
  let dataDir: string;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-gui-web-'));
    // No PKCS#11 module on purpose: the server and its checks do not depend on tokens.
    gui = await startWebGui(appEnv(process.env, dataDir, path.join(dataDir, 'no-such-module.so')));
  });

  after(async () => {
    const code = await gui?.stop();
    assert.equal(code, 130, `SIGTERM stops the server cleanly (interrupted), got ${code}`);
    assert.equal(gui.stdout().trim().split('\n').length, 1, 'the URL is the only line on stdout');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const api = (method: string, body: unknown, headers: Record<string, string> = {}) =>
    request(gui.port, {
      path: `/api/${method}`,
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'x-openctl-session': gui.token, ...headers },
      body: JSON.stringify(body),
    });

  it('prints one URL on 127.0.0.1 with a random session token', () => {
    assert.match(gui.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{40,}$/);
    assert.notEqual(gui.port, 0);
  });

  it('refuses every API call and the event stream without the session token (401); the app\'s files hold no secret', async () => {
    for (const p of ['/api/events']) assert.equal((await request(gui.port, { path: p })).status, 401, p);
    const call = await request(gui.port, { path: '/api/appInfo', method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(call.status, 401);
    // The page and its script load without the token (a <script> cannot send a header); they carry no secret.
    for (const p of ['/', '/index.html', '/app.js']) {
      const reply = await request(gui.port, { path: p });
      assert.equal(reply.status, 200, p);
      assert.ok(!reply.body.includes(gui.token), `${p} holds the token`);
    }
  });

  it('refuses a wrong token, in the URL or the header, and any cookie, even holding the right token (401)', async () => {
    const wrong = gui.token.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    assert.equal((await request(gui.port, { path: `/?token=${wrong}` })).status, 401);
    assert.equal((await api('appInfo', {}, { 'x-openctl-session': wrong })).status, 401);
    // Cookies are not a way in: the browser would send them to every port of 127.0.0.1.
    const cookieOnly = await request(gui.port, {
      path: '/api/appInfo',
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: `openctl_session_${gui.port}=${gui.token}` },
      body: '{}',
    });
    assert.equal(cookieOnly.status, 401);
  });

  it('serves the app for the URL with the token, sets no cookie, with a strict CSP', async () => {
    const page = await request(gui.port, { path: `/?token=${gui.token}` });
    assert.equal(page.headers['set-cookie'], undefined, 'no cookie');
    assert.equal(page.status, 200);
    assert.match(page.body, /<script src="app.js"><\/script>/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-eval|unsafe-inline|\*/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
  });

  it('refuses a Host other than 127.0.0.1:PORT or localhost:PORT, token or not (403)', async () => {
    for (const host of ['evil.example:80', `evil.example:${gui.port}`, '127.0.0.1', `127.0.0.1:${gui.port + 1}`, `[::1]:${gui.port}`]) {
      const reply = await request(gui.port, { path: '/', headers: { Host: host, 'x-openctl-session': gui.token } });
      assert.equal(reply.status, 403, host);
    }
    const ok = await request(gui.port, { path: '/', headers: { Host: `localhost:${gui.port}`, 'x-openctl-session': gui.token } });
    assert.equal(ok.status, 200);
  });

  it('refuses an Origin other than the app\'s own (403), even with the token', async () => {
    for (const origin of ['http://evil.example', `http://127.0.0.1:${gui.port + 1}`, 'null', `https://127.0.0.1:${gui.port}`]) {
      const reply = await api('appInfo', {}, { Origin: origin });
      assert.equal(reply.status, 403, origin);
    }
    const same = await api('appInfo', {}, { Origin: `http://127.0.0.1:${gui.port}` });
    assert.equal(same.status, 200);
  });

  it('takes API calls only as POSTs of JSON (405, 415)', async () => {
    assert.equal((await request(gui.port, { path: '/api/appInfo', headers: { 'x-openctl-session': gui.token } })).status, 405);
    const form = await request(gui.port, {
      path: '/api/appInfo',
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'x-openctl-session': gui.token },
      body: 'a=b',
    });
    assert.equal(form.status, 415);
  });

  it('serves nothing outside the renderer folder (404)', async () => {
    for (const p of ['/../../package.json', '/%2e%2e/%2e%2e/package.json', '/..%2f..%2fpackage.json', '/app.ts', '/%E0%A4%A']) {
      const reply = await request(gui.port, { path: p, headers: { 'x-openctl-session': gui.token } });
      assert.equal(reply.status, 404, p);
    }
  });

  it('answers contract calls, validates requests and names the problem in one line', async () => {
    const info = JSON.parse((await api('appInfo', {})).body);
    assert.equal(info.ok, true);
    assert.equal(info.value.mode, 'web');
    assert.equal(info.value.dialogs, false);

    const unknownField = JSON.parse((await api('inspect', { file: { path: 'x' }, extra: 1 })).body);
    assert.equal(unknownField.ok, false);
    assert.match(unknownField.error.message, /invalid request: extra: unknown field/);

    const unknownMethod = JSON.parse((await api('runShell', {})).body);
    assert.equal(unknownMethod.ok, false);
    assert.match(unknownMethod.error.message, /unknown method/);

    const report = JSON.parse((await api('inspect', { file: { path: vector('CTLFile-sha1.tlv') } })).body);
    assert.equal(report.ok, true);
    assert.equal(report.value.kind, 'ctl');
    assert.equal(report.value.verdict.valid, true);

    const tampered = JSON.parse((await api('inspect', { file: { path: vector('CTLFile-tampered.tlv') } })).body);
    assert.equal(tampered.value.verdict.valid, false);

    const missing = JSON.parse((await api('inspect', { file: { path: '/no/such/file.tlv' } })).body);
    assert.equal(missing.ok, false);
    assert.equal(missing.error.message, '/no/such/file.tlv: cannot read: no such file');
  });

  it('streams events to an authorised client only', async () => {
    const reply = await new Promise<{ status: number; type: string; first: string }>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port: gui.port, path: '/api/events', headers: { Host: `127.0.0.1:${gui.port}`, 'x-openctl-session': gui.token } },
        (res) => {
          res.once('data', (c: Buffer) => {
            resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), first: c.toString('utf8') });
            req.destroy();
          });
        },
      );
      req.on('error', reject);
    });
    assert.equal(reply.status, 200);
    assert.match(reply.type, /text\/event-stream/);
    assert.match(reply.first, /^: openctl events/);
  });

  it('a body over the limit gets 413, not a reset: declared too large, or sent too large (72 MB + 1)', async () => {
    const send = (declared: number | undefined, bytes: number) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const headers: Record<string, string> = { Host: `127.0.0.1:${gui.port}`, 'Content-Type': 'application/json', 'x-openctl-session': gui.token };
        if (declared !== undefined) headers['Content-Length'] = String(declared);
        const req = http.request({ host: '127.0.0.1', port: gui.port, path: '/api/appInfo', method: 'POST', headers }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        let left = bytes;
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!req.write(chunk.subarray(0, n))) return void req.once('drain', pump);
          }
          if (declared === undefined) req.end();
        };
        pump();
      });
    const declared = await send(200 * 1024 * 1024, 1024 * 1024);
    assert.equal(declared.status, 413);
    assert.match(declared.body, /request too large/);
    const sent = await send(undefined, 72 * 1024 * 1024 + 1);
    assert.equal(sent.status, 413);
    // The server still answers afterwards.
    assert.equal((await api('appInfo', {})).status, 200);
  });

  it('refused calls write nothing: a wrong Origin, no token, or an invalid request to saveCluster', async () => {
    const target = path.join(dataDir, 'refused-cluster.json');
    const cluster = { name: 'c', sast: [], servers: [] };
    assert.equal((await api('saveCluster', { path: target, cluster }, { Origin: 'http://evil.example' })).status, 403);
    assert.equal((await api('saveCluster', { path: target, cluster }, { 'x-openctl-session': 'nope' })).status, 401);
    const invalid = JSON.parse((await api('saveCluster', { path: target, cluster, extra: true })).body);
    assert.equal(invalid.ok, false);
    assert.ok(!fs.existsSync(target), 'nothing written');
    assert.deepEqual(fs.readdirSync(dataDir).filter((n) => n.includes('refused')), []);
  });

  it('the session token never reaches another service on 127.0.0.1 (a browser sends cookies to every port)', async function () {
    this.timeout(120_000);
    // Another local service the same browser visits afterwards: it records what the browser sends it.
    const seen: http.IncomingHttpHeaders[] = [];
    const other = http.createServer((req, res) => {
      seen.push(req.headers);
      res.end('<html><body>other service</body></html>');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherPort = (other.address() as AddressInfo).port;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const answered = page.waitForResponse((r) => r.url().includes('/api/') && r.status() === 200, { timeout: 60_000 });
      await page.goto(gui.url);
      await answered; // the app is working: it made an authorised API call
      assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
      assert.equal(await page.evaluate("sessionStorage.getItem('openctl-session')"), gui.token);
      await page.goto(`http://127.0.0.1:${otherPort}/`);
      await page.goto(`http://localhost:${otherPort}/`);
      assert.ok(seen.length >= 2);
      for (const headers of seen) {
        const all = JSON.stringify(headers);
        assert.ok(!all.includes(gui.token), `another port received the token: ${all}`);
        assert.equal(headers.cookie, undefined, `a cookie reached another port: ${headers.cookie}`);
      }
      // That origin cannot read the app's storage either (sessionStorage is per origin, port included).
      assert.equal(await page.evaluate("sessionStorage.getItem('openctl-session')"), null);
    } finally {
      await browser.close();
      other.close();
    }
  });
});
