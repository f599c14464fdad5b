import * as path from 'node:path';
import * as pkcs11js from 'pkcs11js';
import { CryptokiError, mechanismName, rvName, rvOf } from './errors';
import { loginOnPinPad } from './pad-login';
import { traceCall } from './trace';

export type Handle = Buffer;
export type Template = pkcs11js.Template;

/** CK_ULONG is 32 bits on Windows (LLP64) and 64 bits on 64-bit Unix: slot handles follow it. */
const ULONG_BYTES = process.platform === 'win32' ? 4 : 8;

export function slotNumber(handle: Handle): number {
  return handle.length >= 8 ? Number(handle.readBigUInt64LE(0)) : handle.readUInt32LE(0);
}

export function slotHandle(id: number): Handle {
  const buf = Buffer.alloc(ULONG_BYTES);
  if (ULONG_BYTES === 8) buf.writeBigUInt64LE(BigInt(id));
  else buf.writeUInt32LE(id);
  return buf;
}

/** PKCS#11 fixed-width text fields are blank padded (SoftHSM pads labels set through pkcs11js with NULs). */
export function ckText(value: string): string {
  return value.replace(/[\s\0]+$/u, '');
}

/**
 * One loaded PKCS#11 library, every call traced (function, slot, return value; never an argument) and every
 * failure turned into a CryptokiError carrying the CK_RV. Only the calls openctl makes are exposed.
 */
export class Cryptoki {
  private readonly lib = new pkcs11js.PKCS11();
  private readonly sessionSlots = new Map<string, number>();
  readonly name: string;

  constructor(readonly modulePath: string) {
    this.name = path.basename(modulePath);
  }

  /** dlopen; throws the loader's message (not a CK_RV) when the file is missing or not a PKCS#11 library. */
  load(): void {
    const started = performance.now();
    try {
      this.lib.load(this.modulePath);
      traceCall(this.name, 'C_GetFunctionList', undefined, 'CKR_OK', performance.now() - started);
    } catch (err) {
      traceCall(this.name, 'load', undefined, 'failed', performance.now() - started);
      throw err;
    }
  }

  unload(): void {
    this.lib.close();
  }

  private call<T>(fn: string, slotId: number | undefined, thunk: () => T, detail?: string): T {
    const started = performance.now();
    try {
      const result = thunk();
      traceCall(this.name, fn, slotId, 'CKR_OK', performance.now() - started, detail);
      return result;
    } catch (err) {
      throw this.failure(fn, slotId, err, started, detail);
    }
  }

