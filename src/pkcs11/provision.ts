import { createPublicKey, generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as PeculiarX509 from '@peculiar/x509';
import * as pkcs11js from 'pkcs11js';
import { digest, digestInfo } from '../crypto/hash';
import { OpenctlError, TokenError } from '../util/errors';
import type { Handle, Template } from './cryptoki';
import { ckText } from './cryptoki';
import { acquireModule, loadedModules, releaseModule, type Pkcs11Module } from './registry';
import { realPath } from './resolve';
import { attrBuffer } from './tokens';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
/** Demo tokens only: documented, and never to be used on a real token. */
export const DEMO_PIN = '1234';
export const DEMO_SO_PIN = '12345678';
export const DEMO_TOKENS: ReadonlyArray<{ label: string; keyBits: number; subject: string }> = [
  { label: 'eToken-A', keyBits: 2048, subject: 'CN=SAST-eToken-A,OU=IPCBU,O=openctl demo,C=US' },
  { label: 'eToken-B', keyBits: 2048, subject: 'CN=SAST-eToken-B,OU=IPCBU,O=openctl demo,C=US' },
];

/**
 * The demo tokens' one home, shared by `npm run tokens:demo` and the GUI's "Use demo tokens": `OPENCTL_DATA_DIR/softhsm`
 * when that is set (as for the GUI's data), else the user's data folder (XDG_DATA_HOME, Application Support,
 * LOCALAPPDATA). Both make the same tokens there and leave existing ones alone, so either finds the other's.
 */
export function defaultDemoDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.OPENCTL_DATA_DIR) return path.join(env.OPENCTL_DATA_DIR, 'softhsm');
  const home = env.HOME ?? os.homedir();
  let data: string;
  if (platform === 'win32') data = env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local');
  else if (platform === 'darwin') data = path.join(home, 'Library', 'Application Support');
  else data = env.XDG_DATA_HOME || path.join(home, '.local', 'share');
  return path.join(data, 'openctl', 'softhsm');
}

export interface ProvisionKey {
  /** CKA_ID as hex; default 01, 02... in order. */
  id?: string;
  /** CKA_LABEL of the certificate and both keys; default `SAST` for the first key, `SAST-<n>` after. */
  label?: string;
  type?: 'rsa' | 'ec';
  keyBits?: number;
  /** Certificate subject; default `CN=SAST-<token label>,OU=IPCBU,O=openctl demo,C=US`. */
  subject?: string;
  /** Store a certificate (default true); false leaves a key without certificate. */
  certificate?: boolean;
  /** Keep the private key (default true); false leaves a certificate without key. */
  privateKey?: boolean;
}

export interface ProvisionToken {
  label: string;
  /** One RSA key of this size when `keys` is not given (default 2048). */
  keyBits?: number;
  subject?: string;
  keys?: ProvisionKey[];
}

export interface ProvisionOptions {
  dir: string;
  tokens: ProvisionToken[];
  pin: string;
  soPin: string;
  /** SoftHSM's library (default /usr/lib/softhsm/libsofthsm2.so). */
  modulePath?: string;
  /** SoftHSM's `slots.mechanisms`: ALL (default) or the allowed ones, e.g. `CKM_RSA_X_509,CKM_SHA256_RSA_PKCS`. */
  mechanisms?: string;
}

export interface ProvisionedKey {
  id: string;
  label: string;
  keyBits: number;
  certificate?: Buffer;
}

export interface ProvisionedToken {
  label: string;
  serial: string;
  /** False when a token with this label was already there and left untouched. */
  created: boolean;
  keys: ProvisionedKey[];
}

export interface Provisioned {
  /** The softhsm2.conf to point SOFTHSM2_CONF at. */
  conf: string;
  modulePath: string;
  tokens: ProvisionedToken[];
}

/** The softhsm2.conf for a token folder (same shape as softhsm-config/softhsm2.conf.template). */
export function softhsmConf(tokenDir: string, mechanisms = 'ALL'): string {
  return [
    '# SoftHSM v2 configuration written by openctl (demo/test tokens).',
    `directories.tokendir = ${tokenDir}`,
    'objectstore.backend = file',
    'log.level = ERROR',
    '# Fixed slots: the watcher re-initialises modules without removable slots to see new tokens.',
    'slots.removable = false',
    `slots.mechanisms = ${mechanisms}`,
    '',
  ].join('\n');
}

