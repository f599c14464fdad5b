import { OpenctlError } from '../util/errors';

/** RFC 7512 object types. */
export type Pkcs11ObjectType = 'cert' | 'private' | 'public' | 'secret-key' | 'data';
const OBJECT_TYPES: readonly Pkcs11ObjectType[] = ['cert', 'private', 'public', 'secret-key', 'data'];

/** A parsed `pkcs11:` URI (RFC 7512, with the slot-* attributes of its successors). */
export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  serial?: string;
  model?: string;
  libraryManufacturer?: string;
  libraryDescription?: string;
  libraryVersion?: { major: number; minor: number };
  slotDescription?: string;
  slotManufacturer?: string;
  slotId?: number;
  object?: string;
  type?: Pkcs11ObjectType;
  /** CKA_ID: raw bytes. */
  id?: Buffer;
  moduleName?: string;
  modulePath?: string;
  /** `file:/path` or a plain path: where the PIN is read from. */
  pinSource?: string;
  /** `x-` attributes, kept as decoded text. */
  vendorPath?: Record<string, string>;
  vendorQuery?: Record<string, string>;
}

type TextKey = Exclude<keyof Pkcs11Uri, 'libraryVersion' | 'slotId' | 'type' | 'id' | 'vendorPath' | 'vendorQuery'>;

/** Path attributes in the order RFC 7512 lists them; the formatter writes them in this order. */
const PATH_ATTRS: ReadonlyArray<[string, keyof Pkcs11Uri]> = [
  ['token', 'token'],
  ['manufacturer', 'manufacturer'],
  ['serial', 'serial'],
  ['model', 'model'],
  ['library-manufacturer', 'libraryManufacturer'],
  ['library-description', 'libraryDescription'],
  ['library-version', 'libraryVersion'],
  ['slot-description', 'slotDescription'],
  ['slot-manufacturer', 'slotManufacturer'],
  ['slot-id', 'slotId'],
  ['object', 'object'],
  ['type', 'type'],
  ['id', 'id'],
];

