import * as tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import { FrameError, FrameReader } from '../common/framing';
import { formatAddress } from '../common/listen';
import { NetworkError, OpenctlError } from '../../util/errors';
import { Role } from '../../formats/model';
import { parseFile } from '../../formats';
import { readCertificates } from '../../crypto/certificate';
import { TVS_FRAMING, TVS_PORT, decodeVerifyResponse, encodeVerifyRequest, type VerifyResponse } from './messages';

/**
 * Asking a TVS as a phone does: TLS to the server, which must present a certificate the phone's ITL lists with
 * role TVS (or the certificate given), one verify request, one answer. Every failure to get an answer is a
 * NetworkError (exit 4), whatever its cause: refused, unreachable, timed out, TLS, wrong server, garbled reply.
 */

export interface TvsTarget {
  host: string;
  port: number;
}

export interface TvsAnchors {
  /** DER certificates the server may present (exact match, as a phone matches its ITL's TVS records). */
  certificates: Buffer[];
  /** Where they came from, for messages: `ITLFile.tlv (TVS records)`, `tvs.pem`. */
  source: string;
}

export interface TvsQuery {
  certificate: Buffer;
  deviceName: string;
  /** Chosen at random when absent. */
  session?: number;
}

export interface TvsQueryOptions {
  timeoutMs?: number;
  tlsMin?: tls.SecureVersion;
}

export interface TvsAnswer {
  response: VerifyResponse;
  /** The certificate the server presented (DER). */
  serverCertificate: Buffer;
  ms: number;
}

export const DEFAULT_DEVICE = 'CP-0000-SEP000000000000';

/** `HOST`, `HOST:PORT`, `[IPV6]:PORT` or a bare IPv6 address; the port defaults to 2445. */
export function parseTvsTarget(spec: string): TvsTarget {
  const text = spec.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let host: string;
  let port = TVS_PORT;
  let portText: string | undefined;
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
  } else if ((text.match(/:/g) ?? []).length > 1) {
    host = text; // a bare IPv6 address
  } else {
    const [h, p] = text.split(':');
    host = h ?? '';
    portText = p;
  }
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new OpenctlError(`TVS address "${spec}": the port must be 1 to 65535`);
  }
  if (!host || /[\s/]/.test(host)) throw new OpenctlError(`TVS address "${spec}": expected HOST[:PORT]`);
  return { host, port };
}

/**
 * The certificates that authenticate a TVS: from an ITL (or CTL), its records with role TVS, as a phone uses
 * them; from a certificate file (PEM, DER, PKCS#7), its certificates.
 */
export function tvsAnchorsFrom(bytes: Buffer, name: string): TvsAnchors {
  let parsed;
  try {
    parsed = parseFile(bytes, { file: name });
  } catch {
    parsed = undefined;
  }
  if (parsed && (parsed.kind === 'itl' || parsed.kind === 'ctl')) {
    const certificates = parsed.records.filter((r) => r.role === Role.TVS && r.certificate).map((r) => r.certificate!);
    if (certificates.length === 0) throw new OpenctlError(`${name}: this ${parsed.kind.toUpperCase()} lists no TVS certificate (role TVS), so no TVS can be authenticated with it`);
    return { certificates, source: `${name} (TVS record${certificates.length === 1 ? '' : 's'})` };
  }
  try {
    return { certificates: readCertificates(bytes), source: name };
  } catch {
    throw new OpenctlError(`${name}: neither a certificate (PEM, DER, PKCS#7) nor a CTL/ITL`);
  }
}

export async function queryTvs(target: TvsTarget, anchors: TvsAnchors, query: TvsQuery, options: TvsQueryOptions = {}): Promise<TvsAnswer> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const where = formatAddress(target.host, target.port);
  const session = query.session ?? randomBytes(4).readUInt32BE(0);
  const started = performance.now();
  const { socket, serverCertificate } = await connect(target, where, anchors, timeoutMs, options.tlsMin);
  try {
    const reader = new FrameReader(socket, TVS_FRAMING, 64 * 1024);
    socket.write(encodeVerifyRequest({ session, deviceName: query.deviceName, certificate: query.certificate }));
    let bytes: Buffer;
    try {
      bytes = await reader.next(Math.max(1, timeoutMs - (performance.now() - started)));
    } catch (err) {
      const e = err as FrameError;
      const why =
        e.problem === 'timeout' ? `no answer in ${timeoutMs} ms` : e.problem === 'closed' ? 'the server closed the connection without answering' : `not a TVS answer: ${e.message}`;
      throw new NetworkError(`TVS ${where}: ${why}`);
    }
    let response: VerifyResponse;
    try {
      response = decodeVerifyResponse(bytes);
    } catch (err) {
      throw new NetworkError(`TVS ${where}: malformed answer: ${(err as Error).message}`);
    }
    if (response.session !== session) throw new NetworkError(`TVS ${where}: the answer is for session ${response.session}, the request was ${session}`);
    return { response, serverCertificate, ms: performance.now() - started };
  } finally {
    socket.destroy();
  }
}

function connect(
  target: TvsTarget,
  where: string,
  anchors: TvsAnchors,
  timeoutMs: number,
  tlsMin: tls.SecureVersion = 'TLSv1.2',
): Promise<{ socket: tls.TLSSocket; serverCertificate: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: target.host,
      port: target.port,
      // The server is authenticated the way a phone does it: by an exact certificate match, not by a CA and a name.
      rejectUnauthorized: false,
      minVersion: tlsMin,
      ...(tlsMin === 'TLSv1' || tlsMin === 'TLSv1.1' ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
      ...(/^[\d.]+$|:/.test(target.host) ? {} : { servername: target.host }),
    });
    const timer = setTimeout(() => fail(new NetworkError(`TVS ${where}: no TLS connection in ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', (err: NodeJS.ErrnoException) => fail(new NetworkError(`TVS ${where}: ${describeNetError(err)}`)));
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const presented = socket.getPeerX509Certificate();
      const raw = presented ? Buffer.from(presented.raw) : undefined;
      if (!raw || !anchors.certificates.some((c) => c.equals(raw))) {
        const sha = raw ? createHash('sha256').update(raw).digest('hex').slice(0, 16) : 'none';
        fail(new NetworkError(`TVS ${where}: the server's certificate (${presented?.subject.replace(/\n/g, ', ') ?? 'none'}, SHA-256 ${sha}...) is not one of ${anchors.source}: not the TVS a phone would trust`));
        return;
      }
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      resolve({ socket, serverCertificate: raw });
    });
  });
}

function describeNetError(err: NodeJS.ErrnoException): string {
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is TVS running, on that port?)',
    ECONNRESET: 'the connection was reset (during the TLS handshake: a TLS version or cipher the server refuses?)',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'connection timed out',
    ENOTFOUND: 'unknown host name',
    EAI_AGAIN: 'host name lookup failed (temporary)',
  };
  if (err.code && reasons[err.code]) return reasons[err.code]!;
  const reason = (err as { reason?: string }).reason;
  return `TLS failed: ${reason ?? err.message}`;
}
