import { generateKeyPair, sign as nodeSign, constants, createHash, privateEncrypt, X509Certificate, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { writeFileAtomic } from '../../util/atomic-write';
import { NetworkError } from '../../util/errors';
import { signedBytes } from './cert-auth';
import { ChannelError, MessageChannel } from './channel';
import {
  authResponse,
  CapfCommand,
  CapfReason,
  CapfTag,
  commandName,
  keyGenResponse,
  parseKeyGenRequest,
  phoneResponse,
  readCertificate,
  readU8,
  REASON_TEXT,
  simpleMessage,
  type KeyRequest,
} from './messages';
import { toPem } from './pem';

/**
 * The phone's side of CAPF, for labs and tests (`capf enroll`): authenticate as the device, then do what the
 * server asks (install: generate the key, store the LSC; fetch: send the LSC; delete: remove it) and report
 * how the server ended the session. The server is trusted only if it presents exactly one of the CAPF
 * certificates given (as a phone compares with its ITL).
 */

export interface EnrollOptions {
  host: string;
  port: number;
  device: string;
  /** DER of the certificates the server may present. */
  capfCertificates: readonly Buffer[];
  /** The LSC and its key go here: `SEP<MAC>.pem`, `SEP<MAC>.key`. */
  outDir: string;
  password?: string;
  /** Certificate authentication: the MIC (or current LSC) and its key. */
  mic?: { key: KeyObject; certificate: Buffer };
  /** Generate this key whatever the server asks (a lab knob: the server must refuse a mismatch). */
  forceKey?: KeyRequest;
  timeoutMs?: number;
  /** Test hook: close the connection instead of confirming the store (a phone that drops). */
  dropBeforeConfirm?: boolean;
  /** Pre-made key pairs (bench: phone keys made before the clock starts). */
  keySource?: (request: KeyRequest) => Promise<{ privateKey: KeyObject; spki: Buffer }>;
  /** Send one "request in progress" while the key is generated, as phones do (default true). */
  inProgress?: boolean;
}

export type EnrollResult =
  | { status: 'installed'; files: string[]; serial: string }
  | { status: 'fetched' | 'deleted' | 'nothing-to-do'; files: string[] }
  | { status: 'refused'; reason: number; message: string }
  | { status: 'busy'; message: string };

export async function enroll(options: EnrollOptions): Promise<EnrollResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const socket = await connect(options, timeoutMs);
  try {
    return await converse(new MessageChannel(socket), socket, options, timeoutMs);
  } catch (err) {
    if (err instanceof ChannelError) throw new NetworkError(`${options.host}:${options.port}: ${err.message}`);
    throw err;
  } finally {
    socket.destroy();
  }
}

function connect(options: EnrollOptions, timeoutMs: number): Promise<tls.TLSSocket> {
  const where = `${options.host}:${options.port}`;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: options.host,
      port: options.port,
      servername: /^[\d.:]+$/.test(options.host) ? undefined : options.host,
      // Trust is the exact certificate (below), not a CA chain or a host name: what a phone's ITL gives it.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new NetworkError(`${where}: no TLS connection within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const presented = socket.getPeerCertificate(false)?.raw;
      if (!presented || !options.capfCertificates.some((c) => c.equals(presented))) {
        socket.destroy();
        const subject = presented ? new X509Certificate(presented).subject.replace(/\n/g, ', ') : 'no certificate';
        reject(new NetworkError(`${where}: the server presented ${subject}, which is not the CAPF certificate given with --capf-cert`));
        return;
      }
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new NetworkError(`${where}: ${describeNetError(err)}`));
    });
  });
}

function describeNetError(err: NodeJS.ErrnoException): string {
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is capf serve running there?)',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'unknown host name',
    EAI_AGAIN: 'unknown host name',
  };
  return (err.code && reasons[err.code]) ?? `TLS or network failure (${err.message})`;
}

