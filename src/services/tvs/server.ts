import { createHash, type KeyObject } from 'node:crypto';
import { FrameError, FrameReader, startTlsService, type JsonLogger, type ListenAddress, type RunningService, type ServiceConnection, type ServiceMetrics, type TlsMinVersion } from '../common';
import { StoreError } from '../../store';
import type { TvsStore } from '../../store/tvs';
import { DEVICE_NAME, TVS_FRAMING, TVS_PORT, decodeVerifyRequest, encodeVerifyResponse, type VerifyRequest } from './messages';
import { roleName } from '../../formats/roles';

/**
 * The TVS server: one verify request per TLS connection, answered from the store (asked on every request, so
 * `tvs add` / `tvs remove` take effect at once) and closed. Anything else (a bad header, a wrong command, a
 * truncated or oversized message, a peer that stops talking, a store that cannot answer) closes that connection
 * with one log line; phones then try again or fall back, as they do when TVS is unreachable. A store failure is
 * never answered "not trusted": that would make phones reject certificates the cluster vouches for.
 */

export interface TvsServerOptions {
  store: TvsStore;
  listen: readonly ListenAddress[];
  key: KeyObject;
  certificates: readonly Buffer[];
  tlsMin?: TlsMinVersion;
  handshakeTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxConnections?: number;
  /** Header included (default 16 KiB: the largest certificate phones meet is a few KiB). */
  maxRequestBytes?: number;
  log: JsonLogger;
  metrics?: ServiceMetrics;
}

export const TVS_DEFAULTS = { requestTimeoutMs: 10_000, maxRequestBytes: 16 * 1024 } as const;

export function startTvsServer(options: TvsServerOptions): Promise<RunningService> {
  const { log, metrics, store } = options;
  const requestTimeoutMs = options.requestTimeoutMs ?? TVS_DEFAULTS.requestTimeoutMs;
  const maxRequestBytes = options.maxRequestBytes ?? TVS_DEFAULTS.maxRequestBytes;

  const fail = (conn: ServiceConnection, result: string, fields: Record<string, unknown>) => {
    metrics?.connections.inc({ result });
    log.log(result === 'timeout' ? 'request-timeout' : result === 'store_error' ? 'store-error' : 'protocol-error', { peer: conn.peer, ...fields });
  };

  async function handle(conn: ServiceConnection): Promise<void> {
    const reader = new FrameReader(conn.socket, TVS_FRAMING, maxRequestBytes);
    let request: VerifyRequest;
    try {
      request = decodeVerifyRequest(await reader.next(requestTimeoutMs));
    } catch (err) {
      if (err instanceof FrameError) {
        fail(conn, err.problem === 'timeout' ? 'timeout' : err.problem === 'closed' ? 'closed' : 'protocol_error', { error: err.message });
      } else {
        fail(conn, 'protocol_error', { error: (err as Error).message });
      }
      return;
    }
    const device = request.deviceName;
    if (device === undefined || !DEVICE_NAME.test(device)) {
      fail(conn, 'protocol_error', { session: request.session, device: device ?? null, error: device === undefined ? 'no device name (tag 1)' : 'device name is not CP-NNNN-SEP<12 hex>' });
      return;
    }
    if (!isDerSequence(request.certificate)) {
      fail(conn, 'protocol_error', { session: request.session, device, error: 'the certificate element is not DER' });
      return;
    }
    const sha256 = createHash('sha256').update(request.certificate).digest('hex');
    let verdict;
    try {
      verdict = await store.lookup(sha256);
    } catch (err) {
      fail(conn, 'store_error', { session: request.session, device, sha256, error: err instanceof StoreError ? err.message : String(err) });
      return;
    }
    const response = verdict
      ? encodeVerifyResponse({ session: request.session, trusted: true, roles: verdict.roles, ttl: verdict.ttl })
      : encodeVerifyResponse({ session: request.session, trusted: false });
    await conn.write(response);
    const seconds = (performance.now() - conn.securedAt) / 1000;
    const label = verdict ? 'trusted' : 'not_trusted';
    metrics?.connections.inc({ result: 'answered' });
    metrics?.requests.inc({ verdict: label });
    metrics?.duration.observe({ verdict: label }, seconds);
    log.log('request', {
      peer: conn.peer,
      device,
      session: request.session,
      sha256,
      verdict: verdict ? 'trusted' : 'not-trusted',
      ...(verdict ? { roles: verdict.roles.map(roleName), ttl: verdict.ttl } : {}),
      ms: Math.round(seconds * 100_000) / 100,
    });
  }

  return startTlsService({
    name: 'tvs',
    listen: options.listen,
    defaultPort: TVS_PORT,
    key: options.key,
    certificates: options.certificates,
    tlsMin: options.tlsMin,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    maxConnections: options.maxConnections,
    sessionTimeoutMs: (options.handshakeTimeoutMs ?? 10_000) + requestTimeoutMs + 5000,
    log,
    metrics,
    handle,
  });
}

/** A DER SEQUENCE whose length covers exactly the bytes given (enough to refuse garbage without parsing X.509). */
export function isDerSequence(der: Buffer): boolean {
  if (der.length < 2 || der[0] !== 0x30) return false;
  const first = der[1]!;
  if (first < 0x80) return der.length === 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 3 || der.length < 2 + n) return false;
  let length = 0;
  for (let i = 0; i < n; i += 1) length = length * 256 + der[2 + i]!;
  return der.length === 2 + n + length;
}
