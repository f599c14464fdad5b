import 'reflect-metadata';
import { webcrypto, randomBytes, X509Certificate, createPrivateKey, privateEncrypt, constants, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as x509 from '@peculiar/x509';
import type { Signer } from '../../src/crypto/signer';
import { digestInfo, type HashAlgorithm } from '../../src/crypto/hash';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface MakeCertOptions {
  /** Common name; the subject is `CN=<cn>,O=<o>,OU=<ou>`. */
  cn: string;
  keyBits?: number; // default 2048
  o?: string; // default "openctl test"
  ou?: string; // default "UC"
  notBefore?: Date; // default: one day ago
  notAfter?: Date; // default: ten years from now
  /** Serial as hex (default: 16 random bytes, positive). */
  serialHex?: string;
}

export interface TestCert {
  cn: string;
  subject: string;
  keyPem: string;
  certPem: string;
  certDer: Buffer;
  /** Key then certificate: the SIGNER PEM the CLI takes. */
  bundlePem: string;
  serialHex: string;
  signer: Signer;
  /** Write `<name>.pem` (key + cert) and `<name>.crt.pem` (cert only) into `dir`; returns both paths. */
  write(dir: string, name?: string): Promise<{ signer: string; cert: string }>;
}

/**
 * A fresh RSA key and self-signed certificate, with a PEM Signer over it: real keys for tests that build and
 * sign real files. Nothing here is mocked: the files it signs verify with node:crypto and with any other reader.
 */
export async function makeCert(options: MakeCertOptions): Promise<TestCert> {
  const keyBits = options.keyBits ?? 2048;
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: keyBits };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const subject = `CN=${options.cn},O=${options.o ?? 'openctl test'},OU=${options.ou ?? 'UC'}`;
  const serial = options.serialHex ?? positiveSerial();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: subject,
    notBefore: options.notBefore ?? new Date(Date.now() - 24 * 3600 * 1000),
    notAfter: options.notAfter ?? new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000),
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = toPem('PRIVATE KEY', pkcs8);
  const certDer = Buffer.from(cert.rawData);
  const certPem = toPem('CERTIFICATE', certDer);
  const bundlePem = keyPem + certPem;
  const signer = new KeySigner(certDer, createPrivateKey(keyPem), keyBits, `test:${options.cn}`);
  return {
    cn: options.cn,
    subject,
    keyPem,
    certPem,
    certDer,
    bundlePem,
    serialHex: new X509Certificate(certDer).serialNumber.toLowerCase(),
    signer,
    async write(dir: string, name = options.cn) {
      const signerPath = path.join(dir, `${name}.pem`);
      const certPath = path.join(dir, `${name}.crt.pem`);
      await fs.writeFile(signerPath, bundlePem, { mode: 0o600 });
      await fs.writeFile(certPath, certPem);
      return { signer: signerPath, cert: certPath };
    },
  };
}

/** Many certificates at once (key generation runs in parallel). */
export async function makeCerts<K extends string>(specs: Record<K, MakeCertOptions>): Promise<Record<K, TestCert>> {
  const entries = await Promise.all(
    Object.entries<MakeCertOptions>(specs).map(async ([k, spec]) => [k, await makeCert(spec)] as const),
  );
  return Object.fromEntries(entries) as Record<K, TestCert>;
}

function positiveSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10; // positive, and no leading zero byte to strip
  return bytes.toString('hex');
}

export function toPem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/**
 * A Signer over an in-memory key, independent of the product's PEM signer so that tests check the product's
 * files against a second implementation: RSA PKCS#1 v1.5 type-1 padding over the DigestInfo, as CKM_RSA_PKCS.
 */
class KeySigner implements Signer {
  constructor(
    readonly certificate: Buffer,
    private readonly key: KeyObject,
    readonly keyBits: number,
    readonly description: string,
  ) {}

  async sign(digest: Uint8Array, hash: HashAlgorithm): Promise<Uint8Array> {
    return privateEncrypt({ key: this.key, padding: constants.RSA_PKCS1_PADDING }, digestInfo(hash, digest));
  }
}
