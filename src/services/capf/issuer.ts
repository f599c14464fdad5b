import { createPrivateKey, createPublicKey, webcrypto as nodeWebcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { digest } from '../../crypto/hash';
import type { Signer } from '../../crypto/signer';
import { parsePemBundle } from '../../crypto/pem-signer';
import { OpenctlError, TokenError } from '../../util/errors';
import type { X509Crypto } from './x509';

/**
 * The CA key that signs LSCs, whatever holds it. Two holders:
 * - a PEM key, imported into WebCrypto (RSA or EC);
 * - a token, through the project's PKCS#11 Signer (RSA PKCS#1 v1.5: the host hashes the TBS, the token signs
 *   the DigestInfo), so the key never leaves the token and one owner of the module serves the process.
 * Both are offered to @peculiar/x509 as a WebCrypto-like `crypto` whose `subtle.sign` is this key.
 */
export interface IssuingKey {
  /** DER of the issuing certificate: its subject becomes the LSC's issuer. */
  readonly certificate: Buffer;
  readonly description: string;
  /** WebCrypto algorithm of the signature (hash SHA-256), as x509 expects it on the signing key. */
  readonly algorithm: { name: string; hash: { name: string }; namedCurve?: string };
  /** The signature value in WebCrypto form (ECDSA: r|s) over the TBS certificate. */
  sign(tbs: Buffer): Promise<ArrayBuffer>;
  close(): Promise<void>;
}

/**
 * Node's own WebCrypto (KeyObject-backed). @peculiar/webcrypto offers the same interface but re-reads the PEM
 * key on every signature: measured 380 signatures/s against 1,300/s here for the same RSA 2048 key, and a
 * CAPF server signs one LSC per enrolment.
 */
const webcrypto = nodeWebcrypto;

/** The x509 generator's view of an IssuingKey: a crypto whose sign() is the issuer, and a key handle for it. */
export function x509Signing(issuer: IssuingKey): { crypto: X509Crypto; signingKey: CryptoKeyLike } {
  const crypto = {
    getRandomValues: <T extends ArrayBufferView | null>(array: T): T => webcrypto.getRandomValues(array as never) as T,
    subtle: {
      digest: (algorithm: AlgorithmIdentifierLike, data: BufferSourceLike) => webcrypto.subtle.digest(algorithm as never, data as never),
      sign: async (_algorithm: unknown, _key: unknown, data: BufferSourceLike): Promise<ArrayBuffer> => issuer.sign(toBuffer(data)),
    },
  } as unknown as X509Crypto;
  const signingKey: CryptoKeyLike = { algorithm: issuer.algorithm, type: 'private', extractable: false, usages: ['sign'] };
  return { crypto, signingKey };
}

export interface CryptoKeyLike {
  algorithm: IssuingKey['algorithm'];
  type: 'private';
  extractable: false;
  usages: string[];
}
type AlgorithmIdentifierLike = string | { name: string };
type BufferSourceLike = ArrayBuffer | ArrayBufferView;

function toBuffer(data: BufferSourceLike): Buffer {
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}

const CURVE_OF: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** The WebCrypto algorithm for a key: RSASSA-PKCS1-v1_5 or ECDSA, always with SHA-256 (the LSC's signature). */
export function signatureAlgorithm(key: KeyObject, description: string): IssuingKey['algorithm'] {
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } };
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVE_OF[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (curve) return { name: 'ECDSA', hash: { name: 'SHA-256' }, namedCurve: curve };
  }
  throw new OpenctlError(`${description}: an issuing key must be RSA or EC P-256/P-384/P-521`);
}

/** Refuse an issuing certificate that does not belong to the key, or that cannot issue. */
export function checkIssuingCertificate(certificate: Buffer, publicKey: KeyObject, description: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificate);
  } catch {
    throw new OpenctlError(`${description}: the issuing certificate is not a certificate`);
  }
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!spki(cert.publicKey).equals(spki(publicKey))) {
    throw new OpenctlError(`${description}: the issuing certificate (${cert.subject.replace(/\n/g, ', ')}) is not the certificate of this key`);
  }
  if (!cert.ca) {
    throw new OpenctlError(`${description}: the issuing certificate ${cert.subject.replace(/\n/g, ', ')} is not a CA (basicConstraints CA:TRUE); give the CA certificate with --issuer-cert`);
  }
}

