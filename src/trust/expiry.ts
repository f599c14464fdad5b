import { certificateInfo, type CertificateInfo } from '../crypto/certificate';
import type { TrustWarning } from './verdict';

/**
 * Certificate expiry warnings, apart from the rest of trust/warnings.ts: the signing commands (`sign`, `batch
 * sign`) give this one warning before they sign, and loading the whole trust model for it (the formats parser
 * and builders, the records) cost a batch ~25 modules at start-up.
 */

/** Warn this long before a certificate expires. */
export const EXPIRY_WARNING_DAYS = 90;

const DAY_MS = 24 * 60 * 60 * 1000;

/** The CN of a DN ("CN=a,O=b" -> "a"), or the DN when it has none. */
export function shortName(dn: string): string {
  const m = /(?:^|[,;])\s*cn\s*=\s*"?([^,;"]+)/i.exec(dn);
  return m ? m[1]!.trim() : dn;
}

/** "expired on" / "expires on ... (in N days)" for one certificate, or undefined when it has time left. */
export function expiryWarning(der: Uint8Array, label: string, now: Date): TrustWarning | undefined {
  let info: CertificateInfo;
  try {
    info = certificateInfo(der);
  } catch {
    return undefined; // not a certificate: other checks say so
  }
  return expiryWarningOf(info, label, now);
}

/** The same from certificate facts already read (trust/warnings.ts caches them per certificate). */
export function expiryWarningOf(info: CertificateInfo, label: string, now: Date): TrustWarning | undefined {
  const left = info.notAfter.getTime() - now.getTime();
  const when = info.notAfter.toISOString().slice(0, 10);
  if (left < 0) return { id: 'certificate-expired', message: `${label} "${shortName(info.subject)}" expired on ${when}` };
  if (left >= EXPIRY_WARNING_DAYS * DAY_MS) return undefined;
  const days = Math.floor(left / DAY_MS);
  return { id: 'certificate-expiring', message: `${label} "${shortName(info.subject)}" expires on ${when} (in ${days} day${days === 1 ? '' : 's'})` };
}

/** The warning `verify` gives about a signer, for the commands that are about to sign. */
export function signerExpiryWarning(der: Uint8Array, now: Date): TrustWarning | undefined {
  return expiryWarning(der, 'the signer certificate', now);
}
