/**
 * The Tokens side of the GUI service, over src/pkcs11: the live token list (the library's child-process watcher
 * for insert/removal, the library's listing for details), log-in with a PIN that comes from the renderer and is
 * dropped as soon as the token has it, signers on logged-in tokens, and the SoftHSM demo tokens.
 *
 * The service holds each module for its whole life: a module released to zero users is finalised, which would
 * log every token out. It holds each logged-in token's state for the same reason, until log-out or removal.
 */
import * as fs from 'node:fs';
import type { EventHub } from '../events';
import type { CertView, DemoState, KeyPairView, LoginResult, TokenView, TokensSnapshot } from '../types';
import type { Signer } from '../../crypto/signer';
import { TokenError } from '../../util/errors';
import { acquireModule, releaseModule, type Pkcs11Module } from '../../pkcs11/registry';
import { resolveModules, realPath } from '../../pkcs11/resolve';
import { listTokens, type ModuleListing } from '../../pkcs11/list';
import { describeToken, type ObjectPair, type TokenDescription } from '../../pkcs11/tokens';
import { ensureLogin, type PinPrompter } from '../../pkcs11/pin';
import type { TokenState } from '../../pkcs11/token-state';
import { openPkcs11Signer, readTokenCertificate } from '../../pkcs11/signer';
import { TokenWatcher, type TokenEvent } from '../../pkcs11/watch';
import { DEMO_PIN, DEMO_TOKENS, SOFTHSM_MODULE, defaultDemoDir, demoCliUsage, demoConf, provisionDemoTokens } from '../../pkcs11/provision';
import { parsePkcs11Uri, type Pkcs11Uri } from '../../pkcs11/uri';
import { certView } from './certs';
import type { TokenAccess } from './token-access';

export interface TokenServiceOptions {
  events: EventHub;
  /** The user's data folder. Demo tokens go to `defaultDemoDir(env)`, the folder `npm run tokens:demo` uses. */
  dataDir: string;
  /** The process environment (SOFTHSM2_CONF is set here when the demo tokens are used). */
  env: NodeJS.ProcessEnv;
}

interface PresentToken {
  module: string;
  slotId: number;
  token: TokenDescription;
}

interface KnownToken {
  view: TokenView;
  module: string;
  slotId: number;
  /** CKA_ID of the pair that signs. */
  signingId?: string;
  sastDer?: Buffer;
}

const FOLLOW_UP_MS = [1000, 3000];

/** No PIN from the environment in the GUI: the person types it, or uses the PIN pad. */
const NO_PIN_ENV: NodeJS.ProcessEnv = {};

function tokenId(module: string, slotId: number, serial: string): string {
  return `${module}#${slotId}#${serial}`;
}

function presenceKey(module: string, token: { serial: string; label: string }): string {
  return `${module}\u0000${token.serial}\u0000${token.label}`;
}

export class TokenService implements TokenAccess {
  private modules: Pkcs11Module[] = [];
  private modulePaths: string[] = [];
  private moduleProblem?: string;
  private watcher?: TokenWatcher;
  /** Tokens the watcher sees, when it runs: insertions and removals land here first. */
  private present?: Map<string, PresentToken>;
  private readonly logins = new Map<string, TokenState>();
  private readonly certCache = new Map<string, Buffer>();
  private known = new Map<string, KnownToken>();
  private revision = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private demoActive = false;

  constructor(private readonly options: TokenServiceOptions) {}

  /** The one demo-token folder, the one `npm run tokens:demo` uses (OPENCTL_DATA_DIR/softhsm, or the data folder). */
  private get demoDir(): string {
    return defaultDemoDir(this.options.env);
  }

  /** Run jobs that touch the modules one at a time: listing, log-in and demo set-up never interleave. */
  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async start(): Promise<void> {
    await this.serial(() => this.open());
    await this.refresh();
  }