  private async callAsync<T>(fn: string, slotId: number | undefined, thunk: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await thunk();
      traceCall(this.name, fn, slotId, 'CKR_OK', performance.now() - started);
      return result;
    } catch (err) {
      throw this.failure(fn, slotId, err, started);
    }
  }

  private failure(fn: string, slotId: number | undefined, err: unknown, started: number, detail?: string): unknown {
    const rv = rvOf(err);
    const wrapped = rv === undefined ? err : new CryptokiError(fn, rv);
    const outcome = rv === undefined ? `error (${(err as Error).message.split('\n')[0]})` : (wrapped as CryptokiError).rvName;
    traceCall(this.name, fn, slotId, outcome, performance.now() - started, detail);
    return wrapped;
  }

  private slotOfSession(session: Handle): number | undefined {
    return this.sessionSlots.get(session.toString('hex'));
  }

  initialize(): void {
    this.call('C_Initialize', undefined, () => this.lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK }));
  }

  finalize(): void {
    this.sessionSlots.clear();
    this.call('C_Finalize', undefined, () => this.lib.C_Finalize());
  }

  getInfo(): pkcs11js.ModuleInfo {
    return this.call('C_GetInfo', undefined, () => this.lib.C_GetInfo());
  }

  getSlotList(tokenPresent: boolean): number[] {
    return this.call('C_GetSlotList', undefined, () => this.lib.C_GetSlotList(tokenPresent)).map(slotNumber);
  }

  getSlotInfo(slotId: number): pkcs11js.SlotInfo {
    return this.call('C_GetSlotInfo', slotId, () => this.lib.C_GetSlotInfo(slotHandle(slotId)));
  }

  getTokenInfo(slotId: number): pkcs11js.TokenInfo {
    return this.call('C_GetTokenInfo', slotId, () => this.lib.C_GetTokenInfo(slotHandle(slotId)));
  }

  getMechanismList(slotId: number): number[] {
    return this.call('C_GetMechanismList', slotId, () => this.lib.C_GetMechanismList(slotHandle(slotId)));
  }

  getMechanismInfo(slotId: number, mechanism: number): pkcs11js.MechanismInfo {
    return this.call('C_GetMechanismInfo', slotId, () => this.lib.C_GetMechanismInfo(slotHandle(slotId), mechanism));
  }

  openSession(slotId: number, readWrite = false): Handle {
    const flags = pkcs11js.CKF_SERIAL_SESSION | (readWrite ? pkcs11js.CKF_RW_SESSION : 0);
    const session = this.call('C_OpenSession', slotId, () => this.lib.C_OpenSession(slotHandle(slotId), flags));
    this.sessionSlots.set(session.toString('hex'), slotId);
    return session;
  }

  closeSession(session: Handle): void {
    const slotId = this.slotOfSession(session);
    this.sessionSlots.delete(session.toString('hex'));
    this.call('C_CloseSession', slotId, () => this.lib.C_CloseSession(session));
  }

  closeAllSessions(slotId: number): void {
    for (const [key, slot] of this.sessionSlots) if (slot === slotId) this.sessionSlots.delete(key);
    this.call('C_CloseAllSessions', slotId, () => this.lib.C_CloseAllSessions(slotHandle(slotId)));
  }

  getSessionInfo(session: Handle): pkcs11js.SessionInfo {
    return this.call('C_GetSessionInfo', this.slotOfSession(session), () => this.lib.C_GetSessionInfo(session));
  }

  login(session: Handle, userType: number, pin: string): void {
    this.call('C_Login', this.slotOfSession(session), () => this.lib.C_Login(session, userType, pin));
  }

  /** C_Login with the PIN typed on the reader's pad, waited for in a worker thread. */
  async loginOnPad(session: Handle, userType: number): Promise<void> {
    const slotId = this.slotOfSession(session);
    const started = performance.now();
    const rv = await loginOnPinPad(this.modulePath, session, userType);
    traceCall(this.name, 'C_Login', slotId, rvName(rv), performance.now() - started, '(PIN pad)');
    if (rv !== 0) throw new CryptokiError('C_Login', rv);
  }

  logout(session: Handle): void {
    this.call('C_Logout', this.slotOfSession(session), () => this.lib.C_Logout(session));
  }

  initToken(slotId: number, soPin: string, label: string): void {
    // Fixed-width, blank-padded field: pkcs11js would pad a short label with NULs.
    const padded = Buffer.alloc(32, ' ');
    padded.write(label, 'utf8');
    this.call('C_InitToken', slotId, () => this.lib.C_InitToken(slotHandle(slotId), soPin, padded.toString('utf8')));
  }

  initPin(session: Handle, pin: string): void {
    this.call('C_InitPIN', this.slotOfSession(session), () => this.lib.C_InitPIN(session, pin));
  }

  findObjects(session: Handle, template: Template, max = 1000): Handle[] {
    const slotId = this.slotOfSession(session);
    this.call('C_FindObjectsInit', slotId, () => this.lib.C_FindObjectsInit(session, template));
    try {
      const found: Handle[] = [];
      for (;;) {
        const batch = this.call('C_FindObjects', slotId, () => this.lib.C_FindObjects(session, 64));
        found.push(...batch);
        if (batch.length < 64 || found.length >= max) return found;
      }
    } finally {
      this.call('C_FindObjectsFinal', slotId, () => this.lib.C_FindObjectsFinal(session));
    }
  }

  getAttributes(session: Handle, object: Handle, types: number[]): pkcs11js.Attribute[] {
    return this.call('C_GetAttributeValue', this.slotOfSession(session), () =>
      this.lib.C_GetAttributeValue(session, object, types.map((type) => ({ type }))),
    );
  }

  destroyObject(session: Handle, object: Handle): void {
    this.call('C_DestroyObject', this.slotOfSession(session), () => this.lib.C_DestroyObject(session, object));
  }

  createObject(session: Handle, template: Template): Handle {
    return this.call('C_CreateObject', this.slotOfSession(session), () => this.lib.C_CreateObject(session, template));
  }

  generateKeyPair(session: Handle, mechanism: number, publicTemplate: Template, privateTemplate: Template): pkcs11js.KeyPair {
    return this.call('C_GenerateKeyPair', this.slotOfSession(session), () =>
      this.lib.C_GenerateKeyPair(session, { mechanism }, publicTemplate, privateTemplate),
    );
  }

  async generateKeyPairAsync(
    session: Handle,
    mechanism: number,
    publicTemplate: Template,
    privateTemplate: Template,
  ): Promise<pkcs11js.KeyPair> {
    return this.callAsync('C_GenerateKeyPair', this.slotOfSession(session), () =>
      this.lib.C_GenerateKeyPairAsync(session, { mechanism }, publicTemplate, privateTemplate),
    );
  }

  signInit(session: Handle, mechanism: number, key: Handle): void {
    this.call('C_SignInit', this.slotOfSession(session), () => this.lib.C_SignInit(session, { mechanism }, key), mechanismName(mechanism));
  }

  /** C_Sign on libuv's thread pool: a slow token never blocks the event loop. */
  async sign(session: Handle, data: Buffer, maxLength: number): Promise<Buffer> {
    return this.callAsync('C_Sign', this.slotOfSession(session), () =>
      this.lib.C_SignAsync(session, data, Buffer.alloc(maxLength)),
    );
  }
}
