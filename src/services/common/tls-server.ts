import * as net from 'node:net';
import * as tls from 'node:tls';
import type { KeyObject } from 'node:crypto';
import { OpenctlError } from '../../util/errors';
import { formatAddress, type ListenAddress } from './listen';
import type { JsonLogger } from './log';
import type { ServiceMetrics } from './metrics';

/**
 * The TLS listener every service (TVS, CAPF) runs on. It owns what must hold for any protocol:
 * - accepting happens on plain TCP servers, one per address; the TLS handshake runs on the shared tls.Server with
 *   a handshake timeout, so a silent peer costs one socket for at most that long, never the accept loop;
 * - a cap on open connections (handshakes included): above it, a new connection is closed at once, logged and
 *   counted, and the connections already open are served as usual;
 * - non-TLS bytes (plain TCP, HTTP, garbage) fail the handshake: one log line, that connection closed;
 * - a session timeout: no connection lives longer, whatever the protocol code does;
 * - drain (SIGTERM): stop accepting, let connections in flight finish within a grace period, cut the rest.
 * The protocol is the service's `handle`: read with FrameReader (framing.ts), write, return; the listener ends
 * the connection when `handle` settles.
 */

export type TlsMinVersion = '1.0' | '1.1' | '1.2' | '1.3';

const TLS_VERSION: Record<TlsMinVersion, tls.SecureVersion> = { '1.0': 'TLSv1', '1.1': 'TLSv1.1', '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' };

export function parseTlsMin(value: string | undefined): TlsMinVersion {
  const v = (value ?? '1.2').replace(/^tlsv?/i, '');
  if (v === '1.0' || v === '1.1' || v === '1.2' || v === '1.3') return v;
  if (v === '1') return '1.0';
  throw new OpenctlError(`--tls-min must be 1.0, 1.1, 1.2 or 1.3, not "${value}"`);
}

export interface ServiceConnection {
  /** A number for log lines, unique per process. */
  id: number;
  /** `ADDRESS:PORT` of the phone (IPv4-mapped IPv6 addresses shown as IPv4). */
  peer: string;
  socket: tls.TLSSocket;
  /** When the TLS handshake finished (performance.now()). */
  securedAt: number;
  /** Write and wait until the bytes are handed to the kernel (or the connection is gone). */
  write(data: Buffer): Promise<void>;
}

export interface TlsServiceOptions {
  /** The service's name in log lines: `tvs`, `capf`. */
  name: string;
  /** Where to listen; empty: `defaultPort` on every address, IPv6 and IPv4. */
  listen: readonly ListenAddress[];
  defaultPort: number;
  key: KeyObject;
  /** The service certificate (DER); chain certificates may follow. */
  certificates: readonly Buffer[];
  tlsMin?: TlsMinVersion;
  handshakeTimeoutMs?: number;
  /** No connection lives longer than this (default 60 s). */
  sessionTimeoutMs?: number;
  maxConnections?: number;
  log: JsonLogger;
  metrics?: ServiceMetrics;
  handle(connection: ServiceConnection): Promise<void>;
}

export interface RunningService {
  /** The addresses actually bound (port 0 resolved). */
  addresses: ReadonlyArray<{ host: string; port: number; text: string }>;
  openConnections(): number;
  /** Stop accepting; wait up to `graceMs` for open connections to finish; then cut what is left. */
  drain(graceMs: number): Promise<{ cut: number }>;
}

export const DEFAULTS = { handshakeTimeoutMs: 10_000, sessionTimeoutMs: 60_000, maxConnections: 1024 } as const;

let nextId = 1;