const QUERY_ATTRS: ReadonlyArray<[string, keyof Pkcs11Uri]> = [
  ['module-name', 'moduleName'],
  ['module-path', 'modulePath'],
  ['pin-source', 'pinSource'],
];

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const PATH_SAFE = /[A-Za-z0-9\-._~:[\]@!$'()*+,=]/;
const QUERY_SAFE = /[A-Za-z0-9\-._~:[\]@!$'()*+,=/?|]/;
const VENDOR_NAME = /^x-[A-Za-z0-9\-_]+$/;

function uriError(text: string, problem: string): OpenctlError {
  return new OpenctlError(`${redactPinValue(text)}: not a valid PKCS#11 URI: ${problem}`);
}

export function isPkcs11Uri(text: string): boolean {
  return /^pkcs11:/i.test(text);
}

/** Percent-decode to bytes. Characters outside the RFC's sets are accepted as typed (people paste labels). */
export function percentDecode(value: string, context: string): Buffer {
  const chunks: Buffer[] = [];
  let i = 0;
  while (i < value.length) {
    const pct = value.indexOf('%', i);
    const end = pct < 0 ? value.length : pct;
    if (end > i) chunks.push(Buffer.from(value.slice(i, end), 'utf8'));
    if (pct < 0) break;
    const hex = value.slice(pct + 1, pct + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw uriError(context, `bad percent-encoding "%${hex}"`);
    chunks.push(Buffer.from([parseInt(hex, 16)]));
    i = pct + 3;
  }
  return Buffer.concat(chunks);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(value: string, name: string, context: string): string {
  try {
    return UTF8.decode(percentDecode(value, context));
  } catch (err) {
    if (err instanceof OpenctlError) throw err;
    throw uriError(context, `${name} is not UTF-8 text`);
  }
}

/** Encode text or bytes for a path (`query` false) or query value; `allBytes` encodes every byte (ids). */
export function percentEncode(value: string | Buffer, query = false, allBytes = false): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const safe = query ? QUERY_SAFE : PATH_SAFE;
  let out = '';
  for (const byte of bytes) {
    const ch = String.fromCharCode(byte);
    if (!allBytes && byte < 0x80 && (safe.test(ch) || UNRESERVED.test(ch))) out += ch;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Parse a `pkcs11:` URI. Refuses `pin-value` (a PIN never goes on a command line), unknown standard
 * attributes (most likely a typo such as `label=`) and repeated attributes, each with a one-line reason.
 */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (!isPkcs11Uri(text)) throw uriError(text, 'it must start with "pkcs11:"');
  const body = text.slice('pkcs11:'.length);
  const q = body.indexOf('?');
  const pathPart = q < 0 ? body : body.slice(0, q);
  const queryPart = q < 0 ? '' : body.slice(q + 1);
  const uri: Pkcs11Uri = {};
  const seen = new Set<string>();

  for (const [name, value] of attributes(pathPart, ';', text, seen)) {
    if (VENDOR_NAME.test(name)) {
      (uri.vendorPath ??= {})[name] = decodeText(value, name, text);
      continue;
    }
    const known = PATH_ATTRS.find(([n]) => n === name);
    if (!known) {
      const hint = name === 'label' ? ' (the object label is "object=")' : '';
      throw uriError(text, `unknown attribute "${name}"${hint}`);
    }
    setPathAttr(uri, known[1], name, value, text);
  }

  for (const [name, value] of attributes(queryPart, '&', text, seen)) {
    if (VENDOR_NAME.test(name)) {
      (uri.vendorQuery ??= {})[name] = decodeText(value, name, text);
      continue;
    }
    const known = QUERY_ATTRS.find(([n]) => n === name);
    if (!known) throw uriError(text, `unknown query attribute "${name}"`);
    (uri as Record<string, unknown>)[known[1]] = decodeText(value, name, text);
  }
  if (uri.modulePath !== undefined && uri.modulePath === '') throw uriError(text, 'module-path is empty');
  return uri;
}

function pinValueRefused(text: string): OpenctlError {
  return new OpenctlError(
    `${redactPinValue(text)}: a PIN never goes on the command line (pin-value): use pin-source=file:PATH in the URI, ` +
      'OPENCTL_PIN_<TOKEN LABEL> or OPENCTL_PIN in the environment, or type it at the prompt',
  );
}

/** The name=value pairs of the path or the query, each name once, and never a PIN value (RFC 7512 allows one). */
function attributes(part: string, separator: string, text: string, seen: Set<string>): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const attr of part.split(separator)) {
    if (attr === '') continue;
    const [name, value] = splitAttr(attr, text);
    if (isPinValueName(name)) throw pinValueRefused(text);
    if (seen.has(name)) throw uriError(text, `"${name}" appears twice`);
    seen.add(name);
    pairs.push([name, value]);
  }
  return pairs;
}

function splitAttr(attr: string, text: string): [string, string] {
  const eq = attr.indexOf('=');
  if (eq <= 0) throw uriError(text, `"${attr}" is not name=value`);
  return [attr.slice(0, eq), attr.slice(eq + 1)];
}

function setPathAttr(uri: Pkcs11Uri, key: keyof Pkcs11Uri, name: string, value: string, text: string): void {
  switch (key) {
    case 'id':
      uri.id = percentDecode(value, text);
      return;
    case 'slotId': {
      if (!/^\d+$/.test(value)) throw uriError(text, `slot-id must be a decimal number, not "${value}"`);
      uri.slotId = Number(value);
      return;
    }
    case 'libraryVersion': {
      const m = /^(\d+)(?:\.(\d+))?$/.exec(value);
      if (!m) throw uriError(text, `library-version must be M or M.N, not "${value}"`);
      uri.libraryVersion = { major: Number(m[1]), minor: m[2] === undefined ? 0 : Number(m[2]) };
      return;
    }
    case 'type': {
      const type = decodeText(value, name, text);
      if (!(OBJECT_TYPES as readonly string[]).includes(type)) {
        throw uriError(text, `type must be one of ${OBJECT_TYPES.join(', ')}, not "${type}"`);
      }
      uri.type = type as Pkcs11ObjectType;
      return;
    }
    default:
      uri[key as TextKey] = decodeText(value, name, text);
  }
}

/**
 * The text with every pin-value's value blanked (for messages): in the query (`?pin-value=`) or the path
 * (`;pin-value=`), whatever the letter case or percent-encoding of the name, in a URI or anywhere in a line.
 */
export function redactPinValue(text: string): string {
  return text.replace(/([:;?&])([^:;?&=\s]*)=([^;?&\s]*)/g, (match, sep: string, name: string, value: string) =>
    // A message goes on after the URI with ": ": keep that colon, blank the rest.
    isPinValueName(name) ? `${sep}${name}=***${value.endsWith(':') ? ':' : ''}` : match,
  );
}

function isPinValueName(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // not valid percent-encoding: compare as written
  }
  return decoded.toLowerCase() === 'pin-value';
}

/** Format a URI; `query: false` leaves out module and PIN source (for descriptions and audit lines). */
export function formatPkcs11Uri(uri: Pkcs11Uri, options: { query?: boolean } = {}): string {
  const path: string[] = [];
  for (const [name, key] of PATH_ATTRS) {
    const value = uri[key];
    if (value === undefined) continue;
    if (key === 'id') path.push(`${name}=${percentEncode(value as Buffer, false, true)}`);
    else if (key === 'slotId') path.push(`${name}=${value as number}`);
    else if (key === 'libraryVersion') {
      const v = value as { major: number; minor: number };
      path.push(`${name}=${v.major}.${v.minor}`);
    } else path.push(`${name}=${percentEncode(value as string)}`);
  }
  for (const [name, value] of Object.entries(uri.vendorPath ?? {})) path.push(`${name}=${percentEncode(value)}`);
  let out = `pkcs11:${path.join(';')}`;
  if (options.query !== false) {
    const query: string[] = [];
    for (const [name, key] of QUERY_ATTRS) {
      const value = uri[key];
      if (value !== undefined) query.push(`${name}=${percentEncode(value as string, true)}`);
    }
    for (const [name, value] of Object.entries(uri.vendorQuery ?? {})) query.push(`${name}=${percentEncode(value, true)}`);
    if (query.length > 0) out += `?${query.join('&')}`;
  }
  return out;
}

/** Do the token attributes of the URI (token, manufacturer, serial, model) all match? */
export function uriMatchesToken(
  uri: Pkcs11Uri,
  token: { label: string; manufacturer: string; serial: string; model: string },
): boolean {
  return (
    (uri.token === undefined || uri.token === token.label) &&
    (uri.manufacturer === undefined || uri.manufacturer === token.manufacturer) &&
    (uri.serial === undefined || uri.serial === token.serial) &&
    (uri.model === undefined || uri.model === token.model)
  );
}

export function uriMatchesSlot(uri: Pkcs11Uri, slot: { slotId: number; description: string; manufacturer: string }): boolean {
  return (
    (uri.slotId === undefined || uri.slotId === slot.slotId) &&
    (uri.slotDescription === undefined || uri.slotDescription === slot.description) &&
    (uri.slotManufacturer === undefined || uri.slotManufacturer === slot.manufacturer)
  );
}

export function uriMatchesLibrary(uri: Pkcs11Uri, library: { manufacturer: string; description: string; version: string }): boolean {
  const version = uri.libraryVersion;
  return (
    (uri.libraryManufacturer === undefined || uri.libraryManufacturer === library.manufacturer) &&
    (uri.libraryDescription === undefined || uri.libraryDescription === library.description) &&
    (version === undefined || `${version.major}.${version.minor}` === library.version)
  );
}

/** A short name for the token the URI means, for messages: its label, serial or the URI itself. */
export function uriTokenName(uri: Pkcs11Uri): string {
  if (uri.token !== undefined) return uri.token;
  if (uri.serial !== undefined) return `serial ${uri.serial}`;
  return formatPkcs11Uri(uri, { query: false });
}
