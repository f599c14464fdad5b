import { safeText } from '../util/safe-text';
import * as http from 'node:http';
import { MAX_DOWNLOAD_BYTES } from './tftp-client';

/** CUCM's TFTP service also serves its files over HTTP on this port. */
export const CUCM_HTTP_PORT = 6970;

export interface HttpGetOptions {
  port?: number; // default 6970
  /** The whole request, from connecting to the last byte (not only idle time): default 5000. */
  timeoutMs?: number;
  signal?: AbortSignal;
  maxBytes?: number;
}

export class HttpFetchError extends Error {
  constructor(
    message: string,
    readonly kind: 'not-found' | 'server-error' | 'timeout' | 'network' | 'protocol' | 'aborted',
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HttpFetchError';
  }
}

/** GET http://HOST:PORT/PATH (a phone's HTTP download from the TFTP server). */
export function httpGet(host: string, filePath: string, options: HttpGetOptions = {}): Promise<Buffer> {
  const port = options.port ?? CUCM_HTTP_PORT;
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxBytes = options.maxBytes ?? MAX_DOWNLOAD_BYTES;
  const name = filePath.replace(/^\/+/, '');
  const urlPath = `/${name.split('/').map(encodeURIComponent).join('/')}`;
  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    let received = 0;
    // A server trickling one byte a second never trips the socket's idle timeout: this bounds the total.
    const total = setTimeout(
      () => fail(new HttpFetchError(`${name}: timeout: the download from ${host}:${port} took more than ${timeoutMs} ms (${received} bytes received)`, 'timeout')),
      timeoutMs,
    );
    const fail = (err: HttpFetchError) => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      req.destroy();
      reject(err);
    };
    const req = http.get({ host, port, path: urlPath, timeout: timeoutMs, signal: options.signal, headers: { 'user-agent': 'openctl' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        if (status === 404) fail(new HttpFetchError(`${name}: HTTP 404 (not found)`, 'not-found', status));
        else fail(new HttpFetchError(`${name}: HTTP ${status}${res.statusMessage ? ` (${safeText(res.statusMessage, 200)})` : ''}`, 'server-error', status));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        received = size;
        if (size > maxBytes) fail(new HttpFetchError(`${name}: more than ${maxBytes} bytes`, 'protocol'));
        else chunks.push(c);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(total);
        resolve(Buffer.concat(chunks));
      });
      res.on('error', (err) => fail(new HttpFetchError(`${name}: ${err.message}`, 'network')));
    });
    req.on('timeout', () => fail(new HttpFetchError(`${name}: timeout: no answer from ${host}:${port} in ${timeoutMs} ms`, 'timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError') fail(new HttpFetchError(`${name}: download interrupted`, 'aborted'));
      else if (err.code === 'ECONNREFUSED') fail(new HttpFetchError(`${name}: ${host}:${port} refused the connection`, 'network'));
      else fail(new HttpFetchError(`${name}: ${host}:${port}: ${err.code ?? err.message}`, 'network'));
    });
  });
}
