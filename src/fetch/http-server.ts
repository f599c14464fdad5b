import * as http from 'node:http';
import { promises as fs } from 'node:fs';
import { readInput } from '../util/read-input';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';

/** A small read-only HTTP file server standing in for CUCM's port 6970 (tests and labs, 127.0.0.1). */
export interface HttpFileServerOptions {
  root?: string;
  files?: ReadonlyMap<string, Buffer> | Record<string, Buffer>;
  host?: string; // default 127.0.0.1
  port?: number; // default 0: ephemeral
}

export interface RunningHttpServer {
  host: string;
  port: number;
  requests: Array<{ path: string; status: number }>;
  close(): Promise<void>;
}

export async function startHttpFileServer(options: HttpFileServerOptions): Promise<RunningHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const memory = new Map<string, Buffer>();
  if (options.files) {
    const entries = options.files instanceof Map ? [...options.files] : Object.entries(options.files);
    for (const [name, data] of entries) memory.set(name.toLowerCase(), data);
  }
  const requests: RunningHttpServer['requests'] = [];
  const find = async (name: string): Promise<Buffer | undefined> => {
    if (name === '' || name.includes('..') || name.includes('/') || name.includes('\\')) return undefined;
    const m = memory.get(name.toLowerCase());
    if (m) return m;
    if (!options.root) return undefined;
    try {
      const entries = await fs.readdir(options.root);
      const match = entries.find((e) => e.toLowerCase() === name.toLowerCase());
      // A FIFO or device dropped in the served folder must not hang the server: regular files only, capped.
      return match ? await readInput(path.join(options.root, match)) : undefined;
    } catch {
      return undefined;
    }
  };
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').split('?')[0]!.replace(/^\/+/, ''));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      requests.push({ path: name, status: 405 });
      res.writeHead(405).end();
      return;
    }
    void find(name).then((data) => {
      const status = data ? 200 : 404;
      requests.push({ path: name, status });
      if (!data) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  return {
    host,
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
