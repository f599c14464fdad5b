/** Batch signing: folders of TFTP files and one ITL per TFTP server, resumable, at the signer's speed. */
export { batchSign, removeTempFiles, type BatchSignOptions, type BatchSigner } from './batch-sign';
export { batchItl, buildServerItl, checkServerName, ITL_WARN_BYTES, type ServerItlInput, type BatchItlOptions, type ItlSummary, type ItlWritten } from './batch-itl';
export {
  BatchEvents,
  type BatchEventMap,
  type BatchStart,
  type BatchProgress,
  type BatchSummary,
  type BatchFailure,
  type FileOutcome,
} from './events';
export { PemBackend, SignerLanesBackend, type SigningBackend, type BackendKind } from './backend';
export { openTokenBackend, type TokenEngine, type TokenBackendOptions } from './token-backend';
export { readManifestEntries, readManifestHeader, type ManifestHeader } from './manifest';
export type { ManifestEntry, JobHeader } from './journal';
export type { AuditRecord } from './audit';
export { statePaths, STATE_DIR_NAME } from './state-files';
export { mustBeXml, looksLikeXml, phoneMacOf } from './file-checks';
export { checkSignerTrusted } from './trust-check';
export { indexDeviceCertificates } from './device-certs';
export type { FlushMode } from './flusher-choice';
