import { InterruptedError, TokenError } from '../util/errors';
import { acquireModule, releaseModule, type Pkcs11Module } from './registry';
import { resolveModules, type ModuleChoice } from './resolve';
import { describeSlots, type SlotDescription, type TokenDescription } from './tokens';
import { formatPkcs11Uri, uriMatchesLibrary, uriMatchesSlot, uriMatchesToken, uriTokenName, type Pkcs11Uri } from './uri';
import { TokenWatcher } from './watch';

export interface FindTokenOptions {
  /** `--module PATH` values. */
  modules?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /**
   * Set when a person is there to insert a missing token (the one-reader flow): openctl says what to insert
   * and waits for it. Unset (non-interactive, or `--no-wait`): a missing token is an error at once.
   */
  waitForInsert?: { notice(message: string): void; signal?: AbortSignal };
}

/** A token found for a URI; its module stays acquired until `release()`. */
export interface FoundToken {
  module: Pkcs11Module;
  slot: SlotDescription;
  token: TokenDescription;
  release(): void;
}

interface Candidate {
  module: Pkcs11Module;
  slot: SlotDescription;
}

/** Load the modules a URI (or --module / the environment / config / known paths) points at. */
function loadModules(choice: ModuleChoice, skipped: string[]): Pkcs11Module[] {
  const loaded: Pkcs11Module[] = [];
  for (const modulePath of choice.paths) {
    try {
      loaded.push(acquireModule(modulePath));
    } catch (err) {
      // A broken module found by looking around is worth a note, not a failure; one the person named is.
      if (choice.source !== 'known') {
        loaded.forEach(releaseModule);
        throw err;
      }
      skipped.push((err as Error).message);
    }
  }
  return loaded;
}

function matches(uri: Pkcs11Uri, modules: Pkcs11Module[]): { found: Candidate[]; present: string[] } {
  const found: Candidate[] = [];
  const present: string[] = [];
  for (const module of modules) {
    if (!uriMatchesLibrary(uri, module.description)) continue;
    for (const slot of describeSlots(module, { tokenPresent: true })) {
      if (!slot.token || !slot.token.flags.initialized) continue;
      present.push(slot.token.label);
      if (uriMatchesSlot(uri, slot) && uriMatchesToken(uri, slot.token)) found.push({ module, slot });
    }
  }
  return { found, present };
}

/**
 * The one token a URI means. Several matches are an error that names them (add token= or serial=);
 * none is an error, or, with `waitForInsert`, a prompt to insert it and a wait for the insert event.
 */
export async function findToken(uri: Pkcs11Uri, options: FindTokenOptions = {}): Promise<FoundToken> {
  const env = options.env ?? process.env;
  const choice = resolveModules({ modules: options.modules, uriModulePath: uri.modulePath, uriModuleName: uri.moduleName, env });
  const skipped: string[] = [];
  const modules = loadModules(choice, skipped);
  if (modules.length === 0) {
    throw new TokenError(`no PKCS#11 module could be loaded (${skipped.join('; ')})`);
  }
  try {
    let { found, present } = matches(uri, modules);
    if (found.length === 0 && options.waitForInsert) {
      found = await waitForToken(uri, modules, options.waitForInsert);
    }
    if (found.length === 0) {
      const where = present.length > 0 ? `present: ${[...new Set(present)].join(', ')}` : 'no token present';
      throw new TokenError(`no token matching ${formatPkcs11Uri(uri, { query: false })} (${where})`);
    }
    if (found.length > 1) {
      const names = found.map((c) => `${c.slot.token!.label} (serial ${c.slot.token!.serial})`);
      throw new TokenError(
        `${found.length} tokens match ${formatPkcs11Uri(uri, { query: false })}: ${names.join(', ')}; name one with token= or serial=`,
      );
    }
    const [chosen] = found;
    for (const module of modules) if (module !== chosen.module) releaseModule(module);
    let released = false;
    return {
      module: chosen.module,
      slot: chosen.slot,
      token: chosen.slot.token!,
      release: () => {
        if (!released) releaseModule(chosen.module);
        released = true;
      },
    };
  } catch (err) {
    modules.forEach(releaseModule);
    throw err;
  }
}

/** "insert eToken-B": watch from a child process, and look again in our own modules on each insertion. */
async function waitForToken(
  uri: Pkcs11Uri,
  modules: Pkcs11Module[],
  wait: NonNullable<FindTokenOptions['waitForInsert']>,
): Promise<Candidate[]> {
  if (wait.signal?.aborted) throw new InterruptedError();
  // The child sees what our own modules see: this process's environment (SOFTHSM2_CONF and the like).
  const watcher = await TokenWatcher.start({ modules: modules.map((m) => m.path), env: process.env });
  try {
    // It may have arrived while the watcher started.
    if (watcher.initial.some((s) => s.token && uriMatchesToken(uri, s.token) && uriMatchesSlot(uri, s))) {
      const again = lookAgain(uri, modules);
      if (again.length > 0) return again;
    }
    wait.notice(`insert ${uriTokenName(uri)} (waiting for it; Ctrl-C to stop)`);
    return await new Promise<Candidate[]>((resolve, reject) => {
      const onAbort = () => reject(new InterruptedError());
      wait.signal?.addEventListener('abort', onAbort, { once: true });
      watcher.on('stopped', (reason) => reject(new TokenError(reason)));
      watcher.on('token', (event) => {
        if (event.type !== 'inserted' || !uriMatchesToken(uri, event.token)) return;
        const again = lookAgain(uri, modules);
        if (again.length > 0) {
          wait.signal?.removeEventListener('abort', onAbort);
          resolve(again);
        } else if (modules.some((m) => m.busy)) {
          reject(
            new TokenError(
              `${event.token.label} was inserted, but ${event.module} only shows new tokens after re-initialising, ` +
                'which would end the logins in use; insert it before starting',
            ),
          );
        }
      });
    });
  } finally {
    watcher.close();
  }
}

function lookAgain(uri: Pkcs11Uri, modules: Pkcs11Module[]): Candidate[] {
  let { found } = matches(uri, modules);
  if (found.length === 0) {
    for (const module of modules) module.refresh();
    ({ found } = matches(uri, modules));
  }
  return found;
}
