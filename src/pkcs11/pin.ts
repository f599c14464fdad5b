import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pkcs11js from 'pkcs11js';
import { ExitCode, OpenctlError, TokenError } from '../util/errors';
import { readTextInputSync } from '../util/read-input';

/** A PIN file holds a PIN and a newline: anything much larger is the wrong file. */
const MAX_PIN_FILE_BYTES = 4096;
import { CKS_RO_USER_FUNCTIONS, CKS_RW_USER_FUNCTIONS } from './constants';
import { CryptokiError, isRv } from './errors';
import type { TokenState } from './token-state';
import { describeToken, type TokenFlags } from './tokens';

/** How a front end (terminal, GUI) talks to the person at the token. Absent: nobody is there (CI). */
export interface PinPrompter {
  /** Ask for a PIN without echo. */
  askPin(question: string): Promise<string>;
  /** Ask a yes/no question; true only on an explicit yes. */
  confirm(question: string): Promise<boolean>;
  /** Tell the person something that needs no answer (use the PIN pad, insert a token). */
  notice(message: string): void;
}

export interface LoginOptions {
  env: NodeJS.ProcessEnv;
  /** Base for a relative `pin-source` path. */
  cwd?: string;
  /** The URI's `pin-source`. */
  pinSource?: string;
  /** Undefined when nobody can answer a prompt: then a PIN must come from the URI or the environment. */
  prompter?: PinPrompter;
}

