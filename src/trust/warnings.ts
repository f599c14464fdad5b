import { Role } from '../formats/model';
import { roleName } from '../formats';
import type { PhoneFile, TrustWarning } from './model';
import { certInfo, sha1Hex } from './records';
import { EXPIRY_WARNING_DAYS, expiryWarningOf, signerExpiryWarning } from './expiry';

export { EXPIRY_WARNING_DAYS, signerExpiryWarning };

/** Phones fail to register with an ITL past 64 KB (formats.md); warn from here on. */
export const ITL_WARNING_BYTES = 48 * 1024;
export const ITL_LIMIT_BYTES = 64 * 1024;

/** "expired on" / "expires on ... (in N days)" for one certificate (facts cached per certificate), or undefined. */
export function expiryWarning(der: Buffer, label: string, now: Date): TrustWarning | undefined {
  const info = certInfo(der);
  return info ? expiryWarningOf(info, label, now) : undefined;
}

export interface WarningContext {
  now: Date;
  /** The certificate that vouched for the file (held record, TVS, or the list's own signer record). */
  signerCertificate?: Buffer;
  /** The phone supports Security by Default (newer models). */
  sbd: boolean;
}

/** Warnings about one file: things that work today but that an admin should act on. */
export function warningsFor(file: PhoneFile, context: WarningContext): TrustWarning[] {
  const warnings: TrustWarning[] = [];
  const parsed = file.parsed;
  if (!parsed) return warnings;

  if (parsed.kind === 'ctl') {
    const sast = new Set(
      parsed.records
        .filter((r) => r.role === Role.SAST && (r.certificate || r.certHash))
        .map((r) => (r.certificate ? sha1Hex(r.certificate) : r.certHash!.toString('hex'))),
    );
    if (sast.size < 2) {
      warnings.push({
        id: 'ctl-few-sast',
        message: `${file.name} lists ${sast.size} SAST certificate${sast.size === 1 ? '' : 's'}: with fewer than two, losing that token locks the cluster`,
      });
    }
  }

  if (parsed.kind === 'itl' && parsed.bytes.length >= ITL_WARNING_BYTES) {
    const past = parsed.bytes.length > ITL_LIMIT_BYTES;
    warnings.push({
      id: 'itl-size',
      message: `${file.name} is ${parsed.bytes.length.toLocaleString('en-US')} bytes (${parsed.records.length} records): ${
        past ? 'past' : 'near'
      } the 64 KB (65,536 bytes) at which phones fail to register`,
    });
  }

  if (parsed.header.hash === 'sha512') {
    warnings.push({
      id: 'sha512-older-phones',
      message: `${file.name} is signed with SHA-512: older phones${context.sbd ? '' : ' such as this one'} cannot verify it and fail to register (use SHA-1 for mixed fleets)`,
    });
  }

  const seen = new Set<string>();
  const checkCert = (der: Buffer, label: string) => {
    const digest = sha1Hex(der);
    if (seen.has(digest)) return;
    seen.add(digest);
    const warning = expiryWarning(der, label, context.now);
    if (warning) warnings.push(warning);
  };
  if (context.signerCertificate) checkCert(context.signerCertificate, 'the signer certificate');
  if (parsed.kind === 'ctl' || parsed.kind === 'itl') {
    for (const r of parsed.records) {
      if (r.certificate) checkCert(r.certificate, `the ${r.role === undefined ? '' : `${roleName(r.role)} `}record certificate`);
    }
  }
  return warnings;
}
