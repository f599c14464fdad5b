import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OpenctlError, TokenError } from '../util/errors';
import { readTextInputSync } from '../util/read-input';

/** Where the usual PKCS#11 modules install themselves, in the order openctl tries them. */
export const KNOWN_MODULES: Readonly<Record<'linux' | 'darwin' | 'win32', readonly string[]>> = {
  linux: [
    // SafeNet / Thales Authentication Client: eToken and IDPrime
    '/usr/lib/libeTPkcs11.so',
    '/usr/lib64/libeTPkcs11.so',
    '/usr/lib/x86_64-linux-gnu/libeTPkcs11.so',
    '/usr/lib/libIDPrimePKCS11.so',
    '/usr/lib64/libIDPrimePKCS11.so',
    // OpenSC
    '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so',
    '/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so',
    '/usr/lib64/opensc-pkcs11.so',
    '/usr/lib/opensc-pkcs11.so',
    // SoftHSM 2
    '/usr/lib/softhsm/libsofthsm2.so',
    '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
    '/usr/lib64/pkcs11/libsofthsm2.so',
    '/usr/local/lib/softhsm/libsofthsm2.so',
  ],
  darwin: [
    '/usr/local/lib/libeTPkcs11.dylib',
    '/Library/Frameworks/eToken.framework/Versions/Current/libeToken.dylib',
    '/usr/local/lib/libIDPrimePKCS11.dylib',
    '/Library/OpenSC/lib/opensc-pkcs11.so',
    '/opt/homebrew/lib/opensc-pkcs11.so',
    '/usr/local/lib/opensc-pkcs11.so',
    '/opt/homebrew/lib/softhsm/libsofthsm2.so',
    '/usr/local/lib/softhsm/libsofthsm2.so',
  ],
  win32: [
    'C:\\Windows\\System32\\eTPKCS11.dll',
    'C:\\Windows\\System32\\IDPrimePKCS11.dll',
    'C:\\Program Files\\OpenSC Project\\OpenSC\\pkcs11\\opensc-pkcs11.dll',
    'C:\\SoftHSM2\\lib\\softhsm2-x64.dll',
  ],
};

/** Short names for the URI's `module-name` attribute (RFC 7512 leaves the lookup to the application). */
const MODULE_NAMES: Readonly<Record<string, readonly string[]>> = {
  etoken: ['libeTPkcs11', 'eTPKCS11', 'libeToken'],
  idprime: ['libIDPrimePKCS11', 'IDPrimePKCS11'],
  opensc: ['opensc-pkcs11'],
  softhsm: ['libsofthsm2', 'softhsm2-x64', 'softhsm2'],
  softhsm2: ['libsofthsm2', 'softhsm2-x64', 'softhsm2'],
};

export type ModuleSource = 'uri' | 'option' | 'env' | 'config' | 'known';

export interface ModuleChoice {
  /** Paths to load, in order; with `known` only those that exist. */
  paths: string[];
  source: ModuleSource;
  /** Where they came from, for error messages: `--module`, `OPENCTL_PKCS11_MODULE`, the config file's path... */
  origin: string;
}

export interface ResolveOptions {
  /** `--module PATH` (repeatable). */
  modules?: readonly string[];
  /** The URI's `module-path` / `module-name`. */
  uriModulePath?: string;
  uriModuleName?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

/** The user config file: `$OPENCTL_CONFIG`, else `%APPDATA%\openctl\config.json` / `$XDG_CONFIG_HOME/openctl/config.json`. */
export function configFilePath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.OPENCTL_CONFIG) return env.OPENCTL_CONFIG;
  if (platform === 'win32') {
    return path.join(env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'openctl', 'config.json');
  }
  return path.join(env.XDG_CONFIG_HOME || path.join(env.HOME ?? os.homedir(), '.config'), 'openctl', 'config.json');
}

/** `{ "pkcs11": { "modules": ["/path/libeTPkcs11.so"] } }`; a missing file is no config, a broken one an error. */
export function modulesFromConfig(file: string): string[] | undefined {
  if (!fs.existsSync(file)) return undefined;
  const text = readTextInputSync(file, { what: 'openctl config' });
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new OpenctlError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const modules = (config as { pkcs11?: { modules?: unknown } } | null)?.pkcs11?.modules;
  if (modules === undefined) return undefined;
  if (!Array.isArray(modules) || !modules.every((m) => typeof m === 'string')) {
    throw new OpenctlError(`${file}: "pkcs11.modules" must be an array of module paths`);
  }
  return modules.length > 0 ? modules : undefined;
}

/**
 * Which PKCS#11 modules to load, first match wins: the URI's module-path/module-name, `--module`,
 * `OPENCTL_PKCS11_MODULE` (a path list), the config file, then every known location that exists here.
 */
export function resolveModules(options: ResolveOptions = {}): ModuleChoice {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  if (options.uriModulePath) return { paths: [options.uriModulePath], source: 'uri', origin: 'the URI\'s module-path' };
  if (options.uriModuleName) {
    const found = findModuleByName(options.uriModuleName, platform);
    if (!found) {
      throw new TokenError(`no PKCS#11 module named "${options.uriModuleName}" found (give module-path in the URI or --module PATH)`);
    }
    return { paths: [found], source: 'uri', origin: 'the URI\'s module-name' };
  }
  if (options.modules && options.modules.length > 0) return { paths: [...options.modules], source: 'option', origin: '--module' };
  const fromEnv = env.OPENCTL_PKCS11_MODULE?.split(platform === 'win32' ? ';' : ':').filter((p) => p.length > 0);
  if (fromEnv && fromEnv.length > 0) return { paths: fromEnv, source: 'env', origin: 'OPENCTL_PKCS11_MODULE' };
  const configFile = configFilePath(env, platform);
  const fromConfig = modulesFromConfig(configFile);
  if (fromConfig) return { paths: fromConfig, source: 'config', origin: configFile };
  const known = knownModules(platform);
  if (known.length === 0) {
    throw new TokenError(
      'no PKCS#11 module found: install your token\'s middleware, or give --module PATH or OPENCTL_PKCS11_MODULE',
    );
  }
  return { paths: known, source: 'known', origin: 'the known module locations' };
}

export function knownModules(platform: NodeJS.Platform = process.platform): string[] {
  const list = KNOWN_MODULES[platform as keyof typeof KNOWN_MODULES] ?? KNOWN_MODULES.linux;
  const seen = new Set<string>();
  const found: string[] = [];
  for (const candidate of list) {
    const real = realPath(candidate);
    if (real && !seen.has(real)) {
      seen.add(real);
      found.push(candidate);
    }
  }
  return found;
}

function findModuleByName(name: string, platform: NodeJS.Platform): string | undefined {
  const stems = MODULE_NAMES[name.toLowerCase()] ?? [name];
  const list = KNOWN_MODULES[platform as keyof typeof KNOWN_MODULES] ?? KNOWN_MODULES.linux;
  for (const candidate of list) {
    const base = path.basename(candidate).replace(/\.(so|dylib|dll)$/i, '');
    if (stems.some((stem) => stem.toLowerCase() === base.toLowerCase()) && realPath(candidate)) return candidate;
  }
  return undefined;
}

/** The canonical path (symlinks resolved) or undefined when the file does not exist. */
export function realPath(file: string): string | undefined {
  try {
    return fs.realpathSync(file);
  } catch {
    return undefined;
  }
}
