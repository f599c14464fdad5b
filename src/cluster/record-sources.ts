import { Role, TFTP_CAPABLE_ROLES } from '../formats/model';
import type { ClusterConfig, ClusterServer, RecordSource } from './model';

function serverRecords(server: ClusterServer, keep: (role: number) => boolean): RecordSource[] {
  return server.certificates
    .filter((c) => keep(c.role))
    .map((c) => ({ role: c.role, cert: c.cert, dnsName: server.dns, ipv4: server.ip }));
}

/** Everything the cluster's CTL lists: its SAST certificates, then every server's certificates. */
export function ctlRecordSources(cluster: ClusterConfig): RecordSource[] {
  return [
    ...cluster.sast.map((cert) => ({ role: Role.SAST, cert })),
    ...cluster.servers.flatMap((s) => serverRecords(s, () => true)),
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
