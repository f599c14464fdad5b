import { constants, publicDecrypt, X509Certificate, type KeyObject } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { digest, digestInfo, type HashAlgorithm } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import { TokenError } from '../util/errors';
import type { Handle } from './cryptoki';
import { CryptokiError, isRv } from './errors';
import { selectKeyPair, selectCertificate, findPrivateKeys, type KeyPairObjects } from './objects';
import { ensureLogin, type PinPrompter } from './pin';
import { findToken, type FindTokenOptions, type FoundToken } from './select';
import type { TokenState } from './token-state';
import { formatPkcs11Uri, parsePkcs11Uri, type Pkcs11Uri } from './uri';

/** How a digest or the data reaches the token, in the order tried. */
type Method = 'rsa-pkcs' | 'rsa-x509' | 'hash-rsa-pkcs';

const HASH_MECHANISM: Readonly<Record<HashAlgorithm, number>> = {
  sha1: pkcs11js.CKM_SHA1_RSA_PKCS,
  sha256: pkcs11js.CKM_SHA256_RSA_PKCS,
  sha512: pkcs11js.CKM_SHA512_RSA_PKCS,
};

/** Return codes with which a token refuses a mechanism (or a digest under it) rather than fails. */
const REFUSALS = [
  pkcs11js.CKR_MECHANISM_INVALID,
  pkcs11js.CKR_MECHANISM_PARAM_INVALID,
  pkcs11js.CKR_FUNCTION_NOT_SUPPORTED,
  pkcs11js.CKR_DATA_INVALID,
  pkcs11js.CKR_DATA_LEN_RANGE,
];

const STALE_HANDLE = [pkcs11js.CKR_KEY_HANDLE_INVALID, pkcs11js.CKR_OBJECT_HANDLE_INVALID];

export interface Pkcs11SignerOptions extends FindTokenOptions {
  /** Base for a relative pin-source path. */
  cwd?: string;
  /** The person at the token; absent when nobody can answer (CI): PINs then come from the URI or environment. */
  prompter?: PinPrompter;
}

/**
 * A Signer whose key stays on a PKCS#11 token. The host hashes; the token gets one C_Sign of the DigestInfo
 * with CKM_RSA_PKCS (or, lacking it, of the padded block with CKM_RSA_X_509), so the file's bytes never cross
 * the USB link. Only when the token can sign neither way does `signData` hand the data to
 * CKM_SHA1/256/512_RSA_PKCS. Every signature is checked against the certificate before it is returned.
 */
export class Pkcs11Signer implements Signer {
  readonly certificate: Buffer;
  readonly keyBits: number;
  readonly description: string;
  readonly tokenSerial: string;
  /** Where it signs, e.g. `pkcs11:token=eToken-A;object=SAST;id=%01`. */
  readonly uri: Pkcs11Uri;
  private readonly publicKey: KeyObject;
  private closed = false;

  private constructor(
    private readonly found: FoundToken,
    private readonly token: TokenState,
    private readonly pair: KeyPairObjects,
  ) {
    this.certificate = pair.certificate.der;
    const cert = new X509Certificate(this.certificate);
    this.publicKey = cert.publicKey;
    this.keyBits = this.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    this.tokenSerial = token.serial;
    this.uri = { token: token.label, serial: token.serial, object: pair.certificate.label || undefined, id: pair.id };
    this.description = formatPkcs11Uri({ token: token.label, object: this.uri.object, id: pair.id }, { query: false });
    token.object(`private/${pair.id.toString('hex')}`, () => pair.privateKey.handle);
  }

  /** The module path as loaded, and the slot: for other engines that open their own sessions on this login. */
  get modulePath(): string {
    return this.found.module.path;
  }

  get slotId(): number {
    return this.token.slotId;
  }

