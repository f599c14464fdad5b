import { TokenError } from '../util/errors';
import { ckText, type Handle } from './cryptoki';
import type { Pkcs11Module } from './registry';
import { CryptokiError, GONE_RVS, isRv } from './errors';

/** Sessions signing at once on one token: libuv's default thread pool size; a USB token serialises anyway. */
const MAX_SIGNING_SESSIONS = 4;
/** CK_UNAVAILABLE_INFORMATION as pkcs11js reads it from a 64-bit CK_ULONG. */
const UNAVAILABLE = 2 ** 32 - 1;

/**
 * What this process holds on one token, shared by every signer and worker using it: the login (PKCS#11 logs
 * in the application, not a session, so one login serves all), an anchor session that keeps that login alive,
 * a small pool of signing sessions (one operation per session at a time) and cached object handles (a
 * C_FindObjects per signature is slow on tokens with many objects).
 */
export class TokenState {
  users = 0;
  closed = false;
  loggedIn = false;
  /** A login in progress, so that concurrent users wait for it instead of sending the PIN twice. */
  loginInFlight?: Promise<void>;
  /** `mechanism/hash` pairs the token has refused once: not asked again. */
  readonly refused = new Set<string>();
  private anchor?: Handle;
  private readonly idle: Handle[] = [];
  private readonly busySessions = new Set<Handle>();
  private readonly waiting: Array<(session: Handle) => void> = [];
  private readonly objects = new Map<string, Handle>();
  private mechanismSet?: ReadonlySet<number>;
  private poolLimit?: number;

  constructor(
    readonly module: Pkcs11Module,
    readonly slotId: number,
    readonly label: string,
    readonly serial: string,
    private readonly onClose: () => void,
  ) {}

  get ck() {
    return this.module.ck;
  }

  retain(): this {
    this.users += 1;
    return this;
  }

  /** The last user closes the sessions, and with them the login. */
  release(): void {
    this.users -= 1;
    if (this.users <= 0) this.close();
  }

  /** The session that lives as long as the token is in use: logins and object searches go through it. */
  session(): Handle {
    if (this.closed) throw new TokenError(`token ${this.label} was removed or closed; start again`);
    this.anchor ??= this.ck.openSession(this.slotId);
    return this.anchor;
  }

  mechanisms(): ReadonlySet<number> {
    this.mechanismSet ??= new Set(this.ck.getMechanismList(this.slotId));
    return this.mechanismSet;
  }

  /** A cached object handle, found once with `find`. */
  object(key: string, find: () => Handle | undefined): Handle | undefined {
    const cached = this.objects.get(key);
    if (cached) return cached;
    const found = find();
    if (found) this.objects.set(key, found);
    return found;
  }

  forgetObjects(): void {
    this.objects.clear();
  }

  /** Run one operation on a pooled session; sessions the module declared dead are not reused. */
  async withSession<T>(fn: (session: Handle) => Promise<T>): Promise<T> {
    const session = await this.takeSession();
    let reusable = true;
    try {
      return await fn(session);
    } catch (err) {
      if (isRv(err, ...GONE_RVS)) reusable = false;
      throw err;
    } finally {
      this.busySessions.delete(session);
      if (!reusable || this.closed) this.closeQuietly(session);
      else this.giveBack(session);
    }
  }

  private async takeSession(): Promise<Handle> {
    if (this.closed) throw new TokenError(`token ${this.label} was removed or closed; start again`);
    const ready = this.idle.pop();
    if (ready) {
      this.busySessions.add(ready);
      return ready;
    }
    if (this.busySessions.size < this.limit()) {
      const session = this.ck.openSession(this.slotId);
      this.busySessions.add(session);
      return session;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private giveBack(session: Handle): void {
    const next = this.waiting.shift();
    if (next) {
      this.busySessions.add(session);
      next(session);
    } else {
      this.idle.push(session);
    }
  }

  private limit(): number {
    if (this.poolLimit === undefined) {
      const max = this.ck.getTokenInfo(this.slotId).maxSessionCount;
      // 0 is CK_EFFECTIVELY_INFINITE; leave one session for the anchor on tokens with a small limit.
      const tokenLimit = max === 0 || max >= UNAVAILABLE ? MAX_SIGNING_SESSIONS : Math.max(1, max - 1);
      this.poolLimit = Math.min(MAX_SIGNING_SESSIONS, tokenLimit);
    }
    return this.poolLimit;
  }

  /** Is this very token (same slot, same serial) still there? Asked after a failure. */
  present(): boolean {
    try {
      if (!this.ck.getSlotList(true).includes(this.slotId)) return false;
      return ckText(this.ck.getTokenInfo(this.slotId).serialNumber) === this.serial;
    } catch {
      return false;
    }
  }

  /**
   * The error to report for a failed call: a token that is gone is reported as removed whatever the module
   * answered (SoftHSM says CKR_OBJECT_HANDLE_INVALID or CKR_GENERAL_ERROR, others CKR_DEVICE_ERROR...).
   */
  failure(err: unknown, during: string): Error {
    if (!this.present()) {
      this.close();
      return new TokenError(`token ${this.label} was removed ${during}`);
    }
    if (err instanceof CryptokiError) return new TokenError(`token ${this.label}: ${err.fn} failed ${during} (${err.rvName})`);
    return err instanceof Error ? err : new Error(String(err));
  }

  /** Close every session: the module logs the token out with the last one. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.loggedIn = false;
    for (const session of [...this.idle, ...(this.anchor ? [this.anchor] : [])]) this.closeQuietly(session);
    this.idle.length = 0;
    this.anchor = undefined;
    this.objects.clear();
    this.onClose();
  }

  private closeQuietly(session: Handle): void {
    try {
      this.ck.closeSession(session);
    } catch {
      /* a removed token has no sessions left to close */
    }
  }
}
