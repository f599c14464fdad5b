import * as tls from 'node:tls';
import { isIP } from 'node:net';
import { certificateInfo, readCertificates } from '../../crypto/certificate';
import { OpenctlError } from '../../util/errors';
import type { CertView } from '../types';
import type { FileSource } from '../contract';
import { readSource } from './files';

/** Certificates expiring within this many days are flagged, as preflight does. */
export const EXPIRY_WARNING_DAYS = 90;
const DAY_MS = 86_400_000;

export function certView(der: Uint8Array, now: Date = new Date()): CertView {
  const info = certificateInfo(der);
  const daysLeft = Math.floor((info.notAfter.getTime() - now.getTime()) / DAY_MS);
  return {
    der: Buffer.from(der).toString('base64'),
    subject: info.subject,
    issuer: info.issuer,
    serialHex: info.serialHex,
    keyAlgorithm: info.keyAlgorithm,
    keyBits: info.keyBits,
    notBefore: info.notBefore.toISOString(),
    notAfter: info.notAfter.toISOString(),
    sha1: info.sha1,
    expiry: daysLeft < 0 ? 'expired' : daysLeft <= EXPIRY_WARNING_DAYS ? 'soon' : 'ok',
    daysLeft,
  };
}

/** Every certificate of a PEM, DER or PKCS#7 file. */
export async function readCertificateViews(source: FileSource): Promise<CertView[]> {
  const { name, bytes } = await readSource(source);
  try {
    return readCertificates(bytes).map((der) => certView(der));
  } catch (err) {
    if (err instanceof OpenctlError) throw new OpenctlError(`${name}: ${err.message}`, err.exitCode);
    throw err;
  }
}

const TLS_TIMEOUT_MS = 10_000;

/**
 * The certificate chain a TLS server presents (leaf first), as CUCM admins fetch the Tomcat or CallManager
 * certificate from port 443, 2443 or 5061. Nothing is trusted or verified here: the person sees what was presented
 * and decides; the chain is not validated because lab CUCM certificates are self-signed.
 */
export function fetchTlsCertificates(host: string, port: number, timeoutMs = TLS_TIMEOUT_MS): Promise<CertView[]> {
  return new Promise((resolve, reject) => {
    const where = `${host}:${port}`;
    const socket = tls.connect({
      host,
      port,
      servername: isIP(host) ? undefined : host,
      rejectUnauthorized: false,
    });
    const fail = (message: string) => {
      socket.destroy();
      reject(new OpenctlError(`${where}: ${message}`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no TLS answer within ${timeoutMs / 1000} s`));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ECONNREFUSED' ? 'connection refused' : err.message));
    socket.once('secureConnect', () => {
      try {
        const chain: CertView[] = [];
        const seen = new Set<string>();
        let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
        while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
          seen.add(cert.fingerprint256);
          chain.push(certView(cert.raw));
          cert = cert.issuerCertificate;
        }
        socket.end();
        if (chain.length === 0) reject(new OpenctlError(`${where}: the server presented no certificate`));
        else resolve(chain);
      } catch (err) {
        fail(err instanceof Error ? err.message : String(err));
      }
    });
  });
}
