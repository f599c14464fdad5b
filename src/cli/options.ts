import { existsSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { OpenctlError } from '../util/errors';
import { isHashAlgorithm, type HashAlgorithm } from '../crypto/hash';
import type { DnStyle, Version } from '../formats/model';

/** Commander reducer for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function parseDigest(value: string | undefined, fallback: HashAlgorithm = 'sha1'): HashAlgorithm {
  if (value === undefined) return fallback;
  const v = value.toLowerCase().replace('-', '');
  if (!isHashAlgorithm(v)) throw new OpenctlError(`--digest must be sha1, sha256 or sha512, not "${value}"`);
  return v;
}

export function parseTimestamp(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) {
    throw new OpenctlError(`--timestamp must be Unix seconds (0 to 4294967295), not "${value}"`);
  }
  return Number(value);
}

/**
 * `--timeout MS` of the commands that take tftp:// and http:// URLs (show, verify): the same range as preflight's
 * and diff's, without loading those commands (a local `show` must start fast).
 */
export function parseFetchTimeout(value: string | undefined): number {
  const n = Number(value ?? '2000');
  if (!Number.isInteger(n) || n < 1 || n > 600000) throw new OpenctlError(`--timeout must be milliseconds (1 to 600000), not "${value}"`);
  return n;
}

export function parseSignerVersion(value: string | undefined): Version | undefined {
  if (value === undefined) return undefined;
  if (value !== '1.0' && value !== '1.1') throw new OpenctlError(`--signer-version must be 1.0 or 1.1, not "${value}"`);
  return { major: 1, minor: value === '1.1' ? 1 : 0 };
}

export function parseDnStyle(value: string | undefined): DnStyle | undefined {
  if (value === undefined) return undefined;
  if (value !== 'comma' && value !== 'cucm') throw new OpenctlError(`--dn-style must be comma or cucm, not "${value}"`);
  return value;
}

export interface CertWithPlace {
  cert: string;
  dnsName?: string;
  ipv4?: string;
}

/**
 * `CERT[@DNS[@IPV4]]`. A path that exists as given wins (file names may contain '@'); otherwise the last
 * one or two '@' parts are the DNS name and the IPv4 address.
 */
export function parseCertWithPlace(spec: string, option: string): CertWithPlace {
  const parts = spec.split('@');
  if (parts.length === 1 || existsSync(spec)) return { cert: spec };
  if (parts.length === 2) return { cert: parts[0], dnsName: parts[1] };
  const ipv4 = parts[parts.length - 1];
  if (!isIPv4(ipv4)) throw new OpenctlError(`${option} ${spec}: "${ipv4}" is not an IPv4 address`);
  return { cert: parts.slice(0, -2).join('@'), dnsName: parts[parts.length - 2], ipv4 };
}