/** A PEM issuing key (and its certificate, in the same file or given with --issuer-cert). */
export async function pemIssuer(file: string, issuerCert?: Buffer): Promise<IssuingKey> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new OpenctlError(`${file}: cannot read the issuing key (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let key: KeyObject;
  let bundled: Buffer | undefined;
  try {
    ({ key, certificate: bundled } = parsePemBundle(text, file));
  } catch (err) {
    // A key alone is fine when --issuer-cert names the certificate.
    if (!issuerCert || !/no certificate/.test((err as Error).message)) throw err;
    try {
      key = createPrivateKey(text);
    } catch (inner) {
      throw new OpenctlError(`${file}: unreadable private key (${(inner as Error).message})`);
    }
  }
  const certificate = issuerCert ?? bundled!;
  const description = `pem:${file}`;
  const algorithm = signatureAlgorithm(key, description);
  checkIssuingCertificate(certificate, createPublicKey(key), description);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const importAlg = algorithm.name === 'ECDSA' ? { name: 'ECDSA', namedCurve: algorithm.namedCurve } : { name: algorithm.name, hash: 'SHA-256' };
  const cryptoKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, importAlg as never, false, ['sign']);
  const signAlg = algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: algorithm.name };
  return {
    certificate,
    description,
    algorithm,
    sign: (tbs) => webcrypto.subtle.sign(signAlg as never, cryptoKey, tbs),
    close: async () => undefined,
  };
}

/**
 * A token issuing key: the PKCS#11 Signer (opened with the PIN as every token command does). A removed
 * token fails the signatures in flight with a TokenError; the next signature opens the token again, so the
 * service recovers by itself once the token is back.
 */
export class TokenIssuer implements IssuingKey {
  readonly algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } };
  private signer?: Signer;
  private opening?: Promise<Signer>;

  private constructor(
    readonly certificate: Buffer,
    readonly description: string,
    private readonly open: () => Promise<Signer>,
    signer: Signer,
  ) {
    this.signer = signer;
    this.keySpki = spkiOf(signer);
  }

  private readonly keySpki: Buffer;

  /** `open` the first time (may ask for the PIN); `reopen` after a removal (must not ask anyone). */
  static async create(open: () => Promise<Signer>, reopen: () => Promise<Signer>, issuerCert?: Buffer): Promise<TokenIssuer> {
    const signer = await open();
    try {
      const certificate = issuerCert ?? Buffer.from(signer.certificate);
      const tokenKey = new X509Certificate(Buffer.from(signer.certificate)).publicKey;
      if (tokenKey.asymmetricKeyType !== 'rsa') throw new OpenctlError(`${signer.description}: a token issuing key must be RSA`);
      checkIssuingCertificate(certificate, tokenKey, signer.description);
      return new TokenIssuer(certificate, signer.description, reopen, signer);
    } catch (err) {
      await signer.close?.();
      throw err;
    }
  }

  async sign(tbs: Buffer): Promise<ArrayBuffer> {
    const signer = await this.current();
    try {
      const signature = toBuffer(signer.signData ? await signer.signData(tbs, 'sha256') : await signer.sign(digest('sha256', tbs), 'sha256'));
      return signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength) as ArrayBuffer;
    } catch (err) {
      if (err instanceof TokenError) {
        // The token went away (or its session died): drop this signer; the next enrolment opens it again.
        if (this.signer === signer) this.signer = undefined;
        await signer.close?.().catch(() => undefined);
      }
      throw err;
    }
  }

  private async current(): Promise<Signer> {
    if (this.signer) return this.signer;
    // Whatever stops the token from opening (absent, PIN gone, module error) fails this enrolment as a token problem.
    this.opening ??= this.open()
      .catch((err: unknown) => {
        throw err instanceof TokenError ? err : new TokenError(`${this.description}: cannot open the issuing key again: ${(err as Error).message}`);
      })
      .finally(() => (this.opening = undefined));
    const signer = await this.opening;
    if (!spkiOf(signer).equals(this.keySpki)) {
      await signer.close?.();
      throw new TokenError(`${this.description}: the token now holds a different key than the one this service started with`);
    }
    this.signer = signer;
    return signer;
  }

  async close(): Promise<void> {
    const signer = this.signer;
    this.signer = undefined;
    await signer?.close?.();
  }
}

function spkiOf(signer: Signer): Buffer {
  return new X509Certificate(Buffer.from(signer.certificate)).publicKey.export({ type: 'spki', format: 'der' });
}
