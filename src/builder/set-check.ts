import type { SignerId, TrustList } from '../formats/model';
import { TFTP_CAPABLE_ROLES } from '../formats/model';
import { roleName } from '../formats/roles';
import { certificateInfo } from '../crypto/certificate';
import { evaluateFile } from '../trust/evaluate';
import { NO_TVS } from '../trust/model';
import { recordNamesSigner, TRUST_LIST_SIGNER_ROLES } from '../trust/records';

/**
 * A CTL and the ITLs served with it are one set: phones holding the CTL check every ITL's signer against it, and
 * every config's signer against its TFTP-capable records. These checks let each build warn, before anything is
 * served, when the set it belongs to would be rejected, with the words and rule ids `openctl preflight` uses.
 */

export interface NamedList {
  name: string;
  list: TrustList;
}

/** What phones holding `ctl` (and nothing else) decide about `itl`: a sentence with the rule id, or undefined. */
export function itlRejectedUnder(ctl: NamedList, itl: NamedList): string | undefined {
  const { verdict } = evaluateFile(
    { sbd: true, ctl: { name: ctl.name, list: ctl.list } },
    { name: itl.name, parsed: itl.list, bytes: itl.list.bytes },
    NO_TVS,
  );
  return verdict.verdict === 'rejected' ? `${verdict.reason} [${verdict.rule}]` : undefined;
}

function signerIdOf(certificate: Uint8Array): SignerId | undefined {
  try {
    const info = certificateInfo(certificate);
    return { subject: info.subject, issuer: info.issuer, serial: info.serial };
  } catch {
    return undefined;
  }
}

/** Does `list` hold `certificate` in one of `roles` (by certificate, or by issuer and serial as phones match)? */
export function holdsIn(list: TrustList, certificate: Uint8Array, roles: readonly number[]): boolean {
  const cert = Buffer.from(certificate);
  const id = signerIdOf(cert);
  return list.records.some(
    (r) =>
      r.role !== undefined &&
      roles.includes(r.role) &&
      (r.certificate?.equals(cert) || (id !== undefined && r.certificate !== undefined && recordNamesSigner(r, id))),
  );
}

export interface ServerSigners {
  server: string;
  /** The certificate that signs this server's ITL (its itlSigner). */
  itlSigner?: Buffer;
  /** The certificates that sign this server's configs (its CCM+TFTP / TFTP certificates). */
  configSigners: Buffer[];
}

/**
 * Problems of a CTL built for a cluster: a TFTP server whose ITL signer, or whose config-signing certificate, the
 * CTL does not list in a role phones accept for it. Each line says what phones would do.
 */
export function clusterSetProblems(ctl: NamedList, servers: readonly ServerSigners[]): string[] {
  const problems: string[] = [];
  for (const s of servers) {
    if (s.itlSigner && !holdsIn(ctl.list, s.itlSigner, TRUST_LIST_SIGNER_ROLES)) {
      problems.push(
        `phones holding ${ctl.name} would reject server ${s.server}'s ITL [itl-signer-not-in-held-ctl]: its itlSigner is not a SAST, CCM, CCM+TFTP or TFTP record of the CTL`,
      );
    }
    for (const c of s.configSigners) {
      if (!holdsIn(ctl.list, c, TFTP_CAPABLE_ROLES)) {
        problems.push(
          `phones holding ${ctl.name} would reject the configs of server ${s.server} [config-signer-unknown]: its ${TFTP_CAPABLE_ROLES.map(roleName).join('/')} certificate is not in the CTL as such`,
        );
      }
    }
  }
  return problems;
}
