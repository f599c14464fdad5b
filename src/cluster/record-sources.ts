import { Role, TFTP_CAPABLE_ROLES } from '../formats/model';
import type { ClusterConfig, ClusterServer, RecordSource } from './model';

function serverRecords(server: ClusterServer, keep: (role: number) => boolean): RecordSource[] {
  return server.certificates
    .filter((c) => keep(c.role))
    .map((c) => ({ role: c.role, cert: c.cert, dnsName: server.dns, ipv4: server.ip }));
}

/** TVS and application-server certificates go to the ITLs only (formats.md, "Who signs what"). */
const ITL_ONLY_ROLES: readonly number[] = [Role.TVS, Role.APP_SERVER];

/**
 * What CUCM's CTL lists for this cluster: the SAST tokens, every server's ITL signer (ITLRecovery, as a SAST
 * record, so that phones holding the CTL accept the ITLs it signs), then every server's certificates except TVS
 * and application servers (CCM or CCM+TFTP, TFTP, CAPF, and any other function listed, such as a firewall's).
 * Sources may repeat (one ITLRecovery for several servers); the builder writes a certificate once per role.
 */
export function ctlRecordSources(cluster: ClusterConfig): RecordSource[] {
  return [
    ...cluster.sast.map((cert) => ({ role: Role.SAST, cert })),
    ...cluster.servers.flatMap((s) => (s.itlSigner ? [{ role: Role.SAST, cert: s.itlSigner }] : [])),
    ...cluster.servers.flatMap((s) => serverRecords(s, (r) => !ITL_ONLY_ROLES.includes(r))),
  ];
}

export function isTftpServer(server: ClusterServer): boolean {
  return server.certificates.some((c) => TFTP_CAPABLE_ROLES.includes(c.role));
}

/**
 * The ITL of one TFTP server (formats.md, "Who signs what"): its signer as SAST, that server's TFTP-capable
 * certificate, every TVS and CAPF of the cluster, and the application servers. The rollback ITL keeps the SAST
 * and CAPF but empties the TVS and TFTP sections, which makes phones accept any config and any new ITL.
 */
export function itlRecordSources(
  cluster: ClusterConfig,
  server: ClusterServer,
  options: { rollback?: boolean; itlSignerCert: string },
): RecordSource[] {
  const sast: RecordSource = { role: Role.SAST, cert: options.itlSignerCert, dnsName: server.dns, ipv4: server.ip };
  const capf = cluster.servers.flatMap((s) => serverRecords(s, (r) => r === Role.CAPF));
  if (options.rollback) return [sast, ...capf];
  return [
    sast,
    ...serverRecords(server, (r) => TFTP_CAPABLE_ROLES.includes(r)),
    ...cluster.servers.flatMap((s) => serverRecords(s, (r) => r === Role.TVS)),
    ...capf,
    ...cluster.servers.flatMap((s) => serverRecords(s, (r) => r === Role.APP_SERVER)),
  ];
}
