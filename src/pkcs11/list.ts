import { acquireModule, releaseModule, type ModuleDescription } from './registry';
import { resolveModules } from './resolve';
import { describeSlots, listObjectPairs, type ObjectPair, type SlotDescription } from './tokens';

export interface SlotListing extends SlotDescription {
  /** Certificate/key pairs on the token (absent for an empty slot or an uninitialised token). */
  objects?: ObjectPair[];
  /** Why the objects could not be listed. */
  objectsError?: string;
}

export interface ModuleListing {
  path: string;
  module?: ModuleDescription;
  /** The module could not be loaded or listed. */
  error?: string;
  slots: SlotListing[];
}

export interface ListTokensOptions {
  /** `--module PATH` values; default: OPENCTL_PKCS11_MODULE, the config file, then the known locations. */
  modules?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Leave out slots without a token (default true). */
  presentOnly?: boolean;
}

/**
 * Slots, tokens and their certificate/key pairs, module by module, without logging in. A module that fails
 * is reported in its entry rather than failing the listing; `--module` paths that fail throw, since the person
 * asked for exactly those.
 */
export async function listTokens(options: ListTokensOptions = {}): Promise<ModuleListing[]> {
  const choice = resolveModules({ modules: options.modules, env: options.env });
  const listings: ModuleListing[] = [];
  for (const path of choice.paths) {
    let module;
    try {
      module = acquireModule(path);
    } catch (err) {
      if (choice.source !== 'known') throw err;
      listings.push({ path, error: (err as Error).message, slots: [] });
      continue;
    }
    try {
      const slots: SlotListing[] = describeSlots(module, { tokenPresent: options.presentOnly ?? true });
      for (const slot of slots) {
        if (!slot.token?.flags.initialized) continue;
        const state = module.token(slot.slotId, slot.token.label, slot.token.serial).retain();
        try {
          slot.objects = listObjectPairs(module, state.session(), state.loggedIn);
        } catch (err) {
          slot.objectsError = (err as Error).message;
        } finally {
          state.release();
        }
      }
      listings.push({ path, module: module.description, slots });
    } finally {
      releaseModule(module);
    }
  }
  return listings;
}
