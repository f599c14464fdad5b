import { X509Certificate } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import type { Handle } from './cryptoki';
import { ckText } from './cryptoki';
import { CKF_HW_SLOT, CKF_REMOVABLE_DEVICE, CKF_TOKEN_PRESENT } from './constants';
import type { Pkcs11Module } from './registry';

/** The token flags that matter to a person. */
export interface TokenFlags {
  loginRequired: boolean;
  /** PIN pad or other protected authentication path: the PIN is entered on the reader, not here. */
  protectedAuthenticationPath: boolean;
  userPinInitialized: boolean;
  userPinCountLow: boolean;
  userPinFinalTry: boolean;
  userPinLocked: boolean;
  userPinToBeChanged: boolean;
  writeProtected: boolean;
  initialized: boolean;
}

export interface TokenDescription {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  flags: TokenFlags;
}

export interface SlotDescription {
  module: string;
  slotId: number;
  description: string;
  manufacturer: string;
  removable: boolean;
  hardware: boolean;
  tokenPresent: boolean;
  token?: TokenDescription;
}

export interface CertificateSummary {
  subject: string;
  issuer: string;
  serial: string;
  notAfter: string;
  keyAlgorithm: string;
  keyBits?: number;
  sha1: string;
}

/** A certificate and its keys, paired by CKA_ID. */
export interface ObjectPair {
  /** CKA_ID in hex (lower case). */
  id: string;
  label: string;
  certificate?: CertificateSummary;
  /** `null`: the private key, if any, is a private object that only shows after login. */
  privateKey: boolean | null;
  publicKey: boolean;
  keyType?: string;
  keyBits?: number;
}

export function tokenFlags(flags: number): TokenFlags {
  const has = (bit: number) => (flags & bit) !== 0;
  return {
    loginRequired: has(pkcs11js.CKF_LOGIN_REQUIRED),
    protectedAuthenticationPath: has(pkcs11js.CKF_PROTECTED_AUTHENTICATION_PATH),
    userPinInitialized: has(pkcs11js.CKF_USER_PIN_INITIALIZED),
    userPinCountLow: has(pkcs11js.CKF_USER_PIN_COUNT_LOW),
    userPinFinalTry: has(pkcs11js.CKF_USER_PIN_FINAL_TRY),
    userPinLocked: has(pkcs11js.CKF_USER_PIN_LOCKED),
    userPinToBeChanged: has(pkcs11js.CKF_USER_PIN_TO_BE_CHANGED),
    writeProtected: has(pkcs11js.CKF_WRITE_PROTECTED),
    initialized: has(pkcs11js.CKF_TOKEN_INITIALIZED),
  };
}

/** Flags worth a word in a listing, in the order a person cares about them. */
export function flagWords(flags: TokenFlags): string[] {
  const words: string[] = [];
  if (flags.userPinLocked) words.push('PIN LOCKED');
  else if (flags.userPinFinalTry) words.push('PIN final try');
  else if (flags.userPinCountLow) words.push('PIN count low');
  if (flags.protectedAuthenticationPath) words.push('PIN pad');
  if (flags.loginRequired) words.push('login required');
  if (flags.userPinToBeChanged) words.push('PIN to be changed');
  if (!flags.initialized) words.push('not initialised');
  else if (!flags.userPinInitialized) words.push('user PIN not set');
  if (flags.writeProtected) words.push('write protected');
  return words;
}

export function describeToken(module: Pkcs11Module, slotId: number): TokenDescription {
  const info = module.ck.getTokenInfo(slotId);
  return {
    label: ckText(info.label),
    manufacturer: ckText(info.manufacturerID),
    model: ckText(info.model),
    serial: ckText(info.serialNumber),
    flags: tokenFlags(info.flags),
  };
}

/** Every slot of the module (with or without a token); a token that vanishes mid-listing is left out. */
export function describeSlots(module: Pkcs11Module, options: { tokenPresent?: boolean } = {}): SlotDescription[] {
  const slots: SlotDescription[] = [];
  for (const slotId of module.ck.getSlotList(options.tokenPresent ?? false)) {
    let info: pkcs11js.SlotInfo;
    try {
      info = module.ck.getSlotInfo(slotId);
    } catch {
      continue;
    }
    const slot: SlotDescription = {
      module: module.path,
      slotId,
      description: ckText(info.slotDescription),
      manufacturer: ckText(info.manufacturerID),
      removable: (info.flags & CKF_REMOVABLE_DEVICE) !== 0,
      hardware: (info.flags & CKF_HW_SLOT) !== 0,
      tokenPresent: (info.flags & CKF_TOKEN_PRESENT) !== 0,
    };
    if (slot.tokenPresent) {
      try {
        slot.token = describeToken(module, slotId);
      } catch {
        slot.tokenPresent = false;
      }
    }
    slots.push(slot);
  }
  return slots;
}

