import type { DnStyle } from './model';

/**
 * Distinguished names as they appear in the files: comma-separated in the certificate's order
 * (`CN=a,O=b,OU=c`) or CUCM's semicolon form in CUCM's fixed order (`CN=a;OU=b;O=c;L=d;ST=e;C=f`), with
 * quoted values in the wild (`cn="SAST-ADN...";ou=IPCBU;o="Cisco Systems`, closing quote missing). Files are
 * matched by attribute set, never by spelling.
 */

export type DnAttribute = [string, string];

/** CUCM writes these first, in this order; anything else follows in certificate order. */
const CUCM_ORDER = ['CN', 'OU', 'O', 'L', 'ST', 'C'];

const ALIASES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.11': 'OU',
  '2.5.4.10': 'O',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  S: 'ST',
  STATEORPROVINCENAME: 'ST',
  '2.5.4.6': 'C',
  '2.5.4.9': 'STREET',
  EMAILADDRESS: 'E',
  EMAIL: 'E',
  '1.2.840.113549.1.9.1': 'E',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.12': 'T',
  TITLE: 'T',
};

const ATTRIBUTE_TYPE = /^\s*([A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)\s*$/;

export function canonicalAttribute(type: string): string {
  const upper = type.trim().toUpperCase();
  return ALIASES[upper] ?? upper;
}

/** Split a DN in either spelling into [attribute, value] pairs (attribute names canonical: CN, OU, O...). */
export function parseDn(dn: string): DnAttribute[] {
  const separator = hasBareSemicolon(dn) ? ';' : ',';
  const attrs: DnAttribute[] = [];
  for (const segment of splitOutsideQuotes(dn, separator)) {
    const eq = segment.indexOf('=');
    const type = eq > 0 ? ATTRIBUTE_TYPE.exec(segment.slice(0, eq)) : null;
    if (type) {
      attrs.push([canonicalAttribute(type[1]!), decodeValue(segment.slice(eq + 1))]);
    } else if (segment.trim() !== '') {
      // An unescaped separator inside a value (`O=Cisco Systems, Inc.`): it belongs to the previous value.
      const last = attrs[attrs.length - 1];
      if (last) last[1] = `${last[1]}${separator}${decodeValue(segment, false)}`;
      else attrs.push(['', decodeValue(segment)]);
    }
  }
  return attrs;
}

function hasBareSemicolon(dn: string): boolean {
  let quoted = false;
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i];
    if (c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ';' && !quoted) return true;
  }
  return false;
}

function splitOutsideQuotes(dn: string, separator: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i];
    if (c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === separator && !quoted) {
      parts.push(dn.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(dn.slice(start));
  return parts;
}

/**
 * Remove quotes and backslash escapes (`\,`, or RFC 4514 hex pairs such as `\C3\A9` for UTF-8 bytes).
 * Unescaped quotes only delimit, so a missing closing quote (seen in CUCM eToken names) is harmless.
 */
function decodeValue(raw: string, trimStart = true): string {
  const s = trimStart ? raw.trim() : raw.trimEnd();
  const bytes: number[] = [];
  const push = (text: string) => bytes.push(...Buffer.from(text, 'utf8'));
  for (let i = 0; i < s.length; i++) {
    const c = String.fromCodePoint(s.codePointAt(i)!);
    if (c === '"') continue;
    if (c !== '\\' || i + 1 >= s.length) {
      push(c);
      i += c.length - 1;
      continue;
    }
    const hex = s.slice(i + 1, i + 3);
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      const next = String.fromCodePoint(s.codePointAt(i + 1)!);
      push(next);
      i += next.length;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Write attributes in a style: comma keeps their order, cucm puts CN, OU, O, L, ST, C first. */
export function formatDn(attrs: ReadonlyArray<readonly [string, string]>, style: DnStyle): string {
  const separator = style === 'cucm' ? ';' : ',';
  const ordered = style === 'cucm' ? cucmOrder(attrs) : attrs;
  return ordered.map(([type, value]) => `${type}=${encodeValue(value)}`).join(separator);
}

function cucmOrder(attrs: ReadonlyArray<readonly [string, string]>): ReadonlyArray<readonly [string, string]> {
  const rank = (type: string) => {
    const i = CUCM_ORDER.indexOf(canonicalAttribute(type));
    return i < 0 ? CUCM_ORDER.length : i;
  };
  return attrs
    .map((attr, index) => ({ attr, index }))
    .sort((a, b) => rank(a.attr[0]) - rank(b.attr[0]) || a.index - b.index)
    .map((x) => x.attr);
}

/** Quote a value that holds a separator, a quote, a backslash, or edge spaces (readable in both styles). */
function encodeValue(value: string): string {
  if (!/[,;"\\+=<>#]|^\s|\s$/.test(value)) return value;
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function normalizedSet(dn: string): string[] {
  return parseDn(dn)
    .map(([type, value]) => `${type}=${value.trim().replace(/\s+/g, ' ').toLowerCase()}`)
    .sort();
}

/** True when two DNs, in any spelling and order, hold the same attributes (case-insensitive values). */
export function sameDn(a: string, b: string): boolean {
  const x = normalizedSet(a);
  const y = normalizedSet(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