/**
 * Create SoftHSM tokens through the PKCS#11 API itself (C_InitToken, C_InitPIN: no PIN on a command line),
 * each key pair generated on the token, each certificate made with @peculiar/x509 and signed by the token
 * key, stored under the key's CKA_ID. A token whose label already exists is left as it is.
 */
export async function provisionTokens(options: ProvisionOptions): Promise<Provisioned> {
  const modulePath = options.modulePath ?? SOFTHSM_MODULE;
  const real = realPath(modulePath);
  if (!real) throw new TokenError(`${modulePath}: SoftHSM not found (install softhsm2)`);
  if (loadedModules().some((m) => m.key === real)) {
    throw new OpenctlError(`${modulePath} is in use in this process; provision tokens before opening it`);
  }
  const dir = path.resolve(options.dir);
  const tokenDir = path.join(dir, 'tokens');
  fs.mkdirSync(tokenDir, { recursive: true, mode: 0o700 });
  const conf = path.join(dir, 'softhsm2.conf');
  // Certificates are signed with CKM_RSA_PKCS, so tokens are made with every mechanism; a restricted
  // `slots.mechanisms` is written afterwards and applies from the next C_Initialize.
  fs.writeFileSync(conf, softhsmConf(tokenDir));

  // SoftHSM reads SOFTHSM2_CONF in C_Initialize: point it at our folder only for as long as we use it.
  const previous = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  let module: Pkcs11Module | undefined;
  try {
    module = acquireModule(modulePath);
    const tokens: ProvisionedToken[] = [];
    for (const spec of options.tokens) tokens.push(await provisionToken(module, spec, options));
    if (options.mechanisms) fs.writeFileSync(conf, softhsmConf(tokenDir, options.mechanisms));
    return { conf, modulePath, tokens };
  } finally {
    if (module) releaseModule(module);
    if (previous === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = previous;
  }
}

/** The SoftHSM configuration of the demo tokens in `dir` (what SOFTHSM2_CONF must name to see them). */
export function demoConf(dir: string): string {
  return path.join(dir, 'softhsm2.conf');
}

/**
 * How to use the demo tokens from the command line, printed by `npm run tokens:demo` and shown by the GUI, so
 * that tokens made by either are used from the other with the same words.
 */
export function demoCliUsage(dir: string, modulePath: string = SOFTHSM_MODULE): string[] {
  return [
    `export SOFTHSM2_CONF=${demoConf(dir)}`,
    `openctl tokens --module ${modulePath}`,
    `OPENCTL_PIN=${DEMO_PIN} openctl ctl build --out CTLFile.tlv --signer pkcs11:token=eToken-A --sast pkcs11:token=eToken-B --ccm-tftp CCM.pem`,
  ];
}

/** How to reach the same tokens in the desktop app (no SOFTHSM2_CONF needed there: it sets it itself). */
export const DEMO_GUI_USAGE =
  'In the desktop app (npm start, or openctl gui): Tokens > Use demo tokens uses these same tokens (same folder; it sets SOFTHSM2_CONF itself).';

/** `npm run tokens:demo` and the GUI: eToken-A and eToken-B, each an RSA-2048 key and a self-signed SAST certificate. */
export async function provisionDemoTokens(options: {
  dir: string;
  tokens?: ReadonlyArray<{ label: string; keyBits: number; subject: string }>;
  pin?: string;
  soPin?: string;
}): Promise<Provisioned> {
  return provisionTokens({
    dir: options.dir,
    tokens: (options.tokens ?? DEMO_TOKENS).map((t) => ({ label: t.label, keyBits: t.keyBits, subject: t.subject })),
    pin: options.pin ?? DEMO_PIN,
    soPin: options.soPin ?? DEMO_SO_PIN,
  });
}

function findSlotByLabel(module: Pkcs11Module, label: string): number | undefined {
  return module.ck.getSlotList(true).find((slot) => ckText(module.ck.getTokenInfo(slot).label) === label);
}

async function provisionToken(module: Pkcs11Module, spec: ProvisionToken, options: ProvisionOptions): Promise<ProvisionedToken> {
  const ck = module.ck;
  const existing = findSlotByLabel(module, spec.label);
  if (existing !== undefined) {
    return { label: spec.label, serial: ckText(ck.getTokenInfo(existing).serialNumber), created: false, keys: [] };
  }
  const free = ck.getSlotList(true).find((slot) => (ck.getTokenInfo(slot).flags & pkcs11js.CKF_TOKEN_INITIALIZED) === 0);
  if (free === undefined) throw new TokenError(`${module.path}: no free slot for a new token`);
  ck.initToken(free, options.soPin, spec.label);
  const slot = findSlotByLabel(module, spec.label);
  if (slot === undefined) throw new TokenError(`${module.path}: token ${spec.label} vanished after C_InitToken`);

  const session = ck.openSession(slot, true);
  try {
    ck.login(session, pkcs11js.CKU_SO, options.soPin);
    ck.initPin(session, options.pin);
    ck.logout(session);
    ck.login(session, pkcs11js.CKU_USER, options.pin);
    const keys = spec.keys ?? [{ keyBits: spec.keyBits ?? 2048, subject: spec.subject }];
    const made: ProvisionedKey[] = [];
    for (const [index, key] of keys.entries()) made.push(await provisionKey(module, session, spec, key, index));
    ck.logout(session);
    return { label: spec.label, serial: ckText(ck.getTokenInfo(slot).serialNumber), created: true, keys: made };
  } finally {
    ck.closeSession(session);
  }
}

async function provisionKey(
  module: Pkcs11Module,
  session: Handle,
  token: ProvisionToken,
  spec: ProvisionKey,
  index: number,
): Promise<ProvisionedKey> {
  const ck = module.ck;
  const id = Buffer.from(spec.id ?? (index + 1).toString(16).padStart(2, '0'), 'hex');
  const label = spec.label ?? (index === 0 ? 'SAST' : `SAST-${index + 1}`);
  const subject = spec.subject ?? token.subject ?? `CN=SAST-${token.label},OU=IPCBU,O=openctl demo,C=US`;
  const common: Template = [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_ID, value: id },
    { type: pkcs11js.CKA_LABEL, value: label },
  ];
  let pair: pkcs11js.KeyPair;
  let spki: Buffer;
  let keyBits: number;
  if (spec.type === 'ec') {
    const p256 = Buffer.from('06082a8648ce3d030107', 'hex');
    pair = await ck.generateKeyPairAsync(
      session,
      pkcs11js.CKM_EC_KEY_PAIR_GEN,
      [...common, { type: pkcs11js.CKA_VERIFY, value: true }, { type: pkcs11js.CKA_EC_PARAMS, value: p256 }],
      [...common, { type: pkcs11js.CKA_SIGN, value: true }, { type: pkcs11js.CKA_PRIVATE, value: true }, { type: pkcs11js.CKA_SENSITIVE, value: true }],
    );
    // An EC key cannot sign a Cisco file: its certificate only needs to exist, so any issuer key signs it.
    keyBits = 256;
    spki = Buffer.alloc(0);
  } else {
    keyBits = spec.keyBits ?? 2048;
    pair = await ck.generateKeyPairAsync(
      session,
      pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN,
      [
        ...common,
        { type: pkcs11js.CKA_VERIFY, value: true },
        { type: pkcs11js.CKA_MODULUS_BITS, value: keyBits },
        { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ],
      [
        ...common,
        { type: pkcs11js.CKA_SIGN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      ],
    );
    const [n, e] = ck.getAttributes(session, pair.publicKey, [pkcs11js.CKA_MODULUS, pkcs11js.CKA_PUBLIC_EXPONENT]);
    spki = createPublicKey({
      key: { kty: 'RSA', n: attrBuffer(n.value).toString('base64url'), e: attrBuffer(e.value).toString('base64url') },
      format: 'jwk',
    }).export({ format: 'der', type: 'spki' });
  }

  let certificate: Buffer | undefined;
  if (spec.certificate !== false) {
    certificate =
      spec.type === 'ec'
        ? await selfSignedWithHostKey(ecSpki(ck, session, pair.publicKey), subject)
        : await selfSignedOnToken(module, session, pair.privateKey, spki, subject);
    const x509 = loadX509();
    const parsed = new x509.X509Certificate(certificate);
    ck.createObject(session, [
      ...common,
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
      { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
      { type: pkcs11js.CKA_PRIVATE, value: false },
      { type: pkcs11js.CKA_SUBJECT, value: Buffer.from(parsed.subjectName.toArrayBuffer()) },
      { type: pkcs11js.CKA_ISSUER, value: Buffer.from(parsed.issuerName.toArrayBuffer()) },
      { type: pkcs11js.CKA_SERIAL_NUMBER, value: derInteger(Buffer.from(parsed.serialNumber, 'hex')) },
      { type: pkcs11js.CKA_VALUE, value: certificate },
    ]);
  }
  if (spec.privateKey === false) {
    module.ck.destroyObject(session, pair.privateKey);
  }
  return { id: id.toString('hex'), label, keyBits, certificate };
}

type X509Module = typeof PeculiarX509;
type X509Crypto = NonNullable<Parameters<X509Module['X509CertificateGenerator']['create']>[1]>;
type SigningKey = webcrypto.CryptoKey;
let x509Module: X509Module | undefined;

function loadX509(): X509Module {
  if (!x509Module) {
    require('reflect-metadata');
    x509Module = require('@peculiar/x509') as X509Module;
  }
  return x509Module;
}

function certificateExtensions(x509: X509Module, spki: Buffer): Promise<PeculiarX509.Extension[]> {
  return x509.SubjectKeyIdentifierExtension.create(spki, false, webcrypto as unknown as X509Crypto).then((ski) => [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
    ski,
  ]);
}

/** A self-signed certificate whose TBS is signed by the token key: SHA-256 on the host, C_Sign of the DigestInfo. */
async function selfSignedOnToken(module: Pkcs11Module, session: Handle, privateKey: Handle, spki: Buffer, subject: string): Promise<Buffer> {
  const x509 = loadX509();
  const tokenCrypto = {
    getRandomValues: <T extends ArrayBufferView | null>(array: T): T => webcrypto.getRandomValues(array as never) as T,
    subtle: {
      digest: (algorithm: webcrypto.AlgorithmIdentifier, data: ArrayBuffer | ArrayBufferView) =>
        webcrypto.subtle.digest(algorithm, data),
      exportKey: (format: 'spki', key: SigningKey) => webcrypto.subtle.exportKey(format, key),
      sign: async (_algorithm: unknown, _key: unknown, data: ArrayBuffer | ArrayBufferView): Promise<ArrayBuffer> => {
        const bytes = ArrayBuffer.isView(data)
          ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
          : Buffer.from(data);
        module.ck.signInit(session, pkcs11js.CKM_RSA_PKCS, privateKey);
        const signature = await module.ck.sign(session, digestInfo('sha256', digest('sha256', bytes)), 1024);
        return new Uint8Array(signature).buffer;
      },
    },
  } as unknown as X509Crypto;
  const signingKey = {
    algorithm: { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } },
    type: 'private',
    extractable: false,
    usages: ['sign'],
  } as unknown as SigningKey;
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: positiveSerial(),
      subject,
      issuer: subject,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 10 * 365 * 24 * 3600 * 1000),
      publicKey: spki,
      signingKey,
      extensions: await certificateExtensions(x509, spki),
    },
    tokenCrypto,
  );
  return Buffer.from(cert.rawData);
}