  private async open(): Promise<void> {
    this.moduleProblem = undefined;
    let paths: string[] = [];
    try {
      paths = resolveModules({ env: this.options.env }).paths;
    } catch (err) {
      this.moduleProblem = (err as Error).message;
    }
    if (this.demoActive && !paths.some((p) => realPath(p) === realPath(SOFTHSM_MODULE))) paths.push(SOFTHSM_MODULE);
    const problems: string[] = [];
    for (const modulePath of paths) {
      try {
        this.modules.push(acquireModule(modulePath));
        this.modulePaths.push(modulePath);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if (problems.length > 0) this.moduleProblem = problems.join('; ');
    if (this.modulePaths.length === 0) return;
    try {
      const watcher = await TokenWatcher.start({ modules: this.modulePaths, env: this.options.env });
      this.watcher = watcher;
      this.present = new Map(
        watcher.initial.filter((s) => s.token).map((s) => [presenceKey(s.module, s.token!), { module: s.module, slotId: s.slotId, token: s.token! }]),
      );
      watcher.on('token', (event) => this.onTokenEvent(event));
      watcher.on('stopped', (reason) => {
        if (this.watcher !== watcher) return;
        this.watcher = undefined;
        this.present = undefined;
        this.moduleProblem = `${reason}: the list no longer follows insertions`;
        void this.refresh();
      });
    } catch (err) {
      this.moduleProblem = `${(err as Error).message}: the list does not follow insertions`;
    }
  }

  private shut(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.present = undefined;
    for (const state of this.logins.values()) state.release();
    this.logins.clear();
    for (const module of this.modules) releaseModule(module);
    this.modules = [];
    this.modulePaths = [];
    this.known.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.serial(async () => this.shut());
  }

  private onTokenEvent(event: TokenEvent): void {
    if (!this.present) return;
    const key = presenceKey(event.module, event.token);
    if (event.type === 'inserted') {
      this.present.set(key, { module: event.module, slotId: event.slotId, token: event.token });
      // A token seen the moment it arrives may not show its objects yet (a reader still reading the card, a token
      // still being made): look at it again shortly.
      for (const delay of FOLLOW_UP_MS) {
        const timer = setTimeout(() => {
          if (!this.closed) void this.refresh();
        }, delay);
        timer.unref();
      }
    } else {
      this.present.delete(key);
      const id = tokenId(event.module, event.slotId, event.token.serial);
      this.logins.get(id)?.release();
      this.logins.delete(id);
    }
    void this.refresh();
  }

  /** List again and tell every window. */
  refresh(): Promise<TokensSnapshot> {
    return this.serial(async () => {
      const snapshot = await this.compute();
      if (!this.closed) this.options.events.emit('tokens', snapshot);
      return snapshot;
    });
  }

  private async compute(): Promise<TokensSnapshot> {
    let listings: ModuleListing[] = [];
    const problems: string[] = this.moduleProblem ? [this.moduleProblem] : [];
    if (this.modulePaths.length > 0) {
      // Software modules (SoftHSM) only see tokens made by another process after re-initialising: do it when
      // the watcher reports a token our modules do not show yet and nothing is logged in.
      listings = await listTokens({ modules: this.modulePaths, env: this.options.env, presentOnly: false });
      if (this.present && this.missingFrom(listings).length > 0) {
        if (this.modules.some((m) => m.refresh())) {
          listings = await listTokens({ modules: this.modulePaths, env: this.options.env, presentOnly: false });
        }
      }
    }
    const known = new Map<string, KnownToken>();
    let emptySlots = 0;
    for (const listing of listings) {
      if (listing.error) problems.push(`${listing.path}: ${listing.error}`);
      for (const slot of listing.slots) {
        if (!slot.token || !slot.token.flags.initialized) {
          emptySlots += 1;
          continue;
        }
        if (this.present && !this.present.has(presenceKey(listing.path, slot.token))) continue; // removed
        const entry = await this.describeToken(listing.path, slot.slotId, slot.description || `slot ${slot.slotId}`, slot.token, slot.objects ?? []);
        known.set(entry.view.id, entry);
      }
    }
    const unseen = this.present ? this.missingFrom(listings) : [];
    for (const p of unseen) {
      const id = tokenId(p.module, p.slotId, p.token.serial);
      known.set(id, { view: this.baseView(id, p.module, `slot ${p.slotId}`, p.token), module: p.module, slotId: p.slotId });
    }
    if (unseen.length > 0) {
      problems.push(
        `${unseen.map((p) => p.token.label).join(', ')} arrived while a token is logged in: log out of every token to use ${unseen.length === 1 ? 'it' : 'them'}`,
      );
    }
    this.known = known;
    this.revision += 1;
    return {
      tokens: [...known.values()].map((k) => k.view).sort((a, b) => a.label.localeCompare(b.label) || a.serial.localeCompare(b.serial)),
      emptySlots,
      modules: [...this.modulePaths],
      problem: problems.length > 0 ? problems.join('; ') : undefined,
      revision: this.revision,
    };
  }

  private missingFrom(listings: ModuleListing[]): PresentToken[] {
    const seen = new Set<string>();
    for (const l of listings) for (const s of l.slots) if (s.token) seen.add(presenceKey(l.path, s.token));
    return [...(this.present?.entries() ?? [])].filter(([key]) => !seen.has(key)).map(([, p]) => p);
  }

  private baseView(id: string, module: string, slot: string, token: TokenDescription): TokenView {
    const f = token.flags;
    return {
      id,
      slot,
      label: token.label,
      manufacturer: token.manufacturer,
      model: token.model,
      serial: token.serial,
      module,
      flags: {
        loginRequired: f.loginRequired,
        pinPad: f.protectedAuthenticationPath,
        pinCountLow: f.userPinCountLow,
        pinFinalTry: f.userPinFinalTry,
        pinLocked: f.userPinLocked,
      },
      loggedIn: Boolean(this.logins.get(id)?.loggedIn) || (!f.loginRequired && f.initialized),
      keyPairs: [],
    };
  }

  private async describeToken(module: string, slotId: number, slot: string, token: TokenDescription, pairs: ObjectPair[]): Promise<KnownToken> {
    const id = tokenId(module, slotId, token.serial);
    const view = this.baseView(id, module, slot, token);
    const entry: KnownToken = { view, module, slotId };
    const signing: Array<{ id: string; label: string; der: Buffer; cert: CertView }> = [];
    for (const pair of pairs) {
      let certificate: CertView | undefined;
      let der: Buffer | undefined;
      if (pair.certificate) {
        der = await this.certificateDer(module, token, pair);
        certificate = der ? safeView(der) : undefined;
      }
      // privateKey null: hidden until log-in, so possibly there.
      const keyPair: KeyPairView = { id: pair.id, label: pair.label, hasKey: pair.privateKey !== false, certificate };
      view.keyPairs.push(keyPair);
      if (der && certificate && keyPair.hasKey) signing.push({ id: pair.id, label: pair.label, der, cert: certificate });
    }
    // The pair that signs, and whose certificate is the token's SAST record: one labelled SAST, else the first.
    const chosen = signing.find((s) => /sast/i.test(s.label)) ?? signing[0];
    if (chosen) {
      entry.signingId = chosen.id;
      entry.sastDer = chosen.der;
      view.sast = chosen.cert;
    }
    return entry;
  }

  private async certificateDer(module: string, token: TokenDescription, pair: ObjectPair): Promise<Buffer | undefined> {
    const key = `${token.serial}/${pair.id}/${pair.certificate?.sha1}`;
    const cached = this.certCache.get(key);
    if (cached) return cached;
    try {
      const der = await readTokenCertificate(this.uri(token.label, token.serial, pair.id), { modules: [module], env: this.options.env });
      this.certCache.set(key, der);
      return der;
    } catch {
      return undefined;
    }
  }

  private uri(label: string, serial: string, id?: string): Pkcs11Uri {
    return { token: label, serial, id: id === undefined ? undefined : Buffer.from(id, 'hex'), type: 'cert' };
  }

  private entry(id: string): KnownToken {
    const entry = this.known.get(id);
    if (!entry) throw new TokenError('that token is no longer present');
    return entry;
  }

  private moduleOf(entry: KnownToken): Pkcs11Module {
    const module = this.modules.find((m) => m.path === entry.module);
    if (!module) throw new TokenError(`${entry.module}: the module is not loaded`);
    return module;
  }

  login(id: string, pin: string | undefined, confirmFinalTry: boolean): Promise<LoginResult> {
    return this.serial(async () => {
      const entry = this.entry(id);
      const { label, serial } = entry.view;
      const module = this.moduleOf(entry);
      let flags;
      try {
        flags = describeToken(module, entry.slotId).flags;
      } catch {
        throw new TokenError(`token ${label} was removed`);
      }
      const result = (loggedIn: boolean, message: string, f = flags): LoginResult => ({
        loggedIn,
        message,
        pinCountLow: f.userPinCountLow,
        finalTry: f.userPinFinalTry,
        locked: f.userPinLocked,
      });
      if (flags.userPinLocked) return result(false, `token ${label}: the user PIN is locked; an administrator must unblock it with the SO PIN`);
      // Logged in already: a PIN typed now would be "accepted" without the token ever seeing it. Say so instead
      // (log out first to log in again), so that nobody takes a wrong PIN for a right one.
      if (this.logins.get(id)?.loggedIn) return result(true, `token ${label} is already logged in: the PIN was not checked (log out first to log in again)`);
      if (flags.userPinFinalTry && !flags.protectedAuthenticationPath && !confirmFinalTry) {
        return { ...result(false, `token ${label}: this is the final PIN try: confirm that you want to try it`), needsConfirmation: true };
      }
      if (!flags.protectedAuthenticationPath && !pin) return result(false, 'type the PIN');

      const held = this.logins.get(id);
      const state = held ?? module.token(entry.slotId, label, serial).retain();
      let secret = pin;
      const prompter: PinPrompter = {
        askPin: async () => {
          const given = secret ?? '';
          secret = undefined;
          return given;
        },
        confirm: async () => confirmFinalTry,
        notice: () => undefined,
      };
      try {
        await ensureLogin(state, { env: NO_PIN_ENV, prompter });
      } catch (err) {
        if (!held) state.release();
        let after = flags;
        try {
          after = describeToken(module, entry.slotId).flags;
        } catch {
          /* removed meanwhile: the error says so */
        }
        void this.refreshLater();
        return result(false, guiLoginMessage((err as Error).message), after);
      } finally {
        secret = undefined;
      }
      if (!held) this.logins.set(id, state);
      void this.refreshLater();
      return result(true, `Logged in to ${label}`);
    });
  }

  private refreshLater(): Promise<TokensSnapshot> {
    return new Promise((resolve) => setImmediate(() => resolve(this.refresh())));
  }

  async logout(id: string): Promise<TokensSnapshot> {
    await this.serial(async () => {
      this.logins.get(id)?.release();
      this.logins.delete(id);
    });
    return this.refresh();
  }

  async certificateOf(id: string): Promise<Buffer> {
    const entry = this.entry(id);
    if (!entry.sastDer) throw new TokenError(`token ${entry.view.label} holds no certificate with a private key`);
    return entry.sastDer;
  }

  /** The SAST certificate of the present token a pkcs11: URI names (by label, and serial when given). */
  certificateForUri(text: string): Buffer | undefined {
    let uri: Pkcs11Uri;
    try {
      uri = parsePkcs11Uri(text);
    } catch {
      return undefined;
    }
    for (const entry of this.known.values()) {
      if (uri.token !== undefined && uri.token !== entry.view.label) continue;
      if (uri.serial !== undefined && uri.serial !== entry.view.serial) continue;
      if (entry.sastDer) return entry.sastDer;
    }
    return undefined;
  }

  describe(id: string): string {
    return this.known.get(id)?.view.label ?? 'the token';
  }

  async signerFor(id: string): Promise<Signer> {
    const entry = this.entry(id);
    const { label, serial } = entry.view;
    if (entry.view.flags.loginRequired && !this.logins.get(id)?.loggedIn) throw new TokenError(`token ${label}: log in first`);
    if (!entry.signingId) throw new TokenError(`token ${label} holds no certificate with a private key`);
    const uri: Pkcs11Uri = { token: label, serial, id: Buffer.from(entry.signingId, 'hex') };
    return openPkcs11Signer(uri, { modules: [entry.module], env: NO_PIN_ENV });
  }

  async demoState(): Promise<DemoState> {
    const available = realPath(SOFTHSM_MODULE) !== undefined;
    const provisioned = fs.existsSync(demoConf(this.demoDir));
    return {
      available,
      provisioned,
      active: this.demoActive,
      dir: provisioned || this.demoActive ? this.demoDir : undefined,
      cli: provisioned || this.demoActive ? demoCliUsage(this.demoDir) : undefined,
      tokens: this.demoActive ? DEMO_TOKENS.map((t) => ({ label: t.label, pin: DEMO_PIN })) : undefined,
      problem: available ? undefined : `SoftHSM is not installed (${SOFTHSM_MODULE} not found): install softhsm2 to use the demo tokens`,
    };
  }

  /**
   * Create the demo tokens in the user's data folder (first time only) and list them. SoftHSM reads its
   * configuration when a process first initialises it, so every module is let go first and opened again after.
   */
  async useDemoTokens(): Promise<DemoState> {
    await this.serial(async () => {
      if (realPath(SOFTHSM_MODULE) === undefined) throw new TokenError(`${SOFTHSM_MODULE}: SoftHSM is not installed`);
      this.shut();
      try {
        const made = await provisionDemoTokens({ dir: this.demoDir });
        this.options.env.SOFTHSM2_CONF = made.conf;
        if (this.options.env !== process.env) process.env.SOFTHSM2_CONF = made.conf;
        this.demoActive = true;
      } finally {
        await this.open();
      }
    });
    await this.refresh();
    return this.demoState();
  }
}

function safeView(der: Buffer): CertView | undefined {
  try {
    return certView(der);
  } catch {
    return undefined;
  }
}

/** The library speaks to a terminal user ("from the prompt"); in the GUI the PIN came from the dialog. */
function guiLoginMessage(message: string): string {
  return message.replace(' (from the prompt)', '');
}
