/**
 * What every openctl service (TVS, CAPF) shares: the TLS listener (tls-server.ts), message reassembly with a
 * size limit and a timer (framing.ts), `--listen` parsing (listen.ts), JSON-lines logging (log.ts), Prometheus
 * metrics and the health endpoint (metrics.ts), and SIGTERM drain (`RunningService.drain`).
 *
 * How a service uses it (src/services/tvs/server.ts is the example):
 *   const metrics = new ServiceMetrics('openctl_capf');
 *   const running = await startTlsService({
 *     name: 'capf', listen, defaultPort: 3804, key, certificates: [cert], tlsMin, log: jsonLogger(process.stderr),
 *     metrics,
 *     async handle(conn) {                              // one call per TLS connection
 *       const reader = new FrameReader(conn.socket, CAPF_FRAMING, MAX_BYTES);
 *       await conn.write(firstMessage);                  // the server may speak first
 *       const message = await reader.next(10_000);       // throws FrameError: timeout, closed, too-large, bad-header
 *       ...                                              // return (or throw): the listener closes the connection
 *     },
 *   });
 *   const stopMetrics = await startMetricsServer(at, metrics, async () => ({ ok: true }));
 *   on SIGTERM: await running.drain(graceMs); await stopMetrics.close();
 * A CLI `serve` command calls `ctx.stopsOnSignal()` so that a drained SIGTERM exits 0 (see runServe in serve.ts).
 */
export { startTlsService, parseTlsMin, peerOf, DEFAULTS, type TlsMinVersion, type TlsServiceOptions, type RunningService, type ServiceConnection } from './tls-server';
export { FrameReader, FrameError, type Framing, type FrameProblem } from './framing';
export { parseListen, formatAddress, type ListenAddress } from './listen';
export { jsonLogger, silentLogger, type JsonLogger } from './log';
export { ServiceMetrics, startMetricsServer, type HealthCheck, type MetricsServer } from './metrics';
export { runServe, type ServeOptions } from './serve';