async function converse(channel: MessageChannel, socket: tls.TLSSocket, o: EnrollOptions, timeoutMs: number): Promise<EnrollResult> {
  let pendingKey: KeyObject | undefined;
  let did: { status: 'installed'; serial: string } | { status: 'fetched' | 'deleted' } | undefined;
  const files: string[] = [];
  const lscPath = path.join(o.outDir, `${o.device}.pem`);
  const keyPath = path.join(o.outDir, `${o.device}.key`);
  for (;;) {
    const message = await channel.read(timeoutMs, 'the server\'s next message');
    const session = message.session;
    switch (message.command) {
      case CapfCommand.AuthRequest:
        await channel.send(authResponse(session, authFields(o)));
        break;
      case CapfCommand.KeyGenRequest: {
        const asked = parseKeyGenRequest(message);
        if (o.inProgress !== false) await channel.send(simpleMessage(CapfCommand.InProgress, session));
        const { privateKey, spki } = await (o.keySource ?? generate)(o.forceKey ?? asked);
        pendingKey = privateKey;
        await channel.send(keyGenResponse(session, spki));
        break;
      }
      case CapfCommand.StoreCertRequest: {
        const lsc = readCertificate(message);
        if (!lsc || !pendingKey) {
          await channel.send(phoneResponse(CapfCommand.StoreCertResponse, session, CapfReason.Invalid));
          break;
        }
        checkLscMatchesKey(lsc, pendingKey);
        if (o.dropBeforeConfirm) {
          socket.destroy();
          throw new ChannelError('dropped before confirming the store (as asked)', 'closed');
        }
        // Key first: an LSC on disk always has its key next to it.
        await writeFileAtomic(keyPath, Buffer.from(pendingKey.export({ type: 'pkcs8', format: 'pem' }) as string), { overwrite: true, mode: 0o600 });
        await writeFileAtomic(lscPath, Buffer.from(toPem('CERTIFICATE', lsc)), { overwrite: true });
        files.push(lscPath, keyPath);
        did = { status: 'installed', serial: new X509Certificate(lsc).serialNumber.toLowerCase() };
        await channel.send(phoneResponse(CapfCommand.StoreCertResponse, session, CapfReason.Done));
        break;
      }
      case CapfCommand.FetchCertRequest: {
        const der = await readLsc(lscPath);
        if (der) did = { status: 'fetched' };
        await channel.send(phoneResponse(CapfCommand.FetchCertResponse, session, der ? CapfReason.Done : CapfReason.Nothing, der));
        break;
      }
      case CapfCommand.DeleteCertRequest:
        await fs.rm(lscPath, { force: true });
        await fs.rm(keyPath, { force: true });
        did = { status: 'deleted' };
        await channel.send(phoneResponse(CapfCommand.DeleteCertResponse, session, CapfReason.Done));
        break;
      case CapfCommand.RetryLater:
        return { status: 'busy', message: 'the server is busy: retry later' };
      case CapfCommand.EndSession:
        return ended(readU8(message, CapfTag.Reason) ?? CapfReason.Nothing, did, files);
      default:
        throw new ChannelError(`unexpected ${commandName(message.command)} from the server`, 'garbage');
    }
  }
}

function ended(reason: number, did: { status: 'installed'; serial: string } | { status: 'fetched' | 'deleted' } | undefined, files: string[]): EnrollResult {
  if (reason !== CapfReason.Done && reason !== CapfReason.Nothing) {
    return { status: 'refused', reason, message: REASON_TEXT[reason] ?? `reason ${reason}` };
  }
  if (!did) return { status: 'nothing-to-do', files };
  if (did.status === 'installed') return { status: 'installed', serial: did.serial, files };
  return { status: did.status, files };
}

function authFields(o: EnrollOptions): Parameters<typeof authResponse>[1] {
  if (!o.mic) return { device: o.device, password: o.password ?? '' };
  const data = signedBytes(o.device, o.mic.certificate);
  return { device: o.device, password: o.password ?? '', certificate: o.mic.certificate, ...certSignatures(o.mic.key, data) };
}

/** Tag 6 (SHA-1; RSA: PKCS#1 v1.5 over the raw digest, no DigestInfo) and tag 20 (SHA-512) over `data`. */
export function certSignatures(key: KeyObject, data: Buffer): { sha1Signature: Buffer; sha512Signature: Buffer } {
  const sha1Signature =
    key.asymmetricKeyType === 'rsa'
      ? privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, createHash('sha1').update(data).digest())
      : nodeSign('sha1', data, key);
  return { sha1Signature, sha512Signature: nodeSign('sha512', data, key) };
}

const NODE_CURVE = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' } as const;

export function generate(request: KeyRequest): Promise<{ privateKey: KeyObject; spki: Buffer }> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) =>
      err ? reject(err) : resolve({ privateKey, spki: publicKey.export({ type: 'spki', format: 'der' }) });
    if (request.type === 'rsa') generateKeyPair('rsa', { modulusLength: request.bits }, done);
    else generateKeyPair('ec', { namedCurve: NODE_CURVE[request.curve] }, done);
  });
}

function checkLscMatchesKey(lsc: Buffer, key: KeyObject): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(lsc);
  } catch {
    throw new ChannelError('the LSC the server sent is not a certificate', 'garbage');
  }
  if (!cert.checkPrivateKey(key)) throw new ChannelError('the LSC the server sent is not for the key this phone generated', 'garbage');
}

async function readLsc(file: string): Promise<Buffer | undefined> {
  try {
    return Buffer.from(new X509Certificate(await fs.readFile(file)).raw);
  } catch {
    return undefined;
  }
}
