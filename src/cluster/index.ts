export * from './model';
export { loadClusterFile, saveClusterFile, clusterFromJson } from './cluster-file';
export { ctlRecordSources, itlRecordSources, isTftpServer } from './record-sources';
export { ROLE_BY_NAME, roleOptionName } from './roles';