export async function startTlsService(options: TlsServiceOptions): Promise<RunningService> {
  const { log, metrics } = options;
  const maxConnections = options.maxConnections ?? DEFAULTS.maxConnections;
  const sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs;
  const tlsMin = options.tlsMin ?? '1.2';
  const pem = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
  const tlsServer = tls.createServer({
    key: options.key.export({ format: 'pem', type: 'pkcs8' }),
    cert: options.certificates.map(pem).join(''),
    minVersion: TLS_VERSION[tlsMin],
    // OpenSSL 3 refuses TLS 1.0/1.1 below security level 0 (SHA-1 handshake signatures): old phones need it.
    ...(tlsMin === '1.0' || tlsMin === '1.1' ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
    handshakeTimeout: options.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
    requestCert: false,
  });

  const open = new Set<net.Socket>();
  let draining = false;

  tlsServer.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    const timedOut = err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
    metrics?.connections.inc({ result: timedOut ? 'timeout' : 'tls_error' });
    log.log(timedOut ? 'handshake-timeout' : 'tls-error', { peer: peerOf(socket), error: describeTlsError(err) });
    socket.destroy();
  });

  tlsServer.on('secureConnection', (socket: tls.TLSSocket) => {
    socket.on('error', () => undefined); // resets are seen by the protocol's reader as a closed connection
    const connection: ServiceConnection = {
      id: nextId++,
      peer: peerOf(socket),
      socket,
      securedAt: performance.now(),
      write: (data) =>
        new Promise<void>((resolve) => {
          if (socket.destroyed) return resolve();
          socket.write(data, () => resolve());
        }),
    };
    options.handle(connection).then(
      () => {
        socket.end();
        // A peer that never reads its answer does not keep the socket.
        setTimeout(() => socket.destroy(), 2000).unref();
      },
      (err: unknown) => {
        log.log('internal-error', { peer: connection.peer, error: err instanceof Error ? err.message : String(err) });
        socket.destroy();
      },
    );
  });

  const onTcp = (raw: net.Socket) => {
    raw.on('error', () => undefined);
    if (draining || open.size >= maxConnections) {
      metrics?.connections.inc({ result: 'refused' });
      log.log('refused', { peer: peerOf(raw), reason: draining ? 'shutting down' : `connection limit (${maxConnections})` });
      raw.destroySoon();
      return;
    }
    PEERS.set(raw, peerOf(raw)); // a reset socket forgets its address before its error is logged
    open.add(raw);
    metrics?.activeConnections.set(open.size);
    const lifetime = setTimeout(() => {
      log.log('session-timeout', { peer: peerOf(raw), ms: sessionTimeoutMs });
      raw.destroy();
    }, sessionTimeoutMs);
    lifetime.unref();
    raw.once('close', () => {
      clearTimeout(lifetime);
      open.delete(raw);
      metrics?.activeConnections.set(open.size);
    });
    tlsServer.emit('connection', raw);
  };

  const servers: net.Server[] = [];
  const addresses: Array<{ host: string; port: number; text: string }> = [];
  const wanted = options.listen.length > 0 ? options.listen : [{ port: options.defaultPort }];
  try {
    for (const at of wanted) {
      const server = await listenTcp(at, onTcp);
      servers.push(server);
      const bound = server.address() as net.AddressInfo;
      addresses.push({ host: bound.address, port: bound.port, text: formatAddress(bound.address, bound.port) });
    }
  } catch (err) {
    for (const server of servers) server.close();
    throw err;
  }

  return {
    addresses,
    openConnections: () => open.size,
    async drain(graceMs: number) {
      draining = true;
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      const deadline = Date.now() + graceMs;
      while (open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const cut = open.size;
      for (const socket of open) socket.destroy();
      return { cut };
    },
  };
}

/** Listen on one address; no host: `::` with IPv4 mapped (dual stack), or 0.0.0.0 where IPv6 is off. */
async function listenTcp(at: ListenAddress, onTcp: (socket: net.Socket) => void): Promise<net.Server> {
  const attempt = (host: string, ipv6Only: boolean) =>
    new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer({ noDelay: true }, onTcp);
      server.once('error', reject);
      server.listen({ port: at.port, host, ipv6Only, backlog: 1024 }, () => {
        server.off('error', reject);
        server.on('error', () => undefined);
        resolve(server);
      });
    });
  const shown = formatAddress(at.host ?? '*', at.port);
  try {
    if (at.host !== undefined) return await attempt(at.host, false);
    try {
      return await attempt('::', false);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL' && code !== 'EINVAL') throw err;
      return await attempt('0.0.0.0', false);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reasons: Record<string, string> = {
      EADDRINUSE: 'the address is in use (another TVS/CAPF running?)',
      EACCES: 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
      EADDRNOTAVAIL: 'this machine has no such address',
      ENOTFOUND: 'unknown host name',
      EAI_AGAIN: 'unknown host name',
    };
    throw new OpenctlError(`--listen ${shown}: ${(code && reasons[code]) ?? (err as Error).message}`);
  }
}

const PEERS = new WeakMap<net.Socket, string>();

export function peerOf(socket: net.Socket): string {
  const known = PEERS.get(socket) ?? PEERS.get((socket as { _parent?: net.Socket })._parent as net.Socket);
  if (known) return known;
  const address = (socket.remoteAddress ?? '?').replace(/^::ffff:/, '');
  return formatAddress(address, socket.remotePort ?? 0);
}

/** OpenSSL's reasons, in words a log reader searches for: an HTTP request, plain bytes, a timeout. */
function describeTlsError(err: NodeJS.ErrnoException): string {
  const reason = (err as { reason?: string }).reason;
  if (err.code === 'ERR_SSL_HTTP_REQUEST' || /http request/i.test(reason ?? '')) return 'not TLS: an HTTP request';
  if (err.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(reason ?? '')) return 'not TLS (or an unsupported TLS version)';
  if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'TLS handshake timed out';
  if (err.code === 'ECONNRESET') return 'connection reset during the TLS handshake';
  return reason ?? err.message;
}
