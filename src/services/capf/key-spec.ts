import { OpenctlError } from '../../util/errors';
import type { Curve, KeyRequest } from './messages';

/** `rsa:1024..4096` or `ec:p256|p384|p521`: what key a phone generates for its LSC. */
export const DEFAULT_KEY_SPEC = 'rsa:2048';

const CURVE_OF_SPEC: Readonly<Record<string, Curve>> = { p256: 'P-256', p384: 'P-384', p521: 'P-521' };

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
