import type { HashAlgorithm } from './hash';

/**
 * Anything that can produce an RSA PKCS#1 v1.5 signature for a file: a PEM key, a PKCS#11 token, the native
 * batch core. Builders only ever see this interface, so the file's bytes never need to reach the key holder:
 * the caller hashes, the signer signs the digest.
 */
export interface Signer {
  /** DER of the signing certificate (its subject, issuer and serial go in the file header). */
  readonly certificate: Uint8Array;
  /** Modulus size in bits: 1024, 2048 or 4096 (the header cannot express any other). */
  readonly keyBits: number;
  /** A short human description for logs and audit, e.g. `pem:/path/key.pem` or `pkcs11:token=eToken-A`. */
  readonly description: string;
  /** Token serial number when the key lives on a token (for the audit log). */
  readonly tokenSerial?: string;
  /** Sign an already computed digest (RSA PKCS#1 v1.5 over the DigestInfo of `hash`). */
  sign(digest: Uint8Array, hash: HashAlgorithm): Promise<Uint8Array>;
  /**
   * Sign whole data, for key holders that may need it: a token lacking raw RSA mechanisms can still sign with
   * CKM_SHAx_RSA_PKCS. Implementations sign the digest whenever they can, so the data rarely leaves the host.
   */
  signData?(data: Uint8Array, hash: HashAlgorithm): Promise<Uint8Array>;
  /** Release sessions or handles; safe to call twice. */
  close?(): Promise<void>;
}

/** Key sizes that header tag 11 can express, with their wire index. */
export const MODULUS_INDEX: ReadonlyMap<number, number> = new Map([
  [512, 0],
  [1024, 1],
  [2048, 2],
  [4096, 3],
]);
