import { constants, createHash, publicDecrypt, verify, X509Certificate, type KeyObject } from 'node:crypto';

/**
 * Certificate authentication of a phone (its MIC, or its current LSC): the certificate chains to one of the
 * trusted certificates, every link within its validity; its CN names the device it enrols; and the
 * signatures over `device name | 00 | certificate DER` verify: tag 6 (SHA-1; RSA as PKCS#1 v1.5 over the raw
 * digest, without DigestInfo) and tag 20 (SHA-512), RSA or EC. Each check that fails says why.
 */

export interface CertAuthInput {
  device: string;
  certificate: Buffer;
  sha1Signature?: Buffer;
  sha512Signature?: Buffer;
}

export type CertAuthResult = { ok: true; kind: 'mic' | 'lsc'; subject: string } | { ok: false; reason: string };

const MAX_DEPTH = 6;

export class CertificateAuthenticator {
  private readonly pool: Array<{ cert: X509Certificate; kind: 'mic' | 'lsc' }>;

  /** `micCas`: --mic-ca certificates (roots and intermediates); `lscCas`: the LSC issuing certificate and --chain. */
  constructor(micCas: readonly Buffer[], lscCas: readonly Buffer[]) {
    this.pool = [
      ...micCas.map((der) => ({ cert: new X509Certificate(der), kind: 'mic' as const })),
      ...lscCas.map((der) => ({ cert: new X509Certificate(der), kind: 'lsc' as const })),
    ];
  }

  check(input: CertAuthInput, now = new Date()): CertAuthResult {
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(input.certificate);
    } catch {
      return { ok: false, reason: 'the certificate is not a valid X.509 certificate' };
    }
    const subject = oneLine(leaf.subject);
    const nameProblem = nameMismatch(leaf, input.device);
    if (nameProblem) return { ok: false, reason: nameProblem };
    const chain = this.chain(leaf, now);
    if ('problem' in chain) return { ok: false, reason: chain.problem };
    const signatureProblem = signaturesProblem(input, leaf.publicKey);
    if (signatureProblem) return { ok: false, reason: signatureProblem };
    return { ok: true, kind: chain.kind, subject };
  }

  /**
   * Walk issuers up through the configured certificates until a self-signed one, or the last configured one
   * (an intermediate given without its root is trusted as given); every link within its validity and a CA.
   * Returns which trust the first link reached, or why it failed.
   */
  private chain(leaf: X509Certificate, now: Date): { kind: 'mic' | 'lsc' } | { problem: string } {
    const leafValidity = validityProblem(leaf, now);
    if (leafValidity) return { problem: leafValidity };
    const first = this.issuerOf(leaf);
    if (!first) {
      return { problem: `the certificate (${oneLine(leaf.subject)}, issued by ${oneLine(leaf.issuer)}) does not chain to a --mic-ca or the LSC CA` };
    }
    let current = first;
    for (let depth = 0; depth < MAX_DEPTH; depth += 1) {
      if (!current.cert.ca) return { problem: `${oneLine(current.cert.subject)} issued a certificate of the chain but is not a CA` };
      const validity = validityProblem(current.cert, now);
      if (validity) return { problem: `the chain is not valid: ${validity}` };
      if (current.cert.checkIssued(current.cert)) return { kind: first.kind };
      const next = this.issuerOf(current.cert);
      if (!next) return { kind: first.kind };
      current = next;
    }
    return { problem: 'the chain is too long' };
  }

  private issuerOf(cert: X509Certificate): { cert: X509Certificate; kind: 'mic' | 'lsc' } | undefined {
    return this.pool.find((c) => c.cert !== cert && cert.checkIssued(c.cert) && cert.verify(c.cert.publicKey));
  }
}

function oneLine(dn: string): string {
  return dn.split('\n').join(', ');
}

function validityProblem(cert: X509Certificate, now: Date): string | undefined {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) return `${oneLine(cert.subject)} is not valid yet (from ${from.toISOString()})`;
  if (now > to) return `${oneLine(cert.subject)} expired on ${to.toISOString()}`;
  return undefined;
}

/** `SEP<MAC>` or `CP-<model>-SEP<MAC>`, the MAC being the enrolling device's. */
function nameMismatch(cert: X509Certificate, device: string): string | undefined {
  const cns = cert.subject.split('\n').filter((l) => l.startsWith('CN=')).map((l) => l.slice(3));
  if (cns.length !== 1) return `the certificate has ${cns.length} common names, expected one naming ${device}`;
  const match = /^(?:CP-[0-9A-Za-z]+-)?(SEP[0-9A-F]{12})$/i.exec(cns[0]);
  if (!match || match[1].toUpperCase() !== device.toUpperCase()) {
    return `the certificate names ${JSON.stringify(cns[0])}, not ${device}`;
  }
  return undefined;
}

export function signedBytes(device: string, certificate: Buffer): Buffer {
  return Buffer.concat([Buffer.from(device, 'latin1'), Buffer.of(0), certificate]);
}

function signaturesProblem(input: CertAuthInput, key: KeyObject): string | undefined {
  if (!input.sha1Signature && !input.sha512Signature) return 'no signature (tag 6 or tag 20) over the device name and certificate';
  const data = signedBytes(input.device, input.certificate);
  if (input.sha1Signature && !verifySha1(data, key, input.sha1Signature)) return 'the SHA-1 signature (tag 6) does not verify';
  if (input.sha512Signature && !safeVerify('sha512', data, key, input.sha512Signature)) return 'the SHA-512 signature (tag 20) does not verify';
  return undefined;
}

function verifySha1(data: Buffer, key: KeyObject, signature: Buffer): boolean {
  if (key.asymmetricKeyType !== 'rsa') return safeVerify('sha1', data, key, signature);
  try {
    const opened = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
    return opened.equals(createHash('sha1').update(data).digest());
  } catch {
    return false;
  }
}

function safeVerify(hash: string, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  try {
    return verify(hash, data, key, signature);
  } catch {
    return false;
  }
}
