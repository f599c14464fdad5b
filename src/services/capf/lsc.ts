import { randomBytes, X509Certificate } from 'node:crypto';
import type { IssuingKey } from './issuer';
import { x509Signing } from './issuer';
import { x509 } from './x509';

/** The LSC's extended key usages: serverAuth, clientAuth, IPsec end system. */
export const LSC_EKU = ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.5'] as const;
/** Subject attributes copied from the issuing CA, after CN, in this order. */
const COPIED_ATTRIBUTES = ['O', 'OU', 'L', 'ST', 'C'] as const;
/** Backdating covers phones whose clock is a little behind the server's. */
const BACKDATE_MS = 5 * 60 * 1000;

export interface LscRequest {
  /** `SEP<MAC>`: the CN and the subjectAltName URI. */
  device: string;
  /** DER SubjectPublicKeyInfo the phone sent. */
  publicKey: Uint8Array;
  days: number;
  now?: Date;
}

export interface IssuedLsc {
  der: Buffer;
  /** Lower-case hex, as node prints it. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Build and sign an LSC (tvs-capf.md): subject CN=<device> plus O, OU, L, ST, C of the issuing CA; issuer = the
 * issuing certificate's subject, byte for byte (so chains through an intermediate verify); 128-bit random
 * serial; SHA-256; basicConstraints CA:FALSE and keyUsage digitalSignature+keyEncipherment, both critical;
 * EKU serverAuth, clientAuth, IPsec end system; subjectAltName URI:<device>.
 */
export async function buildLsc(issuer: IssuingKey, request: LscRequest): Promise<IssuedLsc> {
  const lib = x509();
  const issuerCert = new lib.X509Certificate(issuer.certificate);
  const subject: Array<Record<string, string[]>> = [{ CN: [request.device] }];
  const issuerName = issuerCert.subjectName.toJSON();
  for (const attribute of COPIED_ATTRIBUTES) {
    for (const rdn of issuerName) {
      const values = rdn[attribute];
      if (values) subject.push({ [attribute]: values });
    }
  }
  const now = request.now ?? new Date();
  const notBefore = new Date(Math.floor((now.getTime() - BACKDATE_MS) / 1000) * 1000);
  const notAfter = new Date(Math.floor((now.getTime() + request.days * 86_400_000) / 1000) * 1000);
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // positive without a sign byte: 128 bits of which 127 random
  if (serial[0] === 0) serial[0] = 0x01;
  const { crypto, signingKey } = x509Signing(issuer);
  const cert = await lib.X509CertificateGenerator.create(
    {
      serialNumber: serial.toString('hex'),
      subject: new lib.Name(subject),
      issuer: issuerCert.subjectName,
      notBefore,
      notAfter,
      publicKey: request.publicKey,
      signingKey: signingKey as unknown as CryptoKeyParam,
      extensions: [
        new lib.BasicConstraintsExtension(false, undefined, true),
        new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature | lib.KeyUsageFlags.keyEncipherment, true),
        new lib.ExtendedKeyUsageExtension([...LSC_EKU], false),
        new lib.SubjectAlternativeNameExtension([{ type: 'url', value: request.device }], false),
      ],
    },
    crypto,
  );
  const der = Buffer.from(cert.rawData);
  return { der, serial: new X509Certificate(der).serialNumber.toLowerCase(), notBefore, notAfter };
}

type CryptoKeyParam = Parameters<ReturnType<typeof x509>['X509CertificateGenerator']['create']>[0] extends infer P
  ? P extends { signingKey: infer K }
    ? K
    : never
  : never;
