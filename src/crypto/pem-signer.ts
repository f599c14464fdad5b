import { constants, createPrivateKey, KeyObject, privateEncrypt, X509Certificate } from 'node:crypto';
import type { HashAlgorithm } from './hash';
import { digestInfo } from './hash';
import type { Signer } from './signer';
import { MODULUS_INDEX } from './signer';
import { OpenctlError } from '../util/errors';
import { MAX_TEXT_BYTES, readInput, readTextInput } from '../util/read-input';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

/** A signer over a private key held in memory (a PEM file): for CI, tests and lab clusters. */
export class PemSigner implements Signer {
  readonly keyBits: number;

  constructor(
    readonly certificate: Buffer,
    private readonly key: KeyObject,
    readonly description: string,
  ) {
    this.keyBits = checkSigningKey(key, description);
    const cert = new X509Certificate(certificate);
    if (!cert.checkPrivateKey(key)) {
      throw new OpenctlError(`${description}: the private key does not belong to the certificate`);
    }
  }

  async sign(digest: Uint8Array, hash: HashAlgorithm): Promise<Uint8Array> {
    return this.signSync(digest, hash);
  }

  /** Synchronous form for the batch workers, where a promise per file is measurable overhead. */
  signSync(digest: Uint8Array, hash: HashAlgorithm): Buffer {
    // Raw PKCS#1 v1.5 (block type 1) over the DigestInfo is what a token's CKM_RSA_PKCS does: same bytes.
    // (crypto.sign(null, ...) would hash again with SHA-256 for RSA keys.)
    return privateEncrypt({ key: this.key, padding: constants.RSA_PKCS1_PADDING }, digestInfo(hash, digest));
  }
}

/** The key sizes header tag 11 can express; anything else (3072 especially) is refused with a clear line. */
export function checkSigningKey(key: KeyObject, description: string): number {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new OpenctlError(
      `${description}: ${key.asymmetricKeyType ?? 'unknown'} keys cannot sign Cisco files (RSA PKCS#1 v1.5 only)`,
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (!MODULUS_INDEX.has(bits) || bits < 1024) {
    throw new OpenctlError(
      `${description}: a ${bits}-bit RSA key cannot sign Cisco files: the header only expresses 1024, 2048 or 4096 bits`,
    );
  }
  return bits;
}

/** Split a PEM bundle into its private key and its first certificate. */
export function parsePemBundle(text: string, description: string): { key: KeyObject; certificate: Buffer } {
  let key: KeyObject | undefined;
  let certificate: Buffer | undefined;
  for (const match of text.matchAll(PEM_BLOCK)) {
    const label = match[1];
    if (label === 'CERTIFICATE' && !certificate) {
      certificate = certificateOfBlock(match[0], description);
    } else if (/PRIVATE KEY$/.test(label) && !key) {
      key = privateKeyFromBlock(label, match[0], description);
    }
  }
  if (!key) throw new OpenctlError(`${description}: no private key (a SIGNER PEM holds the key and the certificate)`);
  if (!certificate) throw new OpenctlError(`${description}: no certificate (a SIGNER PEM holds the key and the certificate)`);
  return { key, certificate };
}

/** A PEM certificate block's DER; a block OpenSSL cannot read (a flipped bit, a cut) is one line naming the file. */
function certificateOfBlock(block: string, description: string): Buffer {
  try {
    return Buffer.from(new X509Certificate(block).raw);
  } catch (err) {
    throw new OpenctlError(`${description}: its certificate cannot be read (${(err as Error).message.replace(/^error:[0-9A-F]+:/, '')})`);
  }
}

/** A SIGNER given as a PEM file holding the key (PKCS#8 or PKCS#1) and the certificate. */
export async function loadPemSigner(file: string): Promise<PemSigner> {
  const text = await readTextInput(file, { what: 'signer' });
  return pemSignerFromText(text, file);
}

export function pemSignerFromText(text: string, description: string): PemSigner {
  const { key, certificate } = parsePemBundle(text, description);
  return new PemSigner(certificate, key, `pem:${description}`);
}

/** A SIGNER given as two files, `--key KEY --cert CERT` (the certificate may be PEM or DER). */
export async function loadPemKeyAndCert(keyFile: string, certFile: string): Promise<PemSigner> {
  const read = (file: string, what: string) => readInput(file, { what, maxBytes: MAX_TEXT_BYTES });
  const [keyBytes, certBytes] = await Promise.all([read(keyFile, 'key'), read(certFile, 'certificate')]);
  const { key } = parsePemBundleKeyOnly(keyBytes.toString('utf8'), keyFile);
  let certificate: Buffer;
  try {
    certificate = Buffer.from(new X509Certificate(certBytes).raw);
  } catch {
    throw new OpenctlError(`${certFile}: not a certificate (PEM or DER expected)`);
  }
  // Named by the certificate file: that is the file to fix (or the other half of the pair).
  if (!new X509Certificate(certificate).checkPrivateKey(key)) throw new OpenctlError(`${certFile}: the certificate does not belong to the private key ${keyFile}`);
  return new PemSigner(certificate, key, `pem:${keyFile}`);
}

function parsePemBundleKeyOnly(text: string, description: string): { key: KeyObject } {
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (/PRIVATE KEY$/.test(match[1])) return { key: privateKeyFromBlock(match[1], match[0], description) };
  }
  throw new OpenctlError(`${description}: no private key found`);
}

function privateKeyFromBlock(label: string, pem: string, description: string): KeyObject {
  if (label === 'ENCRYPTED PRIVATE KEY') {
    throw new OpenctlError(`${description}: encrypted private keys are not supported; use a token (pkcs11: URI)`);
  }
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new OpenctlError(`${description}: unreadable private key (${(err as Error).message})`);
  }
}