/** `OPENCTL_PIN_<LABEL>`: the label upper-cased, every other character than A-Z and 0-9 as `_`. */
export function pinEnvName(label: string): string {
  return `OPENCTL_PIN_${label.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** Read the PIN a `pin-source` names: `file:/path`, `file:///path` or a plain path; trailing newline dropped. */
export function readPinSource(source: string, cwd = process.cwd()): string {
  let file: string;
  if (/^file:\/\//i.test(source)) file = fileURLToPath(source);
  else if (/^file:/i.test(source)) file = source.slice('file:'.length);
  else if (/^[a-z][a-z0-9+.-]*:/i.test(source) && !/^[a-z]:[\\/]/i.test(source)) {
    throw new OpenctlError(`pin-source "${source}": only file: PIN sources are supported`);
  } else if (source.startsWith('|')) {
    throw new OpenctlError(`pin-source "${source}": only file: PIN sources are supported`);
  } else file = source;
  file = path.resolve(cwd, file);
  let text: string;
  try {
    text = readTextInputSync(file, { what: 'PIN file', maxBytes: MAX_PIN_FILE_BYTES, exitCode: ExitCode.Token });
  } catch (err) {
    // A missing or unreadable PIN file is a token problem (exit 3); a FIFO or device named as one is bad usage (2).
    if (err instanceof OpenctlError && err.exitCode === ExitCode.Token) throw new TokenError(err.message);
    throw err;
  }
  const pin = text.replace(/\r?\n$/, '');
  if (pin.length === 0) throw new TokenError(`${file}: the PIN file is empty`);
  return pin;
}

export interface PinFromSource {
  pin: string;
  /** Where it came from, for messages (never the PIN itself). */
  from: string;
}

/** The PIN from the URI's pin-source, OPENCTL_PIN_<LABEL> or OPENCTL_PIN, in that order; undefined if none. */
export function pinFromSources(label: string, options: LoginOptions): PinFromSource | undefined {
  if (options.pinSource !== undefined) {
    return { pin: readPinSource(options.pinSource, options.cwd), from: `pin-source ${options.pinSource}` };
  }
  const perToken = pinEnvName(label);
  if (options.env[perToken]) return { pin: options.env[perToken] as string, from: perToken };
  if (options.env.OPENCTL_PIN) return { pin: options.env.OPENCTL_PIN, from: 'OPENCTL_PIN' };
  return undefined;
}

/**
 * Log the token in once for the whole process (every signer and worker shares it). Never retries: a wrong
 * PIN ends here with the tries left as far as the token tells; at the final try a person must confirm, and
 * without one openctl refuses rather than risk locking the token.
 */
export async function ensureLogin(token: TokenState, options: LoginOptions): Promise<void> {
  if (token.loggedIn) return;
  token.loginInFlight ??= login(token, options).finally(() => {
    token.loginInFlight = undefined;
  });
  await token.loginInFlight;
}

async function login(token: TokenState, options: LoginOptions): Promise<void> {
  const ck = token.ck;
  const name = `token ${token.label}`;
  let session;
  let flags: TokenFlags;
  try {
    session = token.session();
    const state = ck.getSessionInfo(session).state;
    if (state === CKS_RO_USER_FUNCTIONS || state === CKS_RW_USER_FUNCTIONS) {
      token.loggedIn = true;
      return;
    }
    flags = describeToken(token.module, token.slotId).flags;
  } catch (err) {
    throw token.failure(err, 'while logging in');
  }
  if (!flags.loginRequired) {
    token.loggedIn = true;
    return;
  }
  if (flags.userPinLocked) throw lockedError(name);
  if (!flags.userPinInitialized) throw new TokenError(`${name}: the user PIN has not been set (initialise it with the token's tool)`);

  let from = 'the PIN pad';
  let pin: string | undefined;
  if (flags.protectedAuthenticationPath) {
    options.prompter?.notice(`${name}: enter the PIN on the reader's PIN pad`);
  } else {
    if (flags.userPinFinalTry) {
      if (!options.prompter) {
        throw new TokenError(
          `${name}: the token reports its final PIN try; openctl will not risk locking it without someone confirming ` +
            '(log in once interactively with the right PIN to reset the counter)',
        );
      }
      const go = await options.prompter.confirm(
        `${name}: this is the FINAL PIN try: one more wrong PIN locks the token for good. Continue? [y/N] `,
      );
      if (!go) throw new TokenError(`${name}: login cancelled at the final PIN try`);
    }
    const sourced = pinFromSources(token.label, options);
    if (sourced) {
      ({ pin, from } = sourced);
    } else if (options.prompter) {
      pin = await options.prompter.askPin(`PIN for ${token.label}: `);
      from = 'the prompt';
      if (pin.length === 0) throw new TokenError(`${name}: no PIN entered`);
    } else {
      throw new TokenError(
        `${name} needs a PIN: set ${pinEnvName(token.label)} or OPENCTL_PIN, add pin-source=file:PATH to the URI, ` +
          'or run in a terminal to be asked',
      );
    }
  }

  try {
    // pkcs11js cannot pass NULL_PTR: a PIN-pad module gets a zero-length PIN, which means "ask the reader".
    if (pin === undefined) await ck.loginOnPad(session, pkcs11js.CKU_USER);
    else ck.login(session, pkcs11js.CKU_USER, pin);
  } catch (err) {
    if (isRv(err, pkcs11js.CKR_USER_ALREADY_LOGGED_IN)) {
      token.loggedIn = true;
      return;
    }
    throw loginError(token, err, from, flags.userPinFinalTry);
  } finally {
    pin = undefined;
  }
  token.loggedIn = true;
}

function lockedError(name: string): TokenError {
  return new TokenError(`${name}: the user PIN is locked; an administrator must unblock it with the SO PIN`);
}

function loginError(token: TokenState, err: unknown, from: string, wasFinalTry: boolean): Error {
  const name = `token ${token.label}`;
  if (!(err instanceof CryptokiError)) return err as Error;
  if (isRv(err, pkcs11js.CKR_PIN_LOCKED)) {
    // At the final try, CKR_PIN_LOCKED is this wrong PIN using up the last try.
    return wasFinalTry
      ? new TokenError(`${name}: wrong PIN (from ${from}); the token is now LOCKED: an administrator must unblock it with the SO PIN`)
      : lockedError(name);
  }
  if (isRv(err, pkcs11js.CKR_PIN_INCORRECT, pkcs11js.CKR_PIN_INVALID)) {
    let after: TokenFlags | undefined;
    try {
      after = describeToken(token.module, token.slotId).flags;
    } catch {
      return token.failure(err, 'while logging in');
    }
    let tries = '';
    if (after.userPinLocked) tries = '; the token is now LOCKED';
    else if (after.userPinFinalTry) tries = '; 1 try left before the token locks';
    else if (after.userPinCountLow) tries = '; few tries left (the token reports its PIN count low)';
    return new TokenError(`${name}: wrong PIN (from ${from})${tries}`);
  }
  if (isRv(err, pkcs11js.CKR_PIN_LEN_RANGE)) return new TokenError(`${name}: the PIN (from ${from}) has a length the token does not accept`);
  if (isRv(err, pkcs11js.CKR_PIN_EXPIRED)) return new TokenError(`${name}: the PIN has expired; change it with the token's tool`);
  if (isRv(err, pkcs11js.CKR_FUNCTION_CANCELED, pkcs11js.CKR_CANCEL)) return new TokenError(`${name}: PIN entry cancelled`);
  return token.failure(err, 'while logging in');
}
