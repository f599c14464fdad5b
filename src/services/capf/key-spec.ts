import { createPublicKey, type KeyObject } from 'node:crypto';
import { OpenctlError } from '../../util/errors';
import type { Curve, KeyRequest } from './messages';

/** `rsa:1024..4096` or `ec:p256|p384|p521`: what key a phone generates for its LSC. */
export const DEFAULT_KEY_SPEC = 'rsa:2048';

const CURVE_OF_SPEC: Readonly<Record<string, Curve>> = { p256: 'P-256', p384: 'P-384', p521: 'P-521' };
const NODE_CURVE: Readonly<Record<Curve, string>> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };

export function parseKeySpec(spec: string, option = '--key'): KeyRequest {
  const m = /^(rsa):(\d{4})$|^(ec):(p256|p384|p521)$/i.exec(spec.trim());
  if (m?.[1]) {
    const bits = Number(m[2]);
    if (bits >= 1024 && bits <= 4096 && bits % 8 === 0) return { type: 'rsa', bits };
  } else if (m?.[3]) {
    return { type: 'ec', curve: CURVE_OF_SPEC[m[4].toLowerCase()]! };
  }
  throw new OpenctlError(`${option} must be rsa:1024..4096 or ec:p256, ec:p384, ec:p521, not "${spec}"`);
}

export function formatKeySpec(key: KeyRequest): string {
  return key.type === 'rsa' ? `rsa:${key.bits}` : `ec:${key.curve.replace('-', '').toLowerCase()}`;
}

/** Why the phone's public key is not what was asked for, or undefined when it is. */
export function keyMismatch(spki: Uint8Array, wanted: KeyRequest): string | undefined {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    return 'the public key is not a DER SubjectPublicKeyInfo';
  }
  if (wanted.type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (key.asymmetricKeyType !== 'rsa' || bits !== wanted.bits) {
      return `asked for an RSA ${wanted.bits}-bit key, got ${describeKey(key)}`;
    }
    return undefined;
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== NODE_CURVE[wanted.curve]) {
    return `asked for an EC ${wanted.curve} key, got ${describeKey(key)}`;
  }
  return undefined;
}

function describeKey(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') return `an RSA ${key.asymmetricKeyDetails?.modulusLength}-bit key`;
  if (key.asymmetricKeyType === 'ec') return `an EC ${key.asymmetricKeyDetails?.namedCurve} key`;
  return `a ${key.asymmetricKeyType} key`;
}
