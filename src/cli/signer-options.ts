import type { Command } from 'commander';
import type { Signer } from '../crypto/signer';
import { loadPemKeyAndCert } from '../crypto/pem-signer';
import { OpenctlError } from '../util/errors';
import type { CliContext } from './context';
import { log } from './io';
import { signerExpiryWarning } from '../trust/expiry';
import { openSigner, type SignerSpecOptions } from './signer-spec';

export interface SignerOptions {
  signer?: string;
  key?: string;
  cert?: string;
  wait?: boolean; // commander's --no-wait
  /** `--module PATH`, repeatable: the PKCS#11 module(s) for pkcs11: signers and certificates. */
  module?: string[];
}

const collectModules = (value: string, previous: string[] = []) => [...previous, value];

/** `--signer SIGNER` or `--key KEY --cert CERT`, shared by every command that signs (batch sign takes the same). */
export function addSignerOptions(command: Command, { withCert = true }: { withCert?: boolean } = {}): Command {
  command
    .option('--signer <signer>', 'PEM file with key and certificate, or a pkcs11: URI')
    .option('--key <key>', 'private key PEM (with --cert)')
    .option('--module <path>', 'PKCS#11 module for pkcs11: signers and certificates (repeatable; default: OPENCTL_PKCS11_MODULE, the config file, the known locations)', collectModules, [])
    .option('--no-wait', 'fail (exit 3) instead of asking to insert a token that is not present');
  if (withCert) command.option('--cert <cert>', 'signing certificate (with --key)');
  return command;
}

export async function resolveSigner(opts: SignerOptions, ctx: CliContext, debug: boolean): Promise<Signer> {
  const signer = await openSignerOption(opts, ctx, debug);
  warnAboutSignerExpiry(Buffer.from(signer.certificate), ctx);
  return signer;
}

async function openSignerOption(opts: SignerOptions, ctx: CliContext, debug: boolean): Promise<Signer> {
  if (opts.key || (opts.cert && !opts.signer)) {
    if (!opts.key || !opts.cert) throw new OpenctlError('--key and --cert go together');
    if (opts.signer) throw new OpenctlError('give either --signer or --key with --cert, not both');
    return loadPemKeyAndCert(opts.key, opts.cert);
  }
  if (!opts.signer) throw new OpenctlError('a signer is needed: --signer SIGNER, or --key KEY --cert CERT');
  return openSigner(opts.signer, signerSpecOptions(ctx, opts, debug));
}

/**
 * The same warning `verify` and `show` give about the signer certificate, before anything is signed: phones
 * ignore the dates of a CTL/ITL signer, but an expired (or soon expiring) certificate is a rollout to plan.
 */
export function warnAboutSignerExpiry(certificate: Buffer, ctx: CliContext, now = new Date()): void {
  const warning = signerExpiryWarning(certificate, now);
  if (warning) log(ctx.io, `openctl: warning: ${warning.message}`);
}

/** How token prompts behave for this run: a person at a terminal can be asked for a PIN or a token. */
export function signerSpecOptions(ctx: CliContext, opts: { wait?: boolean; module?: string[] }, debug: boolean): SignerSpecOptions {
  return {
    io: ctx.io,
    interactive: Boolean(ctx.io.stdin.isTTY && ctx.io.stderr.isTTY),
    noWait: opts.wait === false,
    debug,
    modules: opts.module?.length ? opts.module : undefined,
    signal: ctx.signal,
  };
}

/** What every command that writes signed files takes besides the signer. */
export interface FileSigningOptions extends SignerOptions {
  digest?: string;
  timestamp?: string;
  outDir?: string;
  dnStyle?: string;
  force?: boolean;
  json?: boolean;
}

export function addFileSigningOptions(command: Command, outDirHelp: string): Command {
  return addSignerOptions(command)
    .option('--digest <alg>', "sha1 (default), or sha512 (the cluster's TFTP File Signature Algorithm), or sha256")
    .option('--timestamp <unix>', 'header timestamp (default: now)')
    .option('--out-dir <dir>', outDirHelp)
    .option('--dn-style <style>', 'comma (default) or cucm')
    .option('--force', 'overwrite existing outputs')
    .option('--json', 'print the results as JSON (schemas: docs/json.md)');
}
