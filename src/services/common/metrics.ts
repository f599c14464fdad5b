import * as http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ListenAddress } from './listen';
import { formatAddress } from './listen';

/**
 * Prometheus metrics of one service (its own registry, so that two services or two test servers in one process
 * never share counters), and the small HTTP server of `--metrics HOST:PORT`: `GET /metrics` (text format) and
 * `GET /health` (200 when the service can answer, 503 with the reason when it cannot, e.g. the store is down).
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly connections: Counter<'result'>;
  readonly activeConnections: Gauge;
  readonly duration: Histogram<'verdict'>;
  readonly requests: Counter<'verdict'>;

  /** `prefix`: `openctl_tvs`, `openctl_capf`. */
  constructor(readonly prefix: string) {
    collectDefaultMetrics({ register: this.registry, prefix: `${prefix}_` });
    this.connections = new Counter({
      name: `${prefix}_connections_total`,
      help: 'Connections by how they ended: answered, refused (connection cap), tls_error, protocol_error, timeout, closed, store_error',
      labelNames: ['result'],
      registers: [this.registry],
    });
    this.activeConnections = new Gauge({ name: `${prefix}_connections_active`, help: 'Open connections (TLS handshakes included)', registers: [this.registry] });
    this.requests = new Counter({ name: `${prefix}_requests_total`, help: 'Requests answered, by verdict', labelNames: ['verdict'], registers: [this.registry] });
    this.duration = new Histogram({
      name: `${prefix}_request_duration_seconds`,
      help: 'From the end of the TLS handshake to the answer written',
      labelNames: ['verdict'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
  }
}

export type HealthCheck = () => Promise<{ ok: boolean; detail?: Record<string, unknown> }>;

export interface MetricsServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startMetricsServer(at: ListenAddress, metrics: ServiceMetrics, health: HealthCheck): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (url === '/health' || url === '/healthz') {
      withTimeout(health(), 2000).then(
        (r) => res.writeHead(r.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: r.ok ? 'ok' : 'failing', ...r.detail })),
        (err: Error) => res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'failing', error: err.message })),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics or /health\n');
    }
  });
  server.requestTimeout = 5000;
  server.headersTimeout = 5000;
  server.keepAliveTimeout = 2000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as { address: string; port: number };
  return {
    address: { host: addr.address, port: addr.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export { formatAddress };
