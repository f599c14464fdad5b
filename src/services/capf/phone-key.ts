import { ECDH } from 'node:crypto';
import type * as Asn1Ecc from '@peculiar/asn1-ecc';
import type * as Asn1Rsa from '@peculiar/asn1-rsa';
import type * as Asn1Schema from '@peculiar/asn1-schema';
import type * as Asn1X509 from '@peculiar/asn1-x509';
import type { Curve, KeyRequest } from './messages';

/**
 * The public key a phone sends in its key-generate response, read with the @peculiar ASN.1 models (the ones
 * the LSC is built on): an RSA key and its modulus size, or an EC key on P-256/P-384/P-521 whose point is on
 * the curve (OpenSSL decodes the point: ECDH.convertKey refuses one that is not). Whatever is not such a key
 * is refused with a reason, before anything is signed.
 */

export type PhoneKey = ({ type: 'rsa'; bits: number } | { type: 'ec'; curve: Curve }) & {
  /** The SubjectPublicKeyInfo as the models encode it (DER): what goes into the LSC. */
  der: Uint8Array;
};

export class PhoneKeyError extends Error {}

const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const CURVES: Readonly<Record<string, { curve: Curve; openssl: string; bytes: number }>> = {
  '1.2.840.10045.3.1.7': { curve: 'P-256', openssl: 'prime256v1', bytes: 32 },
  '1.3.132.0.34': { curve: 'P-384', openssl: 'secp384r1', bytes: 48 },
  '1.3.132.0.35': { curve: 'P-521', openssl: 'secp521r1', bytes: 66 },
};

interface Models {
  schema: typeof Asn1Schema;
  x509: typeof Asn1X509;
  rsa: typeof Asn1Rsa;
  ecc: typeof Asn1Ecc;
}
let models: Models | undefined;
function load(): Models {
  models ??= {
    schema: require('@peculiar/asn1-schema') as typeof Asn1Schema,
    x509: require('@peculiar/asn1-x509') as typeof Asn1X509,
    rsa: require('@peculiar/asn1-rsa') as typeof Asn1Rsa,
    ecc: require('@peculiar/asn1-ecc') as typeof Asn1Ecc,
  };
  return models;
}

/** Read and check a phone's SubjectPublicKeyInfo; a PhoneKeyError says why it is not a usable key. */
export function readPhoneKey(spki: Uint8Array): PhoneKey {
  const { schema, x509, rsa, ecc } = load();
  let info: Asn1X509.SubjectPublicKeyInfo;
  let der: Uint8Array;
  try {
    info = schema.AsnConvert.parse(spki, x509.SubjectPublicKeyInfo);
    der = new Uint8Array(schema.AsnConvert.serialize(info));
  } catch {
    throw new PhoneKeyError('the public key is not a DER SubjectPublicKeyInfo');
  }
  const key = new Uint8Array(info.subjectPublicKey);
  const algorithm = info.algorithm.algorithm;
  if (algorithm === RSA_ENCRYPTION) {
    let parsed: Asn1Rsa.RSAPublicKey;
    try {
      parsed = schema.AsnConvert.parse(key, rsa.RSAPublicKey);
    } catch {
      throw new PhoneKeyError('the RSA public key is not a DER RSAPublicKey');
    }
    const modulus = magnitude(new Uint8Array(parsed.modulus));
    const exponent = magnitude(new Uint8Array(parsed.publicExponent));
    if (modulus.length === 0 || (modulus[modulus.length - 1]! & 1) === 0 || new Uint8Array(parsed.modulus)[0]! & 0x80) {
      throw new PhoneKeyError('the RSA modulus is not a positive odd number');
    }
    if (exponent.length === 0 || (exponent[exponent.length - 1]! & 1) === 0 || (exponent.length === 1 && exponent[0]! < 3)) {
      throw new PhoneKeyError('the RSA public exponent is not an odd number of at least 3');
    }
    return { type: 'rsa', bits: (modulus.length - 1) * 8 + bitLength(modulus[0]!), der };
  }
  if (algorithm === EC_PUBLIC_KEY) {
    let curveOid: string | undefined;
    try {
      curveOid = schema.AsnConvert.parse(info.algorithm.parameters ?? new ArrayBuffer(0), ecc.ECParameters).namedCurve;
    } catch {
      curveOid = undefined;
    }
    const curve = curveOid ? CURVES[curveOid] : undefined;
    if (!curve) throw new PhoneKeyError(`an EC key on ${curveOid ? `curve ${curveOid}` : 'no named curve'}`);
    // An uncompressed (04 X Y) or compressed (02/03 X) point; never the point at infinity (00).
    const form = key[0];
    const length = form === 0x04 ? 1 + 2 * curve.bytes : form === 0x02 || form === 0x03 ? 1 + curve.bytes : -1;
    if (key.length !== length) throw new PhoneKeyError(`the EC ${curve.curve} public key is not an encoded point`);
    try {
      ECDH.convertKey(key, curve.openssl);
    } catch {
      throw new PhoneKeyError(`the EC ${curve.curve} public key is not a point on the curve`);
    }
    return { type: 'ec', curve: curve.curve, der };
  }
  throw new PhoneKeyError(`a key of algorithm ${algorithm}, neither RSA nor EC`);
}

/** Why the phone's key is not the kind asked for, or undefined when it is. */
export function keyMismatch(key: PhoneKey, wanted: KeyRequest): string | undefined {
  if (wanted.type === 'rsa') {
    return key.type === 'rsa' && key.bits === wanted.bits ? undefined : `asked for an RSA ${wanted.bits}-bit key, got ${describe(key)}`;
  }
  return key.type === 'ec' && key.curve === wanted.curve ? undefined : `asked for an EC ${wanted.curve} key, got ${describe(key)}`;
}

function describe(key: PhoneKey): string {
  return key.type === 'rsa' ? `an RSA ${key.bits}-bit key` : `an EC ${key.curve} key`;
}

/** An unsigned big-endian integer without its leading zero bytes. */
function magnitude(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i += 1;
  return bytes.subarray(i);
}

function bitLength(byte: number): number {
  return 32 - Math.clz32(byte);
}