function ecSpki(ck: Pkcs11Module['ck'], session: Handle, publicKey: Handle): Buffer {
  const [point] = ck.getAttributes(session, publicKey, [pkcs11js.CKA_EC_POINT]);
  // CKA_EC_POINT is a DER OCTET STRING around the uncompressed point 04||X||Y.
  const raw = attrBuffer(point.value);
  const q = raw[0] === 0x04 && raw.length === raw[1] + 2 ? raw.subarray(2) : raw;
  const half = (q.length - 1) / 2;
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: q.subarray(1, 1 + half).toString('base64url'), y: q.subarray(1 + half).toString('base64url') },
    format: 'jwk',
  }).export({ format: 'der', type: 'spki' });
}

/** A certificate for `spki` signed by a throwaway host RSA key (test objects that must never sign). */
async function selfSignedWithHostKey(spki: Buffer, subject: string): Promise<Buffer> {
  const x509 = loadX509();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    privateKey.export({ format: 'der', type: 'pkcs8' }),
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const cert = await x509.X509CertificateGenerator.create(
    { serialNumber: positiveSerial(), subject, issuer: 'CN=openctl test issuer', publicKey: spki, signingKey },
    webcrypto as unknown as X509Crypto,
  );
  return Buffer.from(cert.rawData);
}

function positiveSerial(): string {
  const serial = randomBytes(12);
  serial[0] &= 0x7f;
  serial[0] |= 0x01;
  return serial.toString('hex');
}

function derInteger(value: Buffer): Buffer {
  const body = value[0] & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value;
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}
