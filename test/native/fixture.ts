import { createHash, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pkcs11js from 'pkcs11js';
import { isolatedModuleCopy, testp11Path, writeControl } from '../helpers/testp11';

export const SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so';

export interface FixtureToken {
  readonly label: string;
  readonly slot: Buffer;
  readonly slotId: number;
  readonly serial: string;
  readonly keyLabel: string;
  readonly keyId: Buffer;
  readonly publicKey: KeyObject;
}

/**
 * Fresh SoftHSM tokens in a temp folder, each with an RSA-2048 key pair generated on the token, made through
 * pkcs11js (no PIN on any command line), on private copies of SoftHSM and of the test module so that nothing
 * else in this mocha process shares their state. The tokens stay logged in (a session per token holds it), as
 * the pipeline's own login would be when the native core opens its sessions.
 */
export class NativeFixture {
  readonly pin = randomBytes(8).toString('hex');
  readonly softhsm = new pkcs11js.PKCS11();
  readonly tokens: FixtureToken[] = [];
  readonly control: string;
  readonly softhsmPath: string;
  readonly testp11Path: string;
  private readonly loginSessions = new Map<string, Buffer>();
  private readonly savedEnv: Record<string, string | undefined> = {};

  private constructor(readonly dir: string) {
    this.control = path.join(dir, 'testp11.control');
    this.softhsmPath = isolatedModuleCopy(SOFTHSM, dir);
    this.testp11Path = isolatedModuleCopy(testp11Path(), dir);
  }

  static create(labels: readonly string[]): NativeFixture {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-native-'));
    const fx = new NativeFixture(dir);
    fs.mkdirSync(path.join(dir, 'tokens'));
    const conf = path.join(dir, 'softhsm2.conf');
    fs.writeFileSync(conf, `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    fx.setEnv('SOFTHSM2_CONF', conf);
    fx.setEnv('OPENCTL_TESTP11_TARGET', fx.softhsmPath);
    fx.setEnv('OPENCTL_TESTP11_CONTROL', fx.control);
    writeControl(fx.control, {});
    fx.softhsm.load(fx.softhsmPath);
    fx.softhsm.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    for (const label of labels) fx.tokens.push(fx.makeToken(label));
    return fx;
  }

  token(label: string): FixtureToken {
    const t = this.tokens.find((x) => x.label === label);
    if (!t) throw new Error(`no fixture token ${label}`);
    return t;
  }

  /** Logs the application in again (after a simulated removal closed every session). */
  relogin(label: string): void {
    const t = this.token(label);
    const session = this.softhsm.C_OpenSession(t.slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      this.softhsm.C_Login(session, pkcs11js.CKU_USER, this.pin);
    } catch (err) {
      if (!(err instanceof Error && err.message === 'CKR_USER_ALREADY_LOGGED_IN')) throw err;
    }
    this.loginSessions.set(label, session);
  }

  logout(label: string): void {
    const session = this.loginSessions.get(label);
    if (!session) return;
    this.softhsm.C_Logout(session);
    this.softhsm.C_CloseSession(session);
    this.loginSessions.delete(label);
  }

  dispose(): void {
    try {
      this.softhsm.C_Finalize();
    } catch {
      /* already finalised by a test */
    }
    for (const [key, value] of Object.entries(this.savedEnv)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private setEnv(key: string, value: string): void {
    if (!(key in this.savedEnv)) this.savedEnv[key] = process.env[key];
    process.env[key] = value;
  }

  private makeToken(label: string): FixtureToken {
    const lib = this.softhsm;
    const free = lib
      .C_GetSlotList(false)
      .find((s) => (lib.C_GetTokenInfo(s).flags & pkcs11js.CKF_TOKEN_INITIALIZED) === 0);
    if (!free) throw new Error('SoftHSM offers no free slot');
    const soPin = randomBytes(8).toString('hex');
    lib.C_InitToken(free, soPin, label.padEnd(32));
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === label);
    if (!slot) throw new Error(`token ${label} not found after C_InitToken`);
    const so = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    lib.C_Login(so, pkcs11js.CKU_SO, soPin);
    lib.C_InitPIN(so, this.pin);
    lib.C_Logout(so);
    lib.C_CloseSession(so);

    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    lib.C_Login(session, pkcs11js.CKU_USER, this.pin);
    const keyLabel = `${label}-key`;
    const keyId = randomBytes(4);
    const common = [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: keyLabel },
      { type: pkcs11js.CKA_ID, value: keyId },
    ];
    const keys = lib.C_GenerateKeyPair(
      session,
      { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
      [...common, { type: pkcs11js.CKA_VERIFY, value: true }, { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 },
        { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }],
      [...common, { type: pkcs11js.CKA_SIGN, value: true }, { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true }],
    );
    const [n, e] = lib.C_GetAttributeValue(session, keys.publicKey, [
      { type: pkcs11js.CKA_MODULUS },
      { type: pkcs11js.CKA_PUBLIC_EXPONENT },
    ]);
    const publicKey = createPublicKey({
      key: { kty: 'RSA', n: (n.value as Buffer).toString('base64url'), e: (e.value as Buffer).toString('base64url') },
      format: 'jwk',
    });
    this.loginSessions.set(label, session);
    const info = lib.C_GetTokenInfo(slot);
    return { label, slot, slotId: Number(slot.readBigUInt64LE(0)), serial: info.serialNumber.trim(), keyLabel, keyId, publicKey };
  }
}

/** SHA-256 DigestInfo prefix (RFC 8017, 9.2 note 1). */
const SHA256_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

export function sha256DigestInfo(data: Buffer): Buffer {
  return Buffer.concat([SHA256_PREFIX, createHash('sha256').update(data).digest()]);
}

/** RSA PKCS#1 v1.5 over SHA-256, checked by node's own implementation. */
export function verifies(publicKey: KeyObject, data: Buffer, signature: Uint8Array): boolean {
  return verify('sha256', data, publicKey, signature);
}

/** pkcs11js errors carry the CK_RV name as their message. */
export function ckrOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
