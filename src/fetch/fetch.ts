import { OpenctlError } from '../util/errors';
import { tftpGet, TftpError, TFTP_PORT } from './tftp-client';
import { httpGet, HttpFetchError, CUCM_HTTP_PORT } from './http-client';

export type Transport = 'tftp' | 'http';

export interface FetchSettings {
  tftpPort?: number; // default 69
  httpPort?: number; // default 6970
  /** Per-packet timeout for TFTP, whole-request timeout for HTTP (default 2000 ms). */
  timeoutMs?: number;
  /** Transports to try, in order (default: TFTP, then HTTP). */
  transports?: readonly Transport[];
  retries?: number;
  signal?: AbortSignal;
}

export interface FetchAttempt {
  via: Transport;
  /** One line: what went wrong. */
  error: string;
  notFound: boolean;
}

export interface FetchOutcome {
  name: string;
  bytes?: Buffer;
  /** The transport that delivered the file. */
  via?: Transport;
  /** Failed attempts, in order (a fallback that succeeded still lists the failure before it). */
  attempts: FetchAttempt[];
  /** Every transport tried said the file does not exist (TFTP error 1, HTTP 404). */
  notFound: boolean;
}

/** The files a phone with these MAC addresses downloads, in its download order. */
export function phoneFileNames(macs: readonly string[]): string[] {
  return ['CTLFile.tlv', 'ITLFile.tlv', ...macs.map((m) => `SEP${normalizeMac(m)}.cnf.xml.sgn`)];
}

/** `00:11:22:33:44:55`, `0011.2233.4455`, `SEP001122334455` -> `001122334455` (upper case). */
export function normalizeMac(mac: string): string {
  const hex = mac.replace(/^SEP/i, '').replace(/[:.\-\s]/g, '');
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) throw new OpenctlError(`--mac ${mac}: not a MAC address (12 hex digits)`);
  return hex.toUpperCase();
}

/** Try each transport in turn until one delivers the file. */
export async function fetchFile(host: string, name: string, settings: FetchSettings = {}): Promise<FetchOutcome> {
  const transports = settings.transports ?? ['tftp', 'http'];
  const attempts: FetchAttempt[] = [];
  for (const via of transports) {
    if (settings.signal?.aborted) break;
    try {
      const bytes =
        via === 'tftp'
          ? await tftpGet(host, name, { port: settings.tftpPort ?? TFTP_PORT, timeoutMs: settings.timeoutMs, retries: settings.retries, signal: settings.signal })
          : await httpGet(host, name, { port: settings.httpPort ?? CUCM_HTTP_PORT, timeoutMs: settings.timeoutMs, signal: settings.signal });
      return { name, bytes, via, attempts, notFound: false };
    } catch (err) {
      if (!(err instanceof TftpError) && !(err instanceof HttpFetchError)) throw err;
      attempts.push({ via, error: err.message, notFound: err.kind === 'not-found' });
      if (err.kind === 'aborted') break;
    }
  }
  return { name, attempts, notFound: attempts.length > 0 && attempts.every((a) => a.notFound) };
}

/** Fetch several files one after the other (a phone's order), reporting each outcome. */
export async function fetchFiles(host: string, names: readonly string[], settings: FetchSettings = {}): Promise<FetchOutcome[]> {
  const outcomes: FetchOutcome[] = [];
  for (const name of names) {
    if (settings.signal?.aborted) break;
    outcomes.push(await fetchFile(host, name, settings));
  }
  return outcomes;
}

export function isFetchUrl(spec: string): boolean {
  return /^(tftp|http):\/\//i.test(spec);
}

/**
 * `tftp://HOST[:PORT]/NAME` or `http://HOST[:PORT]/NAME` (default ports 69 and 6970, CUCM's): the live file, as a
 * phone would download it. Errors are one line naming the URL.
 */
export async function fetchUrl(spec: string, settings: Pick<FetchSettings, 'timeoutMs' | 'retries' | 'signal'> = {}): Promise<{ name: string; bytes: Buffer; via: Transport }> {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new OpenctlError(`${spec}: not a URL`);
  }
  const via = url.protocol.replace(':', '').toLowerCase() as Transport;
  if (via !== 'tftp' && via !== 'http') throw new OpenctlError(`${spec}: only tftp:// and http:// URLs can be fetched`);
  const name = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
  if (!name) throw new OpenctlError(`${spec}: the URL names no file`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : via === 'tftp' ? TFTP_PORT : CUCM_HTTP_PORT;
  const outcome = await fetchFile(host, name, {
    ...settings,
    transports: [via],
    tftpPort: port,
    httpPort: port,
  });
  if (!outcome.bytes) {
    throw new OpenctlError(`${spec}: ${outcome.attempts[0]?.error ?? 'download failed'}`);
  }
  return { name: name.split('/').pop()!, bytes: outcome.bytes, via };
}
