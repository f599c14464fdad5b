import * as path from 'node:path';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { parseDigest, parseDnStyle, parseTimestamp } from '../options';
import { addFileSigningOptions, resolveSigner, type FileSigningOptions } from '../signer-options';
import { readInput, readParsed } from '../inputs';
import { out, printJson } from '../io';
import { OpenctlError } from '../../util/errors';
import { writeFileAtomic } from '../../util/atomic-write';
import { checkOutputs } from '../../util/output-check';
import { decryptConfig } from '../../formats';
import { encryptConfigFile, encryptedOutputPaths, type EncryptedOutputs } from '../../builder/config-files';
import { certificateInfo, readCertificates } from '../../crypto/certificate';
import { defaultUnsignedName } from './sign';

interface EncryptOptions extends FileSigningOptions {
  deviceCert: string;
}

export function register(program: Command, ctx: CliContext): void {
  const encrypt = program
    .command('encrypt')
    .description('encrypt a config to a phone\'s certificate: FILE -> FILE.enc.sgn and its signed stub FILE.sgn')
    .argument('<file>', 'the phone config (SEP<MAC>.cnf.xml)')
    .requiredOption('--device-cert <cert>', 'the phone\'s certificate (LSC or MIC)');
  addFileSigningOptions(encrypt, 'write both files here instead of beside FILE')
    .action(async (file: string, opts: EncryptOptions) => {
      const hash = parseDigest(opts.digest);
      const timestamp = parseTimestamp(opts.timestamp);
      const dnStyle = parseDnStyle(opts.dnStyle);
      const plaintext = await readInput(file);
      const deviceCertificate = readDeviceCertificate(opts.deviceCert, await readInput(opts.deviceCert, 'certificate'));
      const dir = opts.outDir ?? path.dirname(file);
      // Both outputs are checked before the signer is opened (no PIN asked for a run that cannot write).
      const planned = encryptedOutputPaths(file, dir);
      await checkOutputs([planned.encrypted, planned.stub], { overwrite: Boolean(opts.force) });
      const signer = await resolveSigner(opts, ctx, program.opts<{ debug?: boolean }>().debug ?? false);
      let outputs: EncryptedOutputs;
      try {
        outputs = await encryptConfigFile(plaintext, file, deviceCertificate, dir, { signer, hash, timestamp, dnStyle, overwrite: opts.force });
      } finally {
        await signer.close?.();
      }
      if (opts.json) printJson(ctx.io, { file, ...outputs });
      else out(ctx.io, `wrote ${outputs.encrypted}\nwrote ${outputs.stub}`);
    });

  program
    .command('decrypt')
    .description('decrypt an encrypted config with the phone\'s private key: FILE.enc.sgn -> FILE')
    .argument('<file>', 'a .enc.sgn file')
    .requiredOption('--device-key <key>', 'the phone\'s private key (PEM)')
    .option('--out <file>', 'where to write (default: the name without .enc.sgn)')
    .option('--force', 'overwrite an existing output')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: { deviceKey: string; out?: string; force?: boolean; json?: boolean }) => {
      const parsed = await readParsed(file);
      if (parsed.kind !== 'encrypted') throw new OpenctlError(`${file}: is a ${parsed.kind} file, not an encrypted config`);
      const key = readPrivateKey(await readInput(opts.deviceKey, 'key'), opts.deviceKey);
      const plaintext = decryptConfig(parsed, key);
      const output = opts.out ?? defaultUnsignedName(file, '.enc.sgn');
      await checkOutputs([output], { overwrite: Boolean(opts.force) });
      await writeFileAtomic(output, plaintext, { overwrite: Boolean(opts.force) });
      if (opts.json) printJson(ctx.io, { file, output, length: plaintext.length, digestChecked: true });
      else out(ctx.io, `wrote ${output} (${plaintext.length} bytes, plaintext digest checked)`);
    });
}

function readPrivateKey(bytes: Buffer, file: string): KeyObject {
  try {
    return createPrivateKey(bytes);
  } catch {
    throw new OpenctlError(`${file}: no readable private key (PEM, unencrypted)`);
  }
}

/** The phone certificate, with every problem named by its file (not by the output being written). */
function readDeviceCertificate(file: string, bytes: Buffer): Buffer {
  let certificate: Buffer | undefined;
  try {
    [certificate] = readCertificates(bytes);
  } catch (err) {
    throw new OpenctlError(`${file}: ${(err as Error).message}`);
  }
  if (!certificate) throw new OpenctlError(`${file}: no certificate found`);
  let info: ReturnType<typeof certificateInfo>;
  try {
    info = certificateInfo(certificate);
  } catch (err) {
    throw new OpenctlError(`${file}: ${(err as Error).message}`);
  }
  if (info.keyAlgorithm !== 'RSA') throw new OpenctlError(`${file}: the phone certificate holds an ${info.keyAlgorithm} key: configs are encrypted for RSA keys only`);
  return certificate;
}
