import * as path from 'node:path';
import { readCertificates } from '../crypto/certificate';
import { loadPemSigner } from '../crypto/pem-signer';
import type { Signer } from '../crypto/signer';
import { readTokenCertificate, openPkcs11Signer } from '../pkcs11/signer';
import type { FindTokenOptions } from '../pkcs11/select';
import { setPkcs11Trace } from '../pkcs11/trace';
import { isPkcs11Uri, parsePkcs11Uri } from '../pkcs11/uri';
import { OpenctlError } from '../util/errors';
import { MAX_TEXT_BYTES, readInput } from '../util/read-input';
import type { CliIO } from './io';
import { log } from './io';
import { cliPrompter } from './prompt';

export interface SignerSpecOptions {
  io: CliIO;
  /** A person is at the terminal: PIN prompt, final-try confirmation, "insert eToken-B". */
  interactive: boolean;
  /** `--no-wait`: a missing token fails at once (exit 3) instead of asking for it. */
  noWait?: boolean;
  /** `--debug`: PKCS#11 call trace on stderr (never a PIN). */
  debug?: boolean;
  /** `--module PATH` values, when the command has the option. */
  modules?: readonly string[];
  /** Ctrl-C: stops a prompt or a wait for a token with exit 130. */
  signal?: AbortSignal;
}

function tokenOptions(options: SignerSpecOptions): FindTokenOptions {
  const { io } = options;
  if (options.debug) setPkcs11Trace((line) => log(io, line));
  return {
    modules: options.modules,
    env: io.env,
    waitForInsert:
      options.interactive && !options.noWait
        ? { notice: (message) => log(io, `openctl: ${message}`), signal: options.signal }
        : undefined,
  };
}

/** A SIGNER argument: a `pkcs11:` URI (the key stays on the token) or a PEM file holding key and certificate. */
export async function openSigner(spec: string, options: SignerSpecOptions): Promise<Signer> {
  if (isPkcs11Uri(spec)) {
    const uri = parsePkcs11Uri(spec);
    return openPkcs11Signer(uri, {
      ...tokenOptions(options),
      cwd: options.io.cwd,
      prompter: options.interactive ? cliPrompter(options.io, options.signal) : undefined,
    });
  }
  return loadPemSigner(path.resolve(options.io.cwd, spec));
}

/**
 * A certificate argument (`--sast` and the like): a PEM/DER/PKCS#7 file (its first certificate), or a
 * `pkcs11:` URI whose certificate is read from the token without logging in. Returns DER.
 */
export async function loadCertificateSpec(spec: string, options: SignerSpecOptions): Promise<Buffer> {
  if (isPkcs11Uri(spec)) return readTokenCertificate(parsePkcs11Uri(spec), tokenOptions(options));
  const file = path.resolve(options.io.cwd, spec);
  const bytes = await readInput(file, { what: 'certificate', maxBytes: MAX_TEXT_BYTES });
  let certs: Buffer[];
  try {
    certs = readCertificates(bytes);
  } catch (err) {
    throw new OpenctlError(`${spec}: ${(err as Error).message}`);
  }
  if (certs.length === 0) throw new OpenctlError(`${spec}: no certificate found`);
  return certs[0];
}
