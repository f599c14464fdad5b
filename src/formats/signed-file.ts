import type { HashAlgorithm } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import type { DnStyle } from './model';
import type { ExtraElement } from './record-build';
import { extraHeaderElements, nowSeconds, signFile } from './signing';

export interface BuildSignedFileOptions {
  body: Buffer;
  /** The header filename, e.g. `SEP001122334455.cnf.xml.sgn`. */
  filename: string;
  signer: Signer;
  hash?: HashAlgorithm; // default sha1 (CUCM's default TFTP file signature algorithm)
  timestamp?: number;
  dnStyle?: DnStyle;
  extraHeaderElements?: readonly ExtraElement[];
}

/** A signed TFTP file (`.sgn`, header 1.0) wrapping `body` unchanged. */
export async function buildSignedFile(options: BuildSignedFileOptions): Promise<Buffer> {
  return signFile(
    {
      version: { major: 1, minor: 0 },
      hash: options.hash ?? 'sha1',
      filename: options.filename,
      timestamp: options.timestamp ?? nowSeconds(),
      dnStyle: options.dnStyle ?? 'comma',
      trailing: extraHeaderElements(options.extraHeaderElements),
    },
    options.body,
    options.signer,
  );
}