  /** Find the token (waiting for it if asked), log in once, and pick the certificate/key pair. */
  static async open(uri: string | Pkcs11Uri, options: Pkcs11SignerOptions = {}): Promise<Pkcs11Signer> {
    const parsed = typeof uri === 'string' ? parsePkcs11Uri(uri) : uri;
    const found = await findToken(parsed, options);
    const token = found.module.token(found.slot.slotId, found.token.label, found.token.serial).retain();
    try {
      // No certificate at all: say so before asking for a PIN that cannot help.
      if (parsed.type !== 'private') {
        const any = token.ck.findObjects(token.session(), [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE }], 1);
        if (any.length === 0) throw new TokenError(`token ${token.label} holds no certificate`);
      }
      await ensureLogin(token, { env: options.env ?? process.env, cwd: options.cwd, pinSource: parsed.pinSource, prompter: options.prompter });
      const pair = selectKeyPair(token, parsed);
      return new Pkcs11Signer(found, token, pair);
    } catch (err) {
      const reported = err instanceof CryptokiError ? token.failure(err, 'while opening the signer') : err;
      token.release();
      found.release();
      throw reported;
    }
  }

  async sign(digestBytes: Uint8Array, hash: HashAlgorithm): Promise<Uint8Array> {
    return this.signWith(hash, Buffer.from(digestBytes), undefined);
  }

  /**
   * Sign `data` (the bytes the signature covers). Hashes on the host and signs the digest like `sign`,
   * unless the token can only hash itself: then, and only then, the data goes to the token.
   */
  async signData(data: Uint8Array, hash: HashAlgorithm): Promise<Uint8Array> {
    return this.signWith(hash, digest(hash, data), Buffer.from(data));
  }

  private methods(hash: HashAlgorithm, withData: boolean): Method[] {
    const mechanisms = this.token.mechanisms();
    const usable: Method[] = [];
    if (mechanisms.has(pkcs11js.CKM_RSA_PKCS)) usable.push('rsa-pkcs');
    if (mechanisms.has(pkcs11js.CKM_RSA_X_509)) usable.push('rsa-x509');
    if (withData && mechanisms.has(HASH_MECHANISM[hash])) usable.push('hash-rsa-pkcs');
    return usable.filter((m) => !this.token.refused.has(`${m}/${hash}`));
  }

  private async signWith(hash: HashAlgorithm, digestBytes: Buffer, data: Buffer | undefined): Promise<Buffer> {
    if (this.closed) throw new TokenError(`${this.description}: the signer is closed`);
    const expected = digestInfo(hash, digestBytes);
    for (const method of this.methods(hash, data !== undefined)) {
      let signature: Buffer;
      try {
        signature = await this.signOnce(method, hash, expected, data);
      } catch (err) {
        if (isRv(err, ...REFUSALS) && this.token.present()) {
          this.token.refused.add(`${method}/${hash}`);
          continue;
        }
        if (err instanceof TokenError) throw err;
        throw this.token.failure(err, 'during signing');
      }
      this.verify(signature, expected);
      return signature;
    }
    throw new TokenError(
      data === undefined
        ? `token ${this.token.label} cannot sign a ready ${hash} digest (neither CKM_RSA_PKCS nor CKM_RSA_X_509 works)` +
            (this.token.mechanisms().has(HASH_MECHANISM[hash]) ? `; it would need the data for ${mechanismName(hash)}` : '')
        : `token ${this.token.label} offers no mechanism that signs ${hash} with RSA PKCS#1 v1.5`,
    );
  }

  private async signOnce(method: Method, hash: HashAlgorithm, info: Buffer, data: Buffer | undefined): Promise<Buffer> {
    const modulusBytes = Math.ceil(this.keyBits / 8);
    let mechanism: number;
    let input: Buffer;
    if (method === 'rsa-pkcs') {
      mechanism = pkcs11js.CKM_RSA_PKCS;
      input = info;
    } else if (method === 'rsa-x509') {
      mechanism = pkcs11js.CKM_RSA_X_509;
      input = emsaPkcs1v15(info, modulusBytes);
    } else {
      mechanism = HASH_MECHANISM[hash];
      input = data!;
    }
    const raw = await this.token.withSession(async (session) => {
      const key = this.keyHandle();
      try {
        return await this.signIn(session, mechanism, key, input, modulusBytes);
      } catch (err) {
        if (!isRv(err, ...STALE_HANDLE) || !this.token.present()) throw err;
        // A handle cached before the token was re-read: look the key up once more.
        this.token.forgetObjects();
        return this.signIn(session, mechanism, this.keyHandle(), input, modulusBytes);
      }
    });
    // Some tokens drop leading zero bytes; the file wants exactly the modulus length.
    return raw.length >= modulusBytes ? raw : Buffer.concat([Buffer.alloc(modulusBytes - raw.length), raw]);
  }

  private async signIn(session: Handle, mechanism: number, key: Handle, input: Buffer, length: number): Promise<Buffer> {
    this.token.ck.signInit(session, mechanism, key);
    return this.token.ck.sign(session, input, length + 16);
  }

  private keyHandle(): Handle {
    const id = this.pair.id;
    const handle = this.token.object(`private/${id.toString('hex')}`, () => {
      const [key] = findPrivateKeys(this.token, { id });
      return key?.handle;
    });
    if (!handle) throw new TokenError(`token ${this.token.label}: the private key (id ${id.toString('hex')}) is gone`);
    return handle;
  }

  /** The signature must open, with the certificate's public key, to exactly our DigestInfo. */
  private verify(signature: Buffer, expected: Buffer): void {
    let opened: Buffer | undefined;
    try {
      opened = publicDecrypt({ key: this.publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
    } catch {
      opened = undefined;
    }
    if (!opened || !opened.equals(expected)) {
      throw new TokenError(
        `token ${this.token.label}: the signature does not verify against the certificate ${this.description} (wrong key for this certificate?)`,
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.token.release();
    this.found.release();
  }
}

function mechanismName(hash: HashAlgorithm): string {
  return { sha1: 'CKM_SHA1_RSA_PKCS', sha256: 'CKM_SHA256_RSA_PKCS', sha512: 'CKM_SHA512_RSA_PKCS' }[hash];
}

/** EMSA-PKCS1-v1_5 (RFC 8017, 9.2): 00 01 FF..FF 00 DigestInfo, the block CKM_RSA_X_509 signs as is. */
export function emsaPkcs1v15(info: Buffer, modulusBytes: number): Buffer {
  const padding = modulusBytes - info.length - 3;
  if (padding < 8) throw new TokenError(`a ${modulusBytes * 8}-bit key is too small for this digest`);
  return Buffer.concat([Buffer.from([0x00, 0x01]), Buffer.alloc(padding, 0xff), Buffer.from([0x00]), info]);
}

export async function openPkcs11Signer(uri: string | Pkcs11Uri, options: Pkcs11SignerOptions = {}): Promise<Pkcs11Signer> {
  return Pkcs11Signer.open(uri, options);
}

/** The DER certificate a URI names, read without logging in (for `--sast pkcs11:...`). */
export async function readTokenCertificate(uri: string | Pkcs11Uri, options: FindTokenOptions = {}): Promise<Buffer> {
  const parsed = typeof uri === 'string' ? parsePkcs11Uri(uri) : uri;
  const found = await findToken(parsed, options);
  const token = found.module.token(found.slot.slotId, found.token.label, found.token.serial).retain();
  try {
    return selectCertificate(token, parsed).der;
  } catch (err) {
    throw err instanceof CryptokiError ? token.failure(err, 'while reading the certificate') : err;
  } finally {
    token.release();
    found.release();
  }
}
