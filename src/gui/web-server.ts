/**
 * Web mode: the same renderer bundle and the same service, over HTTP on 127.0.0.1 only, for testing and for headless
 * admin hosts reached over an SSH tunnel. The service can sign with tokens and write files, so every request must
 * prove it comes from the person who started it:
 * - a random session token, given once in the URL; the page keeps it in its own sessionStorage (bound to
 *   http://127.0.0.1:PORT) and sends it as the x-openctl-session header with every API call and the event stream.
 *   Never a cookie: a browser sends the cookies of 127.0.0.1 to every port of it, so any other local service
 *   the browser visits would receive the token. The app's static files (no secrets) load without it;
 * - the Host header must be 127.0.0.1:PORT or localhost:PORT (DNS rebinding), and a present Origin must be the same
 *   (cross-site requests), else 403;
 * - API calls are POSTs of application/json (no form can send one cross-site without a preflight).
 */
import * as http from 'node:http';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { HTTP_API_PREFIX, HTTP_EVENTS_PATH, SESSION_HEADER, type GuiApi } from './contract';
import { dispatch } from './dispatch';
import type { EventHub } from './events';
import { CONTENT_SECURITY_POLICY } from './csp';

export interface WebServerOptions {
  service: GuiApi;
  events: EventHub;
  /** Folder of the built renderer (index.html, app.js, app.css). */
  rendererDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Fixed token for tests; random (32 bytes) by default. */
  token?: string;
}

export interface RunningWebServer {
  /** The URL to open, token included. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 72 * 1024 * 1024;
const KEEPALIVE_MS = 15_000;
const STATIC_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
};

export async function startWebServer(options: WebServerOptions): Promise<RunningWebServer> {
  const token = options.token ?? randomBytes(32).toString('base64url');
  const rendererDir = path.resolve(options.rendererDir);
  const streams = new Set<http.ServerResponse>();
  let port = 0;

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
    const host = req.headers.host ?? '';
    if (!allowedHosts.includes(host.toLowerCase())) return send(res, 403, 'forbidden: unexpected Host header');
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedHosts.some((h) => origin.toLowerCase() === `http://${h}`)) {
      return send(res, 403, 'forbidden: cross-origin request');
    }
    if (req.headers['sec-fetch-site'] === 'cross-site') return send(res, 403, 'forbidden: cross-site request');

    const url = new URL(req.url ?? '/', `http://${host}`);
    const queryToken = url.searchParams.get('token');
    if (queryToken !== null && url.pathname === '/' && req.method === 'GET') {
      if (!sameSecret(queryToken, token)) return send(res, 401, 'unauthorized: wrong session token');
      // The page takes the token from its address, keeps it in sessionStorage and drops it from the address bar.
      return serveStatic('/', res);
    }
    const isApi = url.pathname.startsWith(HTTP_API_PREFIX) || url.pathname === HTTP_EVENTS_PATH;
    if (!isApi) {
      // The app's own files: the same for everyone, no secret in them; what they can do needs the token.
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
      return serveStatic(url.pathname, res);
    }
    if (!authorised(req)) return drainThen(req, () => send(res, 401, 'unauthorized: open the URL that `openctl gui --web` printed'));

    if (url.pathname === HTTP_EVENTS_PATH && req.method === 'GET') return openEventStream(req, res);
    if (url.pathname.startsWith(HTTP_API_PREFIX)) {
      if (req.method !== 'POST') return drainThen(req, () => send(res, 405, 'method not allowed'));
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/json') return drainThen(req, () => send(res, 415, 'API calls are application/json'));
      let body: unknown;
      try {
        body = JSON.parse((await readBody(req)).toString('utf8') || '{}');
      } catch (err) {
        if (err instanceof BodyTooLarge) return send(res, 413, `request too large (the limit is ${MAX_BODY_BYTES} bytes)`, { Connection: 'close' });
        if (req.destroyed) return;
        return send(res, 400, 'malformed JSON');
      }
      const envelope = await dispatch(options.service, url.pathname.slice(HTTP_API_PREFIX.length), body);
      return sendJson(res, 200, envelope);
    }
    return send(res, 405, 'method not allowed');
  }

  /** The header only: cookies reach every port of 127.0.0.1, a header only the page that holds the token. */
  function authorised(req: http.IncomingMessage): boolean {
    const header = req.headers[SESSION_HEADER];
    return typeof header === 'string' && sameSecret(header, token);
  }

  async function serveStatic(pathname: string, res: http.ServerResponse): Promise<void> {
    let relative: string;
    try {
      relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname.slice(1));
    } catch {
      return send(res, 404, 'not found');
    }
    const file = path.resolve(rendererDir, relative);
    const type = STATIC_TYPES[path.extname(file)];
    if (!file.startsWith(rendererDir + path.sep) || !type) return send(res, 404, 'not found');
    let data: Buffer;
    try {
      data = await fs.readFile(file);
    } catch {
      return send(res, 404, 'not found');
    }
    res.writeHead(200, { ...securityHeaders(), 'Content-Type': type, 'Cache-Control': 'no-store' });
    res.end(data);
  }

  function openEventStream(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, {
      ...securityHeaders(),
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    res.write(': openctl events\n\n');
    streams.add(res);
    const unsubscribe = options.events.subscribe((name, payload) => {
      res.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`);
    });
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    const close = () => {
      clearInterval(keepalive);
      unsubscribe();
      streams.delete(res);
    };
    req.on('close', close);
    res.on('close', close);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const stream of streams) stream.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function securityHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

function send(res: http.ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...securityHeaders(), 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...extra });
  res.end(`${text}\n`);
}

/**
 * Answer a refused request after reading (and dropping) what the client still sends, up to the body limit:
 * replying and closing while the client is mid-upload resets the connection, and the client never reads the
 * status. Longer bodies are cut with the reply sent first.
 */
function drainThen(req: http.IncomingMessage, reply: () => void): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (req.complete || declared > MAX_BODY_BYTES) {
    reply();
    return;
  }
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > MAX_BODY_BYTES) req.destroy();
  });
  req.on('end', reply);
  req.on('error', () => undefined);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { ...securityHeaders(), 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(value));
}

class BodyTooLarge extends Error {}

/**
 * The body, refused (BodyTooLarge) past MAX_BODY_BYTES: at once when Content-Length says so, else when the
 * count passes it. The rest of an oversized body is read and dropped rather than the connection reset, so that
 * the client gets its 413 (the response says Connection: close).
 */
function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      req.resume();
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true; // keep reading to the end (dropping it), then refuse: the client reads its 413
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => (tooLarge ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
