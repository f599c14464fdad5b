import { randomBytes } from 'node:crypto';
import type * as Asn1X509 from '@peculiar/asn1-x509';
import type * as Asn1Schema from '@peculiar/asn1-schema';
import type { IssuingKey } from './issuer';
import { x509 } from './x509';

/** The LSC's extended key usages: serverAuth, clientAuth, IPsec end system. */
export const LSC_EKU = ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.5'] as const;
/** Subject attributes copied from the issuing CA, after CN, in this order. */
const COPIED_ATTRIBUTES = [
  ['O', '2.5.4.10'],
  ['OU', '2.5.4.11'],
  ['L', '2.5.4.7'],
  ['ST', '2.5.4.8'],
  ['C', '2.5.4.6'],
] as const;
const CN = '2.5.4.3';
const SUBJECT_ALT_NAME = '2.5.29.17';
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
 *
 * Made with the @peculiar ASN.1 models that @peculiar/x509 itself builds on: what is the same for every LSC of
 * a CA (issuer name, copied attributes, the constant extensions, the signature algorithm) is prepared once, and
 * each LSC costs one TBS serialisation, one signature and one certificate serialisation. (x509's generic
 * generator re-parses every extension and then the whole certificate it made: 3 to 4 times the work per LSC.)
 */
export async function buildLsc(issuer: IssuingKey, request: LscRequest): Promise<IssuedLsc> {
  const { asn1, schema, template } = prepared(issuer);
  const now = request.now ?? new Date();
  const notBefore = new Date(Math.floor((now.getTime() - BACKDATE_MS) / 1000) * 1000);
  const notAfter = new Date(Math.floor((now.getTime() + request.days * 86_400_000) / 1000) * 1000);
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // positive without a sign byte, and 16 bytes long
  if (serial[0] < 0x10) serial[0] |= 0x10; // no leading zero digit: the hex is the serial as everyone prints it

  const cn = new asn1.RelativeDistinguishedName([new asn1.AttributeTypeAndValue({ type: CN, value: new asn1.AttributeValue({ utf8String: request.device }) })]);
  const san = new asn1.Extension({
    extnID: SUBJECT_ALT_NAME,
    critical: false,
    extnValue: new schema.OctetString(schema.AsnConvert.serialize(new asn1.SubjectAlternativeName([new asn1.GeneralName({ uniformResourceIdentifier: request.device })]))),
  });
  const tbs = new asn1.TBSCertificate({
    version: asn1.Version.v3,
    serialNumber: toArrayBuffer(serial),
    signature: template.signatureAlgorithm,
    issuer: template.issuer,
    validity: new asn1.Validity({ notBefore, notAfter }),
    subject: new asn1.Name([cn, ...template.subjectTail]),
    subjectPublicKeyInfo: schema.AsnConvert.parse(request.publicKey, asn1.SubjectPublicKeyInfo),
    extensions: new asn1.Extensions([...template.extensions, san]),
  });
  const tbsDer = Buffer.from(schema.AsnConvert.serialize(tbs));
  const signature = template.formatSignature(await issuer.sign(tbsDer));
  const cert = new asn1.Certificate({ tbsCertificate: tbs, signatureAlgorithm: template.signatureAlgorithm, signatureValue: signature });
  return { der: Buffer.from(schema.AsnConvert.serialize(cert)), serial: serial.toString('hex'), notBefore, notAfter };
}

interface Template {
  issuer: Asn1X509.Name;
  subjectTail: Asn1X509.RelativeDistinguishedName[];
  extensions: Asn1X509.Extension[];
  signatureAlgorithm: Asn1X509.AlgorithmIdentifier;
  formatSignature(webSignature: ArrayBuffer): ArrayBuffer;
}

type Asn1X509Module = typeof Asn1X509;
type Asn1SchemaModule = typeof Asn1Schema;
const templates = new WeakMap<Buffer, Template>();

function prepared(issuer: IssuingKey): { asn1: Asn1X509Module; schema: Asn1SchemaModule; template: Template } {
  const lib = x509(); // loads reflect-metadata and registers x509's algorithms
  const asn1 = require('@peculiar/asn1-x509') as Asn1X509Module;
  const schema = require('@peculiar/asn1-schema') as Asn1SchemaModule;
  let template = templates.get(issuer.certificate);
  if (!template) {
    const issuerCert = schema.AsnConvert.parse(issuer.certificate, asn1.Certificate);
    const issuerName = issuerCert.tbsCertificate.subject;
    const subjectTail: Asn1X509.RelativeDistinguishedName[] = [];
    for (const [, oid] of COPIED_ATTRIBUTES) for (const rdn of issuerName) if (rdn.some((a) => a.type === oid)) subjectTail.push(rdn);
    // The constant extensions, made by @peculiar/x509's own classes once.
    const constant = [
      new lib.BasicConstraintsExtension(false, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature | lib.KeyUsageFlags.keyEncipherment, true),
      new lib.ExtendedKeyUsageExtension([...LSC_EKU], false),
    ].map((e) => schema.AsnConvert.parse(e.rawData, asn1.Extension));
    const algorithm = { ...issuer.algorithm, hash: { name: 'SHA-256' } };
    const signatureAlgorithm = new lib.AlgorithmProvider().toAsnAlgorithm(algorithm as never);
    const ecFormatter = new lib.AsnEcSignatureFormatter();
    template = {
      issuer: issuerName,
      subjectTail,
      extensions: constant,
      signatureAlgorithm,
      formatSignature: (sig) => (algorithm.name === 'ECDSA' ? (ecFormatter.toAsnSignature(algorithm as never, sig) as ArrayBuffer) : sig),
    };
    templates.set(issuer.certificate, template);
  }
  return { asn1, schema, template };
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}
