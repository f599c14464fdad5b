import { constants, createCipheriv, createDecipheriv, privateDecrypt, publicEncrypt, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { HASH_CODE, digest, type HashAlgorithm } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import { certificateInfo } from '../crypto/certificate';
import { OpenctlError } from '../util/errors';
import { HeaderTag } from './header';
import type { DnStyle, EncryptedConfig } from './model';
import { nowSeconds, signFile } from './signing';
import { container, leaf } from './tlv';
import { uintElement } from './values';

/**
 * The phone pads the plaintext with carriage returns, not PKCS#7: the count goes in header tag 20. Always 1 to 16
 * bytes, a whole block when the plaintext is already a multiple of 16: readers in the field cut the plaintext with
 * `body[:-count]`, which a count of 0 turns into nothing (the independent writer pads the same way).
 */
const PAD_BYTE = 0x0d;
const AES_BLOCK = 16;
const KEY_ALGORITHM_AES = 1;

export interface BuildEncryptedConfigOptions {
  plaintext: Buffer;
  /** The header filename, e.g. `SEP001122334455.cnf.xml.enc.sgn`. */
  filename: string;
  signer: Signer;
  /** DER of the phone's certificate (LSC or MIC): the AES key is wrapped for its RSA key. */
  deviceCertificate: Buffer;
  hash?: HashAlgorithm; // signature and plaintext digest; default sha1
  timestamp?: number;
  dnStyle?: DnStyle;
  /** Fixed key material for reproducible tests; random otherwise. */
  aesKey?: Buffer;
  iv?: Buffer;
}

/** An encrypted config (header 2.0): AES-128-CBC body, key wrapped with RSA PKCS#1 v1.5 for the phone. */
export async function buildEncryptedConfig(options: BuildEncryptedConfigOptions): Promise<Buffer> {
  const hash = options.hash ?? 'sha1';
  const aesKey = options.aesKey ?? randomBytes(16);
  const iv = options.iv ?? randomBytes(AES_BLOCK);
  if (aesKey.length !== 16) throw new OpenctlError(`the AES key must be 16 bytes (AES-128), got ${aesKey.length}`);
  if (iv.length !== AES_BLOCK) throw new OpenctlError(`the IV must be 16 bytes, got ${iv.length}`);
  const device = certificateInfo(options.deviceCertificate);
  if (device.keyAlgorithm !== 'RSA') {
    throw new OpenctlError(`the device certificate ${device.subject} holds an ${device.keyAlgorithm} key: configs are encrypted for RSA keys only`);
  }
  const padCount = padCountFor(options.plaintext.length);
  const padded = Buffer.concat([options.plaintext, Buffer.alloc(padCount, PAD_BYTE)]);
  const cipher = createCipheriv('aes-128-cbc', aesKey, iv).setAutoPadding(false);
  const ciphertext = Buffer.concat([cipher.update(padded), cipher.final()]);
  const publicKey = new X509Certificate(options.deviceCertificate).publicKey;
  const wrappedKey = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, aesKey);
  const trailing = [
    container(HeaderTag.ENCRYPTION_INFO, [
      container(HeaderTag.IV_INFO, [uintElement(HeaderTag.IV_UNKNOWN, 0, 1), leaf(HeaderTag.IV, iv), uintElement(HeaderTag.PAD_COUNT, padCount, 2)]),
      container(HeaderTag.KEY_INFO, [
        uintElement(HeaderTag.KEY_UNKNOWN, 0, 1),
        uintElement(HeaderTag.KEY_SIZE, device.keyBits, 2),
        uintElement(HeaderTag.KEY_ALGORITHM, KEY_ALGORITHM_AES, 1),
        leaf(HeaderTag.WRAPPED_KEY, wrappedKey),
      ]),
    ]),
    uintElement(HeaderTag.PLAINTEXT_HASH, HASH_CODE[hash], 1),
    // The digest is over the plaintext as given, without the 0x0D padding (checked against the vector).
    leaf(HeaderTag.PLAINTEXT_DIGEST, digest(hash, options.plaintext)),
  ];
  return signFile(
    {
      version: { major: 2, minor: 0 },
      hash,
      filename: options.filename,
      timestamp: options.timestamp ?? nowSeconds(),
      dnStyle: options.dnStyle ?? 'comma',
      trailing,
    },
    ciphertext,
    options.signer,
  );
}

/** How many 0x0D bytes to append: 1..16, never 0 (see PAD_BYTE). */
export function padCountFor(plaintextLength: number): number {
  return AES_BLOCK - (plaintextLength % AES_BLOCK);
}

/**
 * Decrypt with the phone's private key and check the plaintext digest (tag 27). Any count from 0 to the body's length
 * is read as written: files written by earlier openctl builds say 0 for whole-block plaintexts, and the digest decides.
 */
export function decryptConfig(parsed: EncryptedConfig, deviceKey: KeyObject): Buffer {
  const info = parsed.header.encryption;
  if (!info) throw new OpenctlError(`${parsed.header.filename}: no encryption info (tag 16)`);
  const aesKey = unwrapKey(info.wrappedKey, deviceKey, parsed.header.filename);
  if (parsed.ciphertext.length % AES_BLOCK !== 0) {
    throw new OpenctlError(`${parsed.header.filename}: the encrypted body is ${parsed.ciphertext.length} bytes, not a multiple of 16`);
  }
  if (info.padCount > parsed.ciphertext.length) {
    throw new OpenctlError(`${parsed.header.filename}: padding count ${info.padCount} exceeds the ${parsed.ciphertext.length}-byte body`);
  }
  const decipher = createDecipheriv(`aes-${aesKey.length * 8}-cbc`, aesKey, info.iv).setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(parsed.ciphertext), decipher.final()]);
  const plaintext = padded.subarray(0, padded.length - info.padCount);
  if (!digest(info.plaintextHash, plaintext).equals(info.plaintextDigest)) {
    throw new OpenctlError(`${parsed.header.filename}: the decrypted config does not match its ${info.plaintextHash} digest (tag 27): wrong device key or damaged file`);
  }
  return plaintext;
}

/**
 * RSA PKCS#1 v1.5 unwrap. Node refuses PKCS#1 v1.5 private decryption (Marvin attack), so decrypt raw and
 * remove the type-2 padding here: this decrypts a file offline, where no padding oracle can be queried.
 */
function unwrapKey(wrapped: Buffer, key: KeyObject, file: string): Buffer {
  const fail = () => new OpenctlError(`${file}: the device key does not unwrap this config's AES key (wrong key?)`);
  if (key.type !== 'private' || key.asymmetricKeyType !== 'rsa') throw new OpenctlError(`${file}: the device key must be an RSA private key`);
  const modulusBytes = (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  if (wrapped.length !== modulusBytes) throw fail();
  let block: Buffer;
  try {
    block = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, wrapped);
  } catch {
    throw fail();
  }
  const separator = block.indexOf(0, 2);
  if (block[0] !== 0 || block[1] !== 2 || separator < 10) throw fail();
  const aesKey = block.subarray(separator + 1);
  if (![16, 24, 32].includes(aesKey.length)) throw fail();
  return aesKey;
}
