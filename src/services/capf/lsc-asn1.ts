import { AsnArray, AsnConvert, AsnIntegerArrayBufferConverter, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes, BitString, type IAsnConverter } from '@peculiar/asn1-schema';
import { Extension, RelativeDistinguishedName, Validity } from '@peculiar/asn1-x509';

/**
 * The LSC as @peculiar/asn1-schema models in which what is the same for every LSC of a CA is a value already
 * encoded once (RAW_DER): the signature algorithm, the issuer name, the RDNs copied from the CA and the constant
 * extensions. What varies per phone (serial, validity, the device's CN, its public key, the subjectAltName) is
 * encoded by the @peculiar models at each LSC. The result is the certificate @peculiar/x509's generator makes
 * from the same inputs, byte for byte (test/capf/lsc.test.ts). Loaded on first use (lsc.ts).
 */

/** An asn1js block whose encoding is known: written as is, whether asked alone or inside a parent's writer. */
class EncodedBlock {
  constructor(private readonly der: Uint8Array) {}

  toBER(sizeOnly?: boolean, writer?: { write(buf: ArrayBuffer): void }): ArrayBuffer {
    const bytes = sizeOnly ? new ArrayBuffer(this.der.byteLength) : arrayBuffer(this.der);
    if (!writer) return bytes;
    writer.write(bytes);
    return new ArrayBuffer(0);
  }
}

/**
 * The converter of an `Any` that holds DER: serialised as the bytes given (one element, or several in a row
 * inside a SEQUENCE OF), parsed as the bytes found (asn1-schema's own `Any`: valueBeforeDecode).
 */
export const RAW_DER: IAsnConverter<Uint8Array> = {
  fromASN: (value) => new Uint8Array((value as unknown as { valueBeforeDecodeView: Uint8Array }).valueBeforeDecodeView),
  toASN: (value) => new EncodedBlock(value) as never,
};

type PropOptions = Parameters<typeof AsnProp>[0];

/** asn1-schema's decorators, applied by hand (the project compiles without experimental decorators). */
function schema(target: new () => unknown, type: AsnTypeTypes, items: Array<[string, PropOptions]>): void {
  for (const [key, options] of items) AsnProp(options)(target.prototype as object, key);
  AsnType({ type })(target);
}

const raw = (options: Omit<PropOptions, 'type'> = {}): PropOptions => ({ type: AsnPropTypes.Any, converter: RAW_DER, ...options });

/** Name ::= SEQUENCE OF RDN: CN=<device>, then the CA's copied RDNs, pre-encoded in a row. */
export class LscName {
  cn = new RelativeDistinguishedName();
  copied?: Uint8Array;
  constructor(params: Partial<LscName> = {}) {
    Object.assign(this, params);
  }
}
schema(LscName, AsnTypeTypes.Sequence, [
  ['cn', { type: RelativeDistinguishedName }],
  ['copied', raw({ optional: true })],
]);

/** Extensions ::= SEQUENCE OF Extension: basicConstraints, keyUsage, extKeyUsage (pre-encoded), subjectAltName. */
export class LscExtensions {
  constant: Uint8Array = new Uint8Array();
  subjectAltName = new Extension();
  constructor(params: Partial<LscExtensions> = {}) {
    Object.assign(this, params);
  }
}
schema(LscExtensions, AsnTypeTypes.Sequence, [
  ['constant', raw()],
  ['subjectAltName', { type: Extension }],
]);

/** TBSCertificate (RFC 5280 4.1), v3. */
export class LscTbs {
  version = 2;
  serialNumber = new ArrayBuffer(0);
  signature: Uint8Array = new Uint8Array();
  issuer: Uint8Array = new Uint8Array();
  validity = new Validity();
  subject = new LscName();
  subjectPublicKeyInfo: Uint8Array = new Uint8Array();
  extensions = new LscExtensions();
  constructor(params: Partial<LscTbs> = {}) {
    Object.assign(this, params);
  }
}
schema(LscTbs, AsnTypeTypes.Sequence, [
  ['version', { type: AsnPropTypes.Integer, context: 0 }],
  ['serialNumber', { type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter }],
  ['signature', raw()],
  ['issuer', raw()],
  ['validity', { type: Validity }],
  ['subject', { type: LscName }],
  ['subjectPublicKeyInfo', raw()],
  ['extensions', { type: LscExtensions, context: 3 }],
]);

/** Certificate: the TBS as it was signed, the signature algorithm (pre-encoded), the signature. */
export class LscCertificate {
  tbsCertificate: Uint8Array = new Uint8Array();
  signatureAlgorithm: Uint8Array = new Uint8Array();
  signatureValue = new BitString();
  constructor(params: Partial<LscCertificate> = {}) {
    Object.assign(this, params);
  }
}
schema(LscCertificate, AsnTypeTypes.Sequence, [
  ['tbsCertificate', raw()],
  ['signatureAlgorithm', raw()],
  ['signatureValue', { type: BitString }],
]);

/** The first fields of a certificate's TBS as they are encoded: the issuing certificate's subject, byte for byte. */
export class TbsView {
  version?: Uint8Array;
  serialNumber: Uint8Array = new Uint8Array();
  signature: Uint8Array = new Uint8Array();
  issuer: Uint8Array = new Uint8Array();
  validity: Uint8Array = new Uint8Array();
  subject: Uint8Array = new Uint8Array();
}
schema(TbsView, AsnTypeTypes.Sequence, [
  ['version', raw({ context: 0, optional: true })],
  ['serialNumber', raw()],
  ['signature', raw()],
  ['issuer', raw()],
  ['validity', raw()],
  ['subject', raw()],
]);

/** A Name as its RDNs, each as encoded (a SEQUENCE OF Any: asn1-schema's Any converter keeps the bytes). */
export class RdnView extends AsnArray<ArrayBuffer> {}
AsnType({ type: AsnTypeTypes.Sequence, itemType: AsnPropTypes.Any })(RdnView);

export function rdnsOf(name: Uint8Array): Uint8Array[] {
  return Array.from(AsnConvert.parse(name, RdnView), (rdn) => new Uint8Array(rdn));
}

function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
