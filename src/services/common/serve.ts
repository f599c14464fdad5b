import type { Writable } from 'node:stream';
import type { JsonLogger } from './log';
import type { MetricsServer } from './metrics';
import type { RunningService } from './tls-server';
import { formatAddress } from './listen';

export interface ServeOptions {
  stdout: Writable;
  /** Aborted on SIGTERM/SIGINT. */
  signal: AbortSignal;
  service: RunningService;
  metricsServer?: MetricsServer;
  log: JsonLogger;
  /** How long connections in flight may take to finish after SIGTERM. */
  graceMs: number;
  /** Release what the service holds (the store) once drained. */
  close?: () => Promise<void>;
}

/**
 * The life of a `serve` command once its listener is up: say where it listens (stdout, one `listening on
 * HOST:PORT` line per address, what scripts wait for), run until SIGTERM/SIGINT, then drain and release.
 */
export async function runServe(options: ServeOptions): Promise<void> {
  const { service, log } = options;
  for (const a of service.addresses) options.stdout.write(`listening on ${a.text}\n`);
  if (options.metricsServer) {
    const m = options.metricsServer.address;
    options.stdout.write(`metrics on http://${formatAddress(m.host, m.port)}/metrics\n`);
  }
  log.log('started', { listen: service.addresses.map((a) => a.text), pid: process.pid });
  if (!options.signal.aborted) {
    await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  const reason = options.signal.reason instanceof Error ? options.signal.reason.message : 'stop';
  log.log('stopping', { signal: reason, open: service.openConnections() });
  const { cut } = await service.drain(options.graceMs);
  await options.metricsServer?.close();
  await options.close?.();
  log.log('stopped', { cut });
}
