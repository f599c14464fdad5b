import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { provisionTokens, SOFTHSM_MODULE, type ProvisionToken, type ProvisionedToken } from '../../src/pkcs11/provision';
import { loadedModules, releaseModule } from '../../src/pkcs11/registry';

export const TEST_PIN = '1234';
export const TEST_SO_PIN = '12345678';

export interface SoftHsmFixture {
  dir: string;
  /** softhsm2.conf of this fixture. */
  conf: string;
  modulePath: string;
  tokens: ProvisionedToken[];
  pin: string;
  soPin: string;
  /** An environment for child processes: SOFTHSM2_CONF set, no OPENCTL_PIN* inherited. */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Point this process's SoftHSM at the fixture (read by C_Initialize). */
  activate(): void;
  /** Unload SoftHSM if left loaded, restore SOFTHSM2_CONF, delete the tokens. */
  cleanup(): void;
}

export interface SoftHsmOptions {
  /** Tokens to create, e.g. `{ label: 'eToken-A', keys: [{ keyBits: 1024 }, { keyBits: 4096, label: 'big' }] }`. */
  tokens: ProvisionToken[];
  pin?: string;
  soPin?: string;
  /** SoftHSM's `slots.mechanisms` as a list of allowed ones, e.g. `CKM_RSA_X_509,CKM_SHA256_RSA_PKCS` (2.6.1 ignores `-` exclusions). */
  mechanisms?: string;
}

/** Fresh SoftHSM tokens in a temp folder, made through PKCS#11 like `npm run tokens:demo`. */
export async function createSoftHsm(options: SoftHsmOptions): Promise<SoftHsmFixture> {
  unloadSoftHsm();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-softhsm-'));
  const pin = options.pin ?? TEST_PIN;
  const soPin = options.soPin ?? TEST_SO_PIN;
  const previous = process.env.SOFTHSM2_CONF;
  let made;
  try {
    made = await provisionTokens({ dir, tokens: options.tokens, pin, soPin, mechanisms: options.mechanisms });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const { conf, modulePath, tokens } = made;
  return {
    dir,
    conf,
    modulePath,
    tokens,
    pin,
    soPin,
    env(extra = {}) {
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OPENCTL_')) env[k] = v;
      return { ...env, SOFTHSM2_CONF: conf, ...extra };
    },
    activate() {
      unloadSoftHsm();
      process.env.SOFTHSM2_CONF = conf;
    },
    cleanup() {
      unloadSoftHsm();
      if (previous === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = previous;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A test that failed half-way may leave SoftHSM loaded with another fixture's folder: drop it. */
export function unloadSoftHsm(): void {
  for (const module of loadedModules()) {
    if (path.basename(module.path).includes('softhsm')) {
      while (module.users > 0) releaseModule(module);
    }
  }
}

export { SOFTHSM_MODULE };

/** The folder SoftHSM keeps its tokens in, from the fixture's softhsm2.conf. */
function tokenDirOf(fixture: SoftHsmFixture): string {
  const line = fs.readFileSync(fixture.conf, 'utf8').split('\n').find((l) => l.trim().startsWith('directories.tokendir'));
  if (!line) throw new Error(`${fixture.conf}: no directories.tokendir`);
  return line.slice(line.indexOf('=') + 1).trim();
}

/** Whether `softhsm2-util --show-slots` still lists a token with this label. */
function tokenListed(fixture: SoftHsmFixture, label: string): boolean {
  const r = spawnSync('softhsm2-util', ['--show-slots'], { env: fixture.env(), encoding: 'utf8' });
  return r.stdout.split('\n').some((line) => line.trim() === `Label:            ${label}` || line.trim().replace(/\s+/g, ' ') === `Label: ${label}`);
}

/**
 * Delete a token the way an admin pulls it, while an app may be reading it. SoftHSM opens a token by creating
 * `token.lock` in its folder: if a reader does so while `softhsm2-util --delete-token` runs, the tool has removed
 * the token's objects but "Could not delete the directory". Retried until the state the test needs holds: the
 * token is no longer listed and no folder of it is left (a leftover folder holding only lock files is removed).
 */
export async function deleteTokenWhileInUse(fixture: SoftHsmFixture, label: string, timeoutMs = 15_000): Promise<{ attempts: number }> {
  const deadline = Date.now() + timeoutMs;
  for (let attempts = 1; ; attempts += 1) {
    const result = spawnSync('softhsm2-util', ['--delete-token', '--token', label], { env: fixture.env(), encoding: 'utf8' });
    const listed = tokenListed(fixture, label);
    if (!listed) {
      const tokenDir = tokenDirOf(fixture);
      for (const entry of fs.readdirSync(tokenDir, { withFileTypes: true })) {
        const folder = path.join(tokenDir, entry.name);
        // A token folder without its token.object is what a delete cut short leaves behind: lock files only.
        if (entry.isDirectory() && !fs.existsSync(path.join(folder, 'token.object'))) fs.rmSync(folder, { recursive: true, force: true });
      }
      return { attempts };
    }
    if (Date.now() > deadline) throw new Error(`softhsm2-util --delete-token ${label}: still listed after ${attempts} tries: ${result.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100 * attempts));
  }
}
