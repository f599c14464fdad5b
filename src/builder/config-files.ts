/**
 * Signing and encrypting single TFTP files, as `openctl sign` and `openctl encrypt` do and as the GUI's Sign screen
 * does: build, check the signature just made, write atomically. Batches of many files go through src/pipeline.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { buildEncryptedConfig, buildEncryptedStub, buildSignedFile, parseFile } from '../formats';
import type { HashAlgorithm } from '../crypto/hash';
import { verifySignature } from '../crypto/verify';
import { digest } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import { writeFileAtomic } from '../util/atomic-write';
import { OpenctlError } from '../util/errors';
import { checkOutputs } from '../util/output-check';

export interface FileSigningSettings {
  signer: Signer;
  hash?: HashAlgorithm;
  timestamp?: number;
  dnStyle?: 'comma' | 'cucm';
  /** Replace an output that exists (off: an existing output is an error and nothing is written). */
  overwrite?: boolean;
}

export interface SignedOutput {
  output: string;
  sha1: string;
}

/** FILE -> OUT_DIR/FILE.sgn; a signature that does not verify with the signer's own certificate is never written. */
export async function signConfigFile(body: Buffer, sourceName: string, outDir: string, settings: FileSigningSettings): Promise<SignedOutput> {
  const output = path.join(outDir, `${path.basename(sourceName)}.sgn`);
  const { signer, hash, timestamp, dnStyle } = settings;
  const bytes = await buildSignedFile({ body, filename: path.basename(output), signer, hash, timestamp, dnStyle });
  if (!verifySignature(parseFile(bytes, { file: output }), signer.certificate)) {
    throw new OpenctlError(`${output}: the signature just made does not verify; nothing written`);
  }
  await writeFileAtomic(output, bytes, { overwrite: Boolean(settings.overwrite) });
  return { output, sha1: digest('sha1', bytes).toString('hex') };
}

export interface EncryptedOutputs {
  encrypted: string;
  stub: string;
}

/** Where `encrypt` writes FILE's two outputs. */
export function encryptedOutputPaths(sourceName: string, outDir: string): EncryptedOutputs {
  return { encrypted: path.join(outDir, `${path.basename(sourceName)}.enc.sgn`), stub: path.join(outDir, `${path.basename(sourceName)}.sgn`) };
}

/** FILE -> OUT_DIR/FILE.enc.sgn (encrypted to the phone's certificate) and its signed stub OUT_DIR/FILE.sgn. */
export async function encryptConfigFile(
  plaintext: Buffer,
  sourceName: string,
  deviceCertificate: Buffer,
  outDir: string,
  settings: FileSigningSettings,
): Promise<EncryptedOutputs> {
  const { signer, hash, timestamp, dnStyle } = settings;
  const outputs = encryptedOutputPaths(sourceName, outDir);
  // Both outputs are checked before anything is signed: never an encrypted config without its stub.
  await checkOutputs([outputs.encrypted, outputs.stub], { overwrite: Boolean(settings.overwrite) });
  const encryptedExisted = await fs.lstat(outputs.encrypted).then(() => true, () => false);
  const encrypted = await buildEncryptedConfig({ plaintext, filename: path.basename(outputs.encrypted), signer, deviceCertificate, hash, timestamp, dnStyle });
  const stub = await buildSignedFile({
    body: Buffer.from(buildEncryptedStub(plaintext.toString('utf8'), deviceCertificate), 'utf8'),
    filename: path.basename(outputs.stub),
    signer,
    hash,
    timestamp,
    dnStyle,
  });
  // The encrypted config first: a phone that finds the stub fetches it. If the stub then cannot be written
  // (disk full, a file appeared), a new encrypted config is taken back rather than left without its stub.
  await writeFileAtomic(outputs.encrypted, encrypted, { overwrite: Boolean(settings.overwrite) });
  try {
    await writeFileAtomic(outputs.stub, stub, { overwrite: Boolean(settings.overwrite) });
  } catch (err) {
    if (!encryptedExisted) await fs.rm(outputs.encrypted, { force: true }).catch(() => undefined);
    throw err;
  }
  return outputs;
}
