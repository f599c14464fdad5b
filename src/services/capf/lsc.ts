import { randomBytes } from 'node:crypto';
import type * as Asn1X509 from '@peculiar/asn1-x509';
import type * as Asn1Schema from '@peculiar/asn1-schema';
import type * as LscAsn1 from './lsc-asn1';
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
  /** The phone's SubjectPublicKeyInfo, DER, as checked by readPhoneKey (phone-key.ts). */
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
 * Made with the @peculiar ASN.1 models that @peculiar/x509 itself builds on (lsc-asn1.ts). What is the same for
 * every LSC of a CA (the signature algorithm, the issuer name, the copied RDNs, the constant extensions) is
 * encoded once per CA; each LSC encodes only its serial, validity, CN, public key and subjectAltName, then
 * the TBS once (the certificate carries those bytes as signed), and one signature. The result is what
 * @peculiar/x509's X509CertificateGenerator makes from the same inputs, byte for byte (test/capf/lsc.test.ts),
 * at a fraction of the work (the generator re-parses every extension and name it is given).
 */
export async function buildLsc(issuer: IssuingKey, request: LscRequest): Promise<IssuedLsc> {
  const { asn1, schema, lsc, template } = prepared(issuer);
  const now = request.now ?? new Date();
  const notBefore = new Date(Math.floor((now.getTime() - BACKDATE_MS) / 1000) * 1000);
  const notAfter = new Date(Math.floor((now.getTime() + request.days * 86_400_000) / 1000) * 1000);
  const serial = randomSerial();

  const cn = new asn1.RelativeDistinguishedName([new asn1.AttributeTypeAndValue({ type: CN, value: new asn1.AttributeValue({ utf8String: request.device }) })]);
  const san = new asn1.Extension({
    extnID: SUBJECT_ALT_NAME,
    critical: false,
    extnValue: new schema.OctetString(schema.AsnConvert.serialize(new asn1.SubjectAlternativeName([new asn1.GeneralName({ uniformResourceIdentifier: request.device })]))),
  });
  const tbs = new lsc.LscTbs({
    serialNumber: toArrayBuffer(serial),
    signature: template.signatureAlgorithm,
    issuer: template.issuer,
    validity: new asn1.Validity({ notBefore, notAfter }),
    subject: new lsc.LscName({ cn, copied: template.copiedRdns }),
    subjectPublicKeyInfo: request.publicKey,
    extensions: new lsc.LscExtensions({ constant: template.constantExtensions, subjectAltName: san }),
  });
  const tbsDer = Buffer.from(schema.AsnConvert.serialize(tbs));
  const signature = template.formatSignature(await issuer.sign(tbsDer));
  const cert = new lsc.LscCertificate({ tbsCertificate: tbsDer, signatureAlgorithm: template.signatureAlgorithm, signatureValue: new schema.BitString(signature) });
  return { der: Buffer.from(schema.AsnConvert.serialize(cert)), serial: serial.toString('hex'), notBefore, notAfter };
}

/** 16 random bytes, positive without a sign byte, and no leading zero digit: the hex is the serial as everyone prints it. */
function randomSerial(): Buffer {
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  if (serial[0] < 0x10) serial[0] |= 0x10;
  return serial;
}

/** What every LSC of one CA shares, encoded once. */
interface Template {
  /** AlgorithmIdentifier (DER), in the TBS and in the certificate. */
  signatureAlgorithm: Uint8Array;
  /** The issuing certificate's subject, as encoded there. */
  issuer: Uint8Array;
  /** The CA's O, OU, L, ST, C RDNs (in that order), one after the other; undefined when it has none. */
  copiedRdns?: Uint8Array;
  /** basicConstraints, keyUsage, extKeyUsage, one after the other. */
  constantExtensions: Uint8Array;
  formatSignature(webSignature: ArrayBuffer): ArrayBuffer;
}

type Asn1X509Module = typeof Asn1X509;
type Asn1SchemaModule = typeof Asn1Schema;
type LscAsn1Module = typeof LscAsn1;
const templates = new WeakMap<Buffer, Template>();

function prepared(issuer: IssuingKey): { asn1: Asn1X509Module; schema: Asn1SchemaModule; lsc: LscAsn1Module; template: Template } {
  const lib = x509(); // loads reflect-metadata and registers x509's algorithms
  const asn1 = require('@peculiar/asn1-x509') as Asn1X509Module;
  const schema = require('@peculiar/asn1-schema') as Asn1SchemaModule;
  const lsc = require('./lsc-asn1') as LscAsn1Module;
  let template = templates.get(issuer.certificate);
  if (!template) {
    const issuerTbs = schema.AsnConvert.parse(issuer.certificate, asn1.Certificate).tbsCertificateRaw!;
    const issuerName = schema.AsnConvert.parse(issuerTbs, lsc.TbsView).subject;
    const rdns = lsc.rdnsOf(issuerName).map((der) => ({ der, types: schema.AsnConvert.parse(der, asn1.RelativeDistinguishedName).map((a) => a.type) }));
    const copied = COPIED_ATTRIBUTES.flatMap(([, oid]) => rdns.filter((rdn) => rdn.types.includes(oid)));
    // The constant extensions and the algorithm identifier, made by @peculiar/x509's own classes once.
    const constant = [
      new lib.BasicConstraintsExtension(false, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature | lib.KeyUsageFlags.keyEncipherment, true),
      new lib.ExtendedKeyUsageExtension([...LSC_EKU], false),
    ];
    const algorithm = { ...issuer.algorithm, hash: { name: 'SHA-256' } };
    const ecFormatter = new lib.AsnEcSignatureFormatter();
    template = {
      signatureAlgorithm: new Uint8Array(schema.AsnConvert.serialize(new lib.AlgorithmProvider().toAsnAlgorithm(algorithm as never))),
      issuer: issuerName,
      copiedRdns: copied.length > 0 ? Buffer.concat([...new Set(copied)].map((rdn) => rdn.der)) : undefined,
      constantExtensions: Buffer.concat(constant.map((e) => new Uint8Array(e.rawData))),
      formatSignature: (sig) => (algorithm.name === 'ECDSA' ? (ecFormatter.toAsnSignature(algorithm as never, sig) as ArrayBuffer) : sig),
    };
    templates.set(issuer.certificate, template);
  }
  return { asn1, schema, lsc, template };
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}
