import type { ParsedFile, TrustList } from '../../formats/model';
import { TFTP_CAPABLE_ROLES } from '../../formats/model';
import { verifyAgainstTrustLists, verifyTrustListSelf, verifyWithCertificates, type Verdict } from '../../crypto/verify';
import { readCertificates } from '../../crypto/certificate';
import { readInput, readTrustListSpec, type UrlSettings } from '../inputs';
import { OpenctlError } from '../../util/errors';

export interface VerifySources {
  cert?: string;
  /** Paths or tftp:// / http:// URLs of CTLs and ITLs. */
  trust?: string[];
  /** How URLs among the sources are fetched. */
  url?: UrlSettings;
}

/**
 * The verdict `show` and `verify` print: a trust list against its own signer record; a signed file or an
 * encrypted config against `--cert`, or against the TFTP-capable records of the `--trust` lists.
 * Undefined when nothing was given to check a signed file against.
 */
export async function verdictFor(parsed: ParsedFile, sources: VerifySources): Promise<Verdict | undefined> {
  if (sources.cert) {
    const certs = readCertificates(await readInput(sources.cert, 'certificate'));
    if (certs.length === 0) throw new OpenctlError(`${sources.cert}: no certificate found (PEM, DER or PKCS#7 expected)`);
    return verifyWithCertificates(parsed, certs);
  }
  if (sources.trust && sources.trust.length > 0) {
    const lists: TrustList[] = [];
    for (const file of sources.trust) lists.push(await readTrustListSpec(file, sources.url));
    const roles = parsed.kind === 'ctl' || parsed.kind === 'itl' ? undefined : TFTP_CAPABLE_ROLES;
    return verifyAgainstTrustLists(parsed, lists, roles);
  }
  if (parsed.kind === 'ctl' || parsed.kind === 'itl') return verifyTrustListSelf(parsed);
  return undefined;
}
