import { certificateInfo } from '../crypto/certificate';
import { parseTrustList, sameDn } from '../formats';
import { TFTP_CAPABLE_ROLES, type TrustRecord } from '../formats/model';
import { ExitCode, FormatError, OpenctlError } from '../util/errors';
import { readInput } from '../util/read-input';

export interface TrustCheck {
  /** The lists holding the signer as a TFTP-capable record. */
  trustedBy: string[];
  /** The lists that do not (phones holding only one of those would reject the files). */
  notIn: string[];
}

/**
 * `--trust CTL_OR_ITL`: phones check a signed config against the TFTP-capable records (CCM+TFTP, TFTP) of the
 * CTL or ITL they hold, matched by issuer and serial. Refuse (exit 1, phones would reject) before signing
 * anything when no given list vouches for the signer; lists that lack it are returned for a warning (the ITL
 * of another TFTP server rightly does not list this server's certificate).
 */
export async function checkSignerTrusted(certificate: Buffer, trustFiles: readonly string[]): Promise<TrustCheck> {
  const info = certificateInfo(certificate);
  const result: TrustCheck = { trustedBy: [], notIn: [] };
  for (const file of trustFiles) {
    const bytes = await readInput(file, 'trust list');
    let records: TrustRecord[];
    try {
      records = parseTrustList(bytes, { file }).records;
    } catch (err) {
      if (err instanceof FormatError) throw err.file ? err : err.withFile(file);
      throw err;
    }
    const vouches = records.some(
      (r) =>
        r.role !== undefined &&
        TFTP_CAPABLE_ROLES.includes(r.role) &&
        ((r.certificate !== undefined && r.certificate.equals(certificate)) ||
          (r.issuer !== undefined && r.serial !== undefined && sameDn(r.issuer, info.issuer) && sameSerial(r.serial, info.serial))),
    );
    (vouches ? result.trustedBy : result.notIn).push(file);
  }
  if (result.trustedBy.length === 0) {
    throw new OpenctlError(
      `the signer ${info.subject} (serial ${info.serialHex}) is not a TFTP-capable record (CCM+TFTP or TFTP) of ${trustFiles.join(', ')}: phones holding ${trustFiles.length > 1 ? 'them' : 'it'} would reject every file; nothing was signed`,
      ExitCode.Rejected,
    );
  }
  return result;
}

function sameSerial(a: Buffer, b: Buffer): boolean {
  const strip = (s: Buffer) => {
    let i = 0;
    while (i < s.length - 1 && s[i] === 0) i += 1;
    return s.subarray(i);
  };
  return strip(a).equals(strip(b));
}
