/** PKCS#11: modules, tokens, URIs, PINs, the token Signer, the watcher and demo tokens. */
export { parsePkcs11Uri, formatPkcs11Uri, isPkcs11Uri, type Pkcs11Uri, type Pkcs11ObjectType } from './uri';
export { resolveModules, knownModules, configFilePath, KNOWN_MODULES, type ModuleChoice, type ResolveOptions } from './resolve';
export { acquireModule, releaseModule, withModule, loadedModules, type Pkcs11Module, type ModuleDescription } from './registry';
export { listTokens, type ModuleListing, type SlotListing, type ListTokensOptions } from './list';
export { flagWords, tokenFlags, type TokenFlags, type TokenDescription, type SlotDescription, type ObjectPair, type CertificateSummary } from './tokens';
export { findToken, type FindTokenOptions, type FoundToken } from './select';
export { pinEnvName, readPinSource, pinFromSources, ensureLogin, type PinPrompter, type LoginOptions } from './pin';
export { Pkcs11Signer, openPkcs11Signer, readTokenCertificate, type Pkcs11SignerOptions } from './signer';
export { TokenWatcher, type TokenEvent, type TokenWatcherOptions } from './watch';
export { setPkcs11Trace, type TraceSink } from './trace';
export { provisionTokens, provisionDemoTokens, defaultDemoDir, DEMO_TOKENS, DEMO_PIN, DEMO_SO_PIN, type ProvisionOptions, type Provisioned } from './provision';