const KEY_TYPES: ReadonlyMap<number, string> = new Map([
  [pkcs11js.CKK_RSA, 'RSA'],
  [pkcs11js.CKK_EC, 'EC'],
  [pkcs11js.CKK_DSA, 'DSA'],
]);

export function keyTypeName(type: number): string {
  return KEY_TYPES.get(type) ?? `0x${type.toString(16)}`;
}

export function attrBuffer(value: unknown): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.alloc(0);
}

export function attrNumber(value: unknown): number {
  const buf = attrBuffer(value);
  if (buf.length >= 8) return Number(buf.readBigUInt64LE(0));
  if (buf.length >= 4) return buf.readUInt32LE(0);
  return buf.length > 0 ? buf[0] : 0;
}

export function certificateSummary(der: Buffer): CertificateSummary | undefined {
  try {
    const cert = new X509Certificate(der);
    const key = cert.publicKey;
    return {
      subject: commaDn(cert.subject),
      issuer: commaDn(cert.issuer),
      serial: cert.serialNumber.toLowerCase(),
      notAfter: new Date(cert.validTo).toISOString(),
      keyAlgorithm: (key.asymmetricKeyType ?? 'unknown').toUpperCase(),
      keyBits: key.asymmetricKeyDetails?.modulusLength,
      sha1: cert.fingerprint.replace(/:/g, '').toLowerCase(),
    };
  } catch {
    return undefined;
  }
}

/** node:crypto prints one attribute per line, in certificate order; a listing wants one line. */
function commaDn(lines: string): string {
  return lines.split('\n').filter((l) => l.length > 0).join(',');
}

interface FoundObject {
  handle: Handle;
  cls: number;
  id: Buffer;
  label: string;
}

function readObjects(module: Pkcs11Module, session: Handle, cls: number): FoundObject[] {
  const ck = module.ck;
  return ck.findObjects(session, [{ type: pkcs11js.CKA_CLASS, value: cls }]).map((handle) => {
    const [id, label] = ck.getAttributes(session, handle, [pkcs11js.CKA_ID, pkcs11js.CKA_LABEL]);
    return { handle, cls, id: attrBuffer(id.value), label: attrBuffer(label.value).toString('utf8') };
  });
}

/**
 * Certificates and keys visible in `session`, paired by CKA_ID. Without a login, private keys are usually
 * hidden (CKA_PRIVATE): their presence is then `null`, "unknown", rather than a false "no key".
 */
export function listObjectPairs(module: Pkcs11Module, session: Handle, loggedIn: boolean): ObjectPair[] {
  const ck = module.ck;
  const certs = readObjects(module, session, pkcs11js.CKO_CERTIFICATE);
  const publics = readObjects(module, session, pkcs11js.CKO_PUBLIC_KEY);
  const privates = readObjects(module, session, pkcs11js.CKO_PRIVATE_KEY);
  const pairs = new Map<string, ObjectPair>();
  const pairFor = (obj: FoundObject): ObjectPair => {
    const key = obj.id.toString('hex');
    let pair = pairs.get(key);
    if (!pair) {
      pair = { id: key, label: obj.label, privateKey: loggedIn ? false : null, publicKey: false };
      pairs.set(key, pair);
    }
    if (!pair.label) pair.label = obj.label;
    return pair;
  };
  for (const cert of certs) {
    const [value] = ck.getAttributes(session, cert.handle, [pkcs11js.CKA_VALUE]);
    const pair = pairFor(cert);
    pair.label = cert.label || pair.label;
    pair.certificate = certificateSummary(attrBuffer(value.value));
    if (pair.certificate) {
      pair.keyType = pair.certificate.keyAlgorithm;
      pair.keyBits = pair.certificate.keyBits;
    }
  }
  for (const key of [...privates, ...publics]) {
    const pair = pairFor(key);
    if (key.cls === pkcs11js.CKO_PRIVATE_KEY) pair.privateKey = true;
    else pair.publicKey = true;
    if (!pair.keyType) {
      try {
        const [type] = ck.getAttributes(session, key.handle, [pkcs11js.CKA_KEY_TYPE]);
        pair.keyType = keyTypeName(attrNumber(type.value));
      } catch {
        /* an attribute the token will not reveal */
      }
    }
    if (pair.keyBits === undefined && pair.keyType === 'RSA') {
      try {
        const [modulus] = ck.getAttributes(session, key.handle, [pkcs11js.CKA_MODULUS]);
        pair.keyBits = modulusBits(attrBuffer(modulus.value));
      } catch {
        /* sensitive on some tokens */
      }
    }
  }
  return [...pairs.values()].sort((a, b) => a.id.localeCompare(b.id));
}

export function modulusBits(modulus: Buffer): number {
  let i = 0;
  while (i < modulus.length && modulus[i] === 0) i += 1;
  if (i === modulus.length) return 0;
  return (modulus.length - i - 1) * 8 + (32 - Math.clz32(modulus[i]));
}
