import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './paths';

/**
 * The test-only PKCS#11 module (native-bindings/testp11, built by `npm install`): it forwards every call to
 * SoftHSM (or OPENCTL_TESTP11_TARGET) and injects what SoftHSM cannot do (PIN counters and flags, a PIN pad,
 * missing mechanisms, token removal) as told by the control file named in OPENCTL_TESTP11_CONTROL. The file is
 * re-read whenever it changes, so a test can change the token's behaviour mid-run. Keys: native-bindings/README.md.
 */
export function testp11Path(): string {
  return path.join(REPO_ROOT, 'native-bindings', 'build', 'Release', 'libopenctl-testp11.so');
}

export function testp11Available(): boolean {
  return fs.existsSync(testp11Path());
}

/** Control keys, spelled as in the file. Lists take constant names (CKM_..., CKF_...) or numbers. */
export interface TestP11Settings {
  /** Limit every injection to one slot and/or one token label (default: all). */
  slot?: number;
  token_label?: string;
  token_flags_set?: readonly string[];
  token_flags_clear?: readonly string[];
  pin_count_low?: boolean;
  pin_final_try?: boolean;
  /** CKF_USER_PIN_LOCKED, and C_Login(CKU_USER) answers CKR_PIN_LOCKED. */
  pin_locked?: boolean;
  protected_auth_path?: boolean;
  /** Simulated PIN counter: tries left are kept in `state_file` (default: the control file + `.state`). */
  max_pin_tries?: number;
  state_file?: string;
  /** PIN pad: CKF_PROTECTED_AUTHENTICATION_PATH, and C_Login with a NULL PIN logs in with pinpad_pin. */
  pinpad?: boolean;
  pinpad_pin?: string;
  pinpad_delay_ms?: number;
  hide_mechanisms?: readonly string[];
  reject_sign_mechanisms?: readonly string[];
  reject_sign_rv?: string;
  /** Each C_Sign sleeps this long first (a slow hardware token). */
  sign_delay_ms?: number;
  /** The Nth C_Sign (counted in this process since the value was set) and every one after fail: token removed. */
  remove_at_sign?: number;
  removed_rv?: string;
  /** The token is not inserted. */
  removed?: boolean;
  /** Whether a removal closes the target's sessions, login included (default true, as real hardware). */
  removal_closes_sessions?: boolean;
}

/** Writes the control file atomically (the module never sees half a file). */
export function writeControl(file: string, settings: TestP11Settings): void {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(settings) as [string, unknown][]) {
    if (value === undefined) continue;
    if (Array.isArray(value)) lines.push(`${key}=${value.join(',')}`);
    else if (typeof value === 'boolean') lines.push(`${key}=${value ? 1 : 0}`);
    else lines.push(`${key}=${String(value)}`);
  }
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, lines.map((l) => `${l}\n`).join(''));
  fs.renameSync(tmp, file);
}

/** The simulated PIN counter's file for this control file (unless `state_file` says otherwise). */
export function statePath(controlFile: string): string {
  return `${controlFile}.state`;
}

/** Forgets every simulated wrong PIN. */
export function clearState(controlFile: string): void {
  fs.rmSync(statePath(controlFile), { force: true });
}

/**
 * Tries left for a token (by serial: SoftHSM numbers slots differently in each process) as the module recorded
 * them, or undefined when it has seen no PIN for that token yet.
 */
export function pinTriesLeft(controlFile: string, tokenSerial: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(statePath(controlFile), 'utf8');
  } catch {
    return undefined;
  }
  const match = new RegExp(`^pin_tries_left\\.${tokenSerial}=(\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * A private copy of a PKCS#11 library in `dir`: dlopen gives one instance per file in a process, so a copy is a
 * fresh module with its own C_Initialize and configuration, whatever other tests in this mocha process did with
 * the original (SoftHSM reads SOFTHSM2_CONF once, at its first C_Initialize).
 */
export function isolatedModuleCopy(modulePath: string, dir: string): string {
  const copy = path.join(dir, `${path.basename(modulePath, '.so')}-${process.pid}-${Date.now()}.so`);
  fs.copyFileSync(modulePath, copy);
  return copy;
}

/** The environment that points the test module at its target and control file (for child processes too). */
export function testp11Env(control: string, target = '/usr/lib/softhsm/libsofthsm2.so'): Record<string, string> {
  return { OPENCTL_TESTP11_TARGET: target, OPENCTL_TESTP11_CONTROL: control };
}
