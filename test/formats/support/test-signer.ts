import * as fs from 'node:fs';
import { X509Certificate, constants, createPrivateKey, privateEncrypt, type KeyObject } from 'node:crypto';
import { digestInfo, type HashAlgorithm } from '../../../src/crypto/hash';
import type { Signer } from '../../../src/crypto/signer';

/**
 * A minimal Signer over a PEM file holding a key and its certificate (like vectors/certs/*.pem): PKCS#1 v1.5
 * over the DigestInfo, exactly what a token's CKM_RSA_PKCS does. For tests only; the product's is pem-signer.ts.
 */
export function testSigner(pemFile: string): Signer & { key: KeyObject } {
  const pem = fs.readFileSync(pemFile, 'utf8');
  const key = createPrivateKey(pem);
  const certificate = new X509Certificate(pem.slice(pem.indexOf('-----BEGIN CERTIFICATE-----'))).raw;
  const keyBits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  return {
    key,
    certificate,
    keyBits,
    description: `pem:${pemFile}`,
    sign: async (digest: Uint8Array, hash: HashAlgorithm) =>
      privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digestInfo(hash, digest)),
  };
}

/** The DER certificate of a PEM file. */
export function certDer(pemFile: string): Buffer {
  const pem = fs.readFileSync(pemFile, 'utf8');
  return new X509Certificate(pem.slice(pem.indexOf('-----BEGIN CERTIFICATE-----'))).raw;
}
