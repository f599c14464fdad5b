import * as fs from 'node:fs';
import * as pkcs11js from 'pkcs11js';
import { TokenError } from '../util/errors';
import { Cryptoki, ckText } from './cryptoki';
import { CryptokiError, isRv } from './errors';
import { realPath } from './resolve';
import { TokenState } from './token-state';

export interface ModuleDescription {
  path: string;
  manufacturer: string;
  description: string;
  /** Library version, e.g. `2.6`. */
  version: string;
  cryptokiVersion: string;
}

/**
 * The single owner of one loaded PKCS#11 library in this process. C_Initialize runs once with
 * CKF_OS_LOCKING_OK (without it SoftHSM turns its own locks off); C_Finalize runs only when the last user
 * releases it, and never when someone else in the process had initialised the library first.
 */
export class Pkcs11Module {
  readonly ck: Cryptoki;
  readonly description: ModuleDescription;
  users = 0;
  private ownsInitialization = true;
  private readonly tokens = new Map<string, TokenState>();

  constructor(
    readonly path: string,
    readonly key: string,
  ) {
    this.ck = new Cryptoki(path);
    try {
      this.ck.load();
    } catch (err) {
      throw new TokenError(`${path}: cannot load the PKCS#11 module (${firstLine(err)})`);
    }
    try {
      this.ck.initialize();
    } catch (err) {
      if (isRv(err, pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
        // Another library in this process owns the initialisation: share it, never finalize it.
        this.ownsInitialization = false;
      } else {
        this.ck.unload();
        throw new TokenError(`${path}: the PKCS#11 module failed to initialise (${describe(err)})`);
      }
    }
    const info = this.ck.getInfo();
    this.description = {
      path,
      manufacturer: ckText(info.manufacturerID),
      description: ckText(info.libraryDescription),
      version: `${info.libraryVersion.major}.${info.libraryVersion.minor}`,
      cryptokiVersion: `${info.cryptokiVersion.major}.${info.cryptokiVersion.minor}`,
    };
  }

  /** The shared state (sessions, login, cached handles) of the token in `slotId` with `serial`. */
  token(slotId: number, label: string, serial: string): TokenState {
    const key = `${slotId}/${serial}`;
    let state = this.tokens.get(key);
    if (!state || state.closed) {
      state = new TokenState(this, slotId, label, serial, () => this.tokens.delete(key));
      this.tokens.set(key, state);
    }
    return state;
  }

  /** Are there sessions (and so possibly logins) on any token of this module? */
  get busy(): boolean {
    for (const token of this.tokens.values()) if (!token.closed && token.users > 0) return true;
    return false;
  }

  /**
   * Make tokens created or inserted since C_Initialize visible. Hardware modules report them on their own;
   * software ones such as SoftHSM only re-read their token folder on C_Initialize, so re-initialise, but
   * only while nothing is logged in or open (never under an active signer).
   */
  refresh(): boolean {
    if (this.busy || !this.ownsInitialization) return false;
    for (const token of this.tokens.values()) token.close();
    this.tokens.clear();
    try {
      this.ck.finalize();
    } catch {
      /* already finalised: initialise again below */
    }
    this.ck.initialize();
    return true;
  }

  shutdown(): void {
    for (const token of this.tokens.values()) token.close();
    this.tokens.clear();
    if (this.ownsInitialization) {
      try {
        this.ck.finalize();
      } catch {
        /* nothing more to release */
      }
    }
  }
}

const REGISTRY_KEY = Symbol.for('openctl.pkcs11.modules');
type RegistryHolder = { [REGISTRY_KEY]?: Map<string, Pkcs11Module> };

/** One registry per process, even if two copies of this file get loaded (the GUI bundles, tests). */
function registry(): Map<string, Pkcs11Module> {
  const holder = globalThis as RegistryHolder;
  return (holder[REGISTRY_KEY] ??= new Map());
}

/** Load (or share) the module at `modulePath`; pair every call with releaseModule. */
export function acquireModule(modulePath: string): Pkcs11Module {
  const real = realPath(modulePath);
  if (!real) {
    throw new TokenError(`${modulePath}: PKCS#11 module not found`);
  }
  if (!fs.statSync(real).isFile()) throw new TokenError(`${modulePath}: not a PKCS#11 module file`);
  const modules = registry();
  let module = modules.get(real);
  if (!module) {
    module = new Pkcs11Module(modulePath, real);
    modules.set(real, module);
  }
  module.users += 1;
  return module;
}

/** Drop one use; the last one closes the sessions (logging out) and finalizes the library. */
export function releaseModule(module: Pkcs11Module): void {
  module.users -= 1;
  if (module.users > 0) return;
  const modules = registry();
  if (modules.get(module.key) === module) modules.delete(module.key);
  module.shutdown();
}

/** Run `fn` with the module loaded, releasing it afterwards whatever happens. */
export async function withModule<T>(modulePath: string, fn: (module: Pkcs11Module) => Promise<T> | T): Promise<T> {
  const module = acquireModule(modulePath);
  try {
    return await fn(module);
  } finally {
    releaseModule(module);
  }
}

/** Modules currently loaded (for diagnostics and tests). */
export function loadedModules(): Pkcs11Module[] {
  return [...registry().values()];
}

function describe(err: unknown): string {
  return err instanceof CryptokiError ? err.rvName : firstLine(err);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
