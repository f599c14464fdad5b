import 'reflect-metadata';
import { webcrypto, randomBytes, createPrivateKey, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as x509 from '@peculiar/x509';

/**
 * Real certificate authorities for the CAPF tests: roots, intermediates and leaves (MICs, the CAPF TLS
 * certificate), RSA or EC, made with @peculiar/x509 over node's WebCrypto.
 */

type X509Crypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
const crypto = webcrypto as unknown as X509Crypto;

export type KeyKind = 'rsa' | 'ec';

export interface Issued {
  subject: string;
  der: Buffer;
  certPem: string;
  keyPem: string;
  key: KeyObject;
  /** Key then certificate (a SIGNER / --mic PEM). */
  bundlePem: string;
  keys: webcrypto.CryptoKeyPair;
  algorithm: RsaHashedKeyGenParams | EcKeyGenParams;
  write(dir: string, name: string): Promise<{ bundle: string; cert: string; key: string }>;
}

interface RsaHashedKeyGenParams {
  name: string;
  hash: string;
  publicExponent: Uint8Array;
  modulusLength: number;
}
interface EcKeyGenParams {
  name: string;
  namedCurve: string;
  hash?: string;
}

export interface IssueOptions {
  subject: string;
  issuer?: Issued;
  ca?: boolean;
  kind?: KeyKind;
  bits?: number;
  curve?: 'P-256' | 'P-384' | 'P-521';
  notBefore?: Date;
  notAfter?: Date;
}

export async function issue(options: IssueOptions): Promise<Issued> {
  const kind = options.kind ?? 'rsa';
  const algorithm =
    kind === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: options.bits ?? 2048 }
      : { name: 'ECDSA', namedCurve: options.curve ?? 'P-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const signer = options.issuer;
  const signingAlgorithm = signer ? signer.algorithm : algorithm;
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: options.subject,
      issuer: signer ? new x509.X509Certificate(signer.der).subjectName : options.subject,
      notBefore: options.notBefore ?? new Date(Date.now() - 24 * 3600 * 1000),
      notAfter: options.notAfter ?? new Date(Date.now() + 5 * 365 * 24 * 3600 * 1000),
      publicKey: keys.publicKey as never,
      signingKey: (signer ? signer.keys.privateKey : keys.privateKey) as never,
      signingAlgorithm: { ...signingAlgorithm, hash: 'SHA-256' } as never,
      extensions: options.ca
        ? [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)]
        : [new x509.BasicConstraintsExtension(false, undefined, true)],
    },
    crypto,
  );
  const der = Buffer.from(cert.rawData);
  const keyPem = pem('PRIVATE KEY', Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)));
  const certPem = pem('CERTIFICATE', der);
  return {
    subject: options.subject,
    der,
    certPem,
    keyPem,
    key: createPrivateKey(keyPem),
    bundlePem: keyPem + certPem,
    keys,
    algorithm: algorithm as never,
    async write(dir: string, name: string) {
      const files = { bundle: path.join(dir, `${name}.pem`), cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
      await fs.writeFile(files.bundle, keyPem + certPem, { mode: 0o600 });
      await fs.writeFile(files.cert, certPem);
      await fs.writeFile(files.key, keyPem, { mode: 0o600 });
      return files;
    },
  };
}

/**
 * A CA certificate, signed by `issuer`, for a public key whose private half lives elsewhere (a token's key): the
 * DER. The CAPF tests and bench/capf.ts issue LSCs on a SoftHSM token through it.
 */
export async function issueCaForKey(issuer: Issued, spki: Buffer, subject: string): Promise<Buffer> {
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject,
      issuer: new x509.X509Certificate(issuer.der).subjectName,
      notBefore: new Date(Date.now() - 24 * 3600 * 1000),
      notAfter: new Date(Date.now() + 365 * 24 * 3600 * 1000),
      publicKey: spki as never,
      signingKey: issuer.keys.privateKey as never,
      signingAlgorithm: { ...issuer.algorithm, hash: 'SHA-256' } as never,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    },
    crypto,
  );
  return Buffer.from(cert.rawData);
}

/** 12 random bytes, positive and without a leading zero byte, in hex. */
function randomSerial(): string {
  const serial = randomBytes(12);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial.toString('hex');
}

export function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;
}
