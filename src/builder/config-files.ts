/**
 * Signing and encrypting single TFTP files, as `openctl sign` and `openctl encrypt` do and as the GUI's Sign screen
 * does: build, check the signature just made, write atomically. Batches of many files go through src/pipeline.
 */
import * as path from 'node:path';
import { buildEncryptedConfig, buildEncryptedStub, buildSignedFile, parseFile } from '../formats';
import type { HashAlgorithm } from '../crypto/hash';
import { verifySignature } from '../crypto/verify';
import { digest } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import { writeFileAtomic } from '../util/atomic-write';
import { OpenctlError } from '../util/errors';

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

/** FILE -> OUT_DIR/FILE.enc.sgn (encrypted to the phone's certificate) and its signed stub OUT_DIR/FILE.sgn. */
export async function encryptConfigFile(
  plaintext: Buffer,
  sourceName: string,
  deviceCertificate: Buffer,
  outDir: string,
  settings: FileSigningSettings,
): Promise<EncryptedOutputs> {
  const { signer, hash, timestamp, dnStyle } = settings;
  const encName = `${path.basename(sourceName)}.enc.sgn`;
  const stubName = `${path.basename(sourceName)}.sgn`;
  const encrypted = await buildEncryptedConfig({ plaintext, filename: encName, signer, deviceCertificate, hash, timestamp, dnStyle });
  const stub = await buildSignedFile({
    body: Buffer.from(buildEncryptedStub(plaintext.toString('utf8'), deviceCertificate), 'utf8'),
    filename: stubName,
    signer,
    hash,
    timestamp,
    dnStyle,
  });
  const outputs = { encrypted: path.join(outDir, encName), stub: path.join(outDir, stubName) };
  // The encrypted config first: a phone that finds the stub fetches it.
  await writeFileAtomic(outputs.encrypted, encrypted, { overwrite: Boolean(settings.overwrite) });
  await writeFileAtomic(outputs.stub, stub, { overwrite: Boolean(settings.overwrite) });
  return outputs;
}
