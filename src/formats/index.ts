/** The formats phones read: CTL/ITL trust lists, signed files, encrypted configs. Bytes <-> typed models. */
export * from './model';
export { parseFile, parseTrustList, type ParseOptions } from './parse';
export { serializeFile, signedBytes } from './serialize';
export { buildTrustList, type BuildTrustListOptions } from './trust-list';
export { buildSignedFile, type BuildSignedFileOptions } from './signed-file';
export { buildEncryptedConfig, decryptConfig, type BuildEncryptedConfigOptions } from './encrypted-config';
export { buildEncryptedStub } from './encrypted-stub';
export { recordFromSpec, stubRecord, hashRecord, type ExtraElement, type RecordOptions } from './record-build';
export { roleName, roleDescription, parseRoleName } from './roles';
export { parseDn, sameDn, formatDn, canonicalAttribute, type DnAttribute } from './dn';
export { detectKind, containerKind, trustListKind } from './detect';
export { checkSigningKey, SIGNING_KEY_BITS } from './signing';
export { HeaderTag } from './header';
export { RecordTag } from './records';
export { formatVersion, parseVersion } from './values';
