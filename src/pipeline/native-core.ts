import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { digestInfo, type HashAlgorithm } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import { TokenError } from '../util/errors';
import type { RawAddon, RawCkError, RawPoolHandle, RawPoolInfo } from './native-addon';

/**
 * The native batch signing core (native-bindings/, built by `npm install` where a compiler exists): a pool of
 * PKCS#11 sessions on the login this process already has, one native thread per session, one JS call per batch.
 * `loadNativeCore()` returns undefined when the addon is not built, and the pipeline signs through pkcs11js.
 */

/** CKM_ values of the RSA PKCS#1 v1.5 mechanisms the core signs with. */
export const CKM = {
  CKM_RSA_PKCS: 0x1,
  CKM_SHA1_RSA_PKCS: 0x6,
  CKM_SHA256_RSA_PKCS: 0x40,
  CKM_SHA384_RSA_PKCS: 0x41,
  CKM_SHA512_RSA_PKCS: 0x42,
} as const;
export type MechanismName = keyof typeof CKM;

export interface NativeSignerPoolOptions {
  /** The module's path exactly as the process loaded it (dlopen then shares that instance and its login). */
  modulePath: string;
  /** The slot: a number, a bigint or a pkcs11js slot handle (Buffer). Otherwise tokenLabel and/or tokenSerial. */
  slotId?: number | bigint | Buffer;
  tokenLabel?: string;
  tokenSerial?: string;
  /** The private key by CKA_ID and/or CKA_LABEL (may be omitted when the token holds a single private key). */
  keyId?: Uint8Array;
  keyLabel?: string;
  /** Sessions, hence native threads: default one per CPU. */
  sessions?: number;
  /** Only when nothing in the process has logged in yet; never logged, wiped after use in native code. */
  pin?: string;
}

/** One concatenated buffer and the length of each input in it. */
export interface ConcatenatedInputs {
  data: Uint8Array;
  lengths: readonly number[] | Uint32Array;
}

export type BatchInputs = readonly Uint8Array[] | ConcatenatedInputs;

export interface NativeSignerPool {
  readonly slotId: number;
  readonly tokenLabel: string;
  readonly tokenSerial: string;
  readonly tokenModel: string;
  readonly keyBits: number;
  readonly signatureLength: number;
  readonly sessions: number;
  /**
   * Signs every input (a DigestInfo for CKM_RSA_PKCS, the default) on the pool's threads; resolves in input
   * order. Rejects with NativeSignError (which items failed, with which CK_RV, and the signatures that did
   * succeed) when any item fails.
   */
  signBatch(inputs: BatchInputs, mechanism?: MechanismName | number): Promise<Buffer[]>;
  /** Finishes queued batches, closes the sessions (never the module or the login). Safe to call twice. */
  close(): Promise<void>;
}

export interface NativeSignerPoolFactory {
  open(options: NativeSignerPoolOptions): Promise<NativeSignerPool>;
}

export interface NativeCore {
  /** The .node file in use. */
  readonly addonPath: string;
  readonly NativeSignerPool: NativeSignerPoolFactory;
  /** syncfs(2) of the file system holding fd (fsync of fd where syncfs does not exist), off the event loop. */
  syncfs(fd: number): Promise<void>;
  /** "CKR_PIN_INCORRECT" for 0xA0, "CKR_0x80000001" for an unknown vendor code. */
  ckrName(rv: number): string;
}

/** A failure that names the CK_RV (`code`), and the PKCS#11 function when known. */
export class NativeCoreError extends TokenError {
  constructor(
    message: string,
    readonly code: string,
    readonly rv: number,
    readonly functionName?: string,
  ) {
    super(message);
    this.name = 'NativeCoreError';
  }
}

export interface NativeSignFailure {
  readonly index: number;
  readonly rv: number;
  readonly code: string;
}

/** Some items of a batch failed: which ones and why; `signatures[i]` holds the ones that did not. */
export class NativeSignError extends NativeCoreError {
  constructor(
    message: string,
    code: string,
    rv: number,
    readonly failures: readonly NativeSignFailure[],
    readonly signatures: readonly (Buffer | undefined)[],
  ) {
    super(message, code, rv, 'C_Sign');
    this.name = 'NativeSignError';
  }
}

/** The openctl package folder, found upwards from this file (it runs from src/ or dist/src/). */
function packageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'openctl') return dir;
    } catch {
      /* no package.json here: keep going up */
    }
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

/** Where `npm install` puts the addon: native-bindings/build/Release under the package root. */
export function nativeBuildDir(): string {
  return path.join(packageRoot(), 'native-bindings', 'build', 'Release');
}

/** The addon file: OPENCTL_NATIVE_ADDON when set, else the build folder's. */
export function nativeAddonPath(): string {
  return process.env.OPENCTL_NATIVE_ADDON || path.join(nativeBuildDir(), 'openctl_native.node');
}

export interface NativeCoreStatus {
  readonly available: boolean;
  readonly addonPath: string;
  /** Why it is not available: disabled, not built, or not loadable (one line). */
  readonly reason?: string;
}

let cached: { status: NativeCoreStatus; core?: NativeCore } | undefined;

/** Whether the native core can be used here, and why not. OPENCTL_NATIVE=0 turns it off (for comparisons). */
export function nativeCoreStatus(): NativeCoreStatus {
  if (cached) return cached.status;
  const addonPath = nativeAddonPath();
  if (process.env.OPENCTL_NATIVE === '0') {
    cached = { status: { available: false, addonPath, reason: 'disabled by OPENCTL_NATIVE=0' } };
  } else if (!fs.existsSync(addonPath)) {
    cached = { status: { available: false, addonPath, reason: `not built (${addonPath} missing)` } };
  } else {
    try {
      const raw = require(addonPath) as RawAddon;
      cached = { status: { available: true, addonPath }, core: wrap(raw, addonPath) };
    } catch (err) {
      const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      cached = { status: { available: false, addonPath, reason: `not loadable: ${why}` } };
    }
  }
  return cached.status;
}

/** The native core, or undefined (never a throw) when it is not built, not loadable or disabled. */
export function loadNativeCore(): NativeCore | undefined {
  nativeCoreStatus();
  return cached?.core;
}

function wrap(raw: RawAddon, addonPath: string): NativeCore {
  return {
    addonPath,
    NativeSignerPool: { open: (options) => openPool(raw, options) },
    syncfs: (fd) => raw.syncfs(fd),
    ckrName: (rv) => raw.ckrName(rv),
  };
}

function slotNumber(slot: number | bigint | Buffer): number | bigint {
  if (!Buffer.isBuffer(slot)) return slot;
  return slot.length >= 8 ? slot.readBigUInt64LE(0) : slot.readUInt32LE(0);
}

async function openPool(raw: RawAddon, options: NativeSignerPoolOptions): Promise<NativeSignerPool> {
  const sessions = options.sessions ?? os.availableParallelism();
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > 256) {
    throw new RangeError(`sessions must be an integer from 1 to 256, got ${sessions}`);
  }
  let info: RawPoolInfo;
  try {
    info = await raw.openPool({
      modulePath: options.modulePath,
      slotId: options.slotId === undefined ? undefined : slotNumber(options.slotId),
      tokenLabel: options.tokenLabel,
      tokenSerial: options.tokenSerial,
      keyId: options.keyId,
      keyLabel: options.keyLabel,
      sessions,
      pin: options.pin,
    });
  } catch (err) {
    const e = err as RawCkError;
    const where = options.tokenLabel ? `token '${options.tokenLabel}'` : path.basename(options.modulePath);
    throw new NativeCoreError(`${where}: ${e.message}`, e.code ?? 'CKR_GENERAL_ERROR', e.rv ?? 5, e.function);
  }
  return new Pool(raw, info);
}

function isConcatenated(inputs: BatchInputs): inputs is ConcatenatedInputs {
  return !Array.isArray(inputs);
}

class Pool implements NativeSignerPool {
  readonly slotId: number;
  readonly tokenLabel: string;
  readonly tokenSerial: string;
  readonly tokenModel: string;
  readonly keyBits: number;
  readonly signatureLength: number;
  readonly sessions: number;
  private readonly handle: RawPoolHandle;
  private closing?: Promise<void>;

  constructor(
    private readonly raw: RawAddon,
    info: RawPoolInfo,
  ) {
    this.handle = info.handle;
    this.slotId = info.slotId;
    this.tokenLabel = info.tokenLabel;
    this.tokenSerial = info.tokenSerial;
    this.tokenModel = info.tokenModel;
    this.keyBits = info.keyBits;
    this.signatureLength = info.signatureLength;
    this.sessions = info.sessions;
  }

  async signBatch(inputs: BatchInputs, mechanism: MechanismName | number = 'CKM_RSA_PKCS'): Promise<Buffer[]> {
    if (this.closing) {
      throw new NativeCoreError(`token '${this.tokenLabel}': the signer pool is closed`, 'ERR_POOL_CLOSED', 0);
    }
    const mech = typeof mechanism === 'number' ? mechanism : CKM[mechanism];
    const count = isConcatenated(inputs) ? inputs.lengths.length : inputs.length;
    if (count === 0) return [];
    const result = isConcatenated(inputs)
      ? await this.raw.signBatch(this.handle, inputs.data, inputs.lengths, mech)
      : await this.raw.signBatch(this.handle, inputs, undefined, mech);
    const size = this.signatureLength;
    const signatures = result.lengths.map((length, i) =>
      length > 0 ? result.signatures.subarray(i * size, i * size + length) : undefined,
    );
    if (!result.rvs) return signatures as Buffer[];

    const failures: NativeSignFailure[] = [];
    result.rvs.forEach((rv, index) => {
      if (rv !== 0) failures.push({ index, rv, code: this.raw.ckrName(rv) });
    });
    const first = failures[0];
    throw new NativeSignError(
      `token '${this.tokenLabel}': signing failed with ${first.code} for ${failures.length} of ${count} items ` +
        `(first failed item: ${first.index})`,
      first.code,
      first.rv,
      failures,
      signatures,
    );
  }

  close(): Promise<void> {
    this.closing ??= this.raw.closePool(this.handle);
    return this.closing;
  }
}

export interface NativeBatchSignerOptions {
  /** DER of the key's certificate. */
  certificate: Uint8Array;
  description?: string;
  /** Largest batch handed to the pool at once (default 256). */
  maxBatch?: number;
}

interface PendingSignature {
  input: Buffer;
  resolve(signature: Uint8Array): void;
  reject(err: Error): void;
}

/**
 * A Signer over a native pool: single sign() calls made in the same turn of the event loop are gathered into
 * one batch, so callers that sign file by file still cost one native call per batch.
 */
export class NativeBatchSigner implements Signer {
  readonly certificate: Uint8Array;
  readonly keyBits: number;
  readonly description: string;
  readonly tokenSerial: string;
  private readonly maxBatch: number;
  private queue: PendingSignature[] = [];
  private scheduled = false;

  constructor(
    private readonly pool: NativeSignerPool,
    options: NativeBatchSignerOptions,
  ) {
    this.certificate = options.certificate;
    this.keyBits = pool.keyBits;
    this.tokenSerial = pool.tokenSerial;
    this.description = options.description ?? `pkcs11:token=${pool.tokenLabel} (native)`;
    this.maxBatch = options.maxBatch ?? 256;
  }

  sign(digestBytes: Uint8Array, hash: HashAlgorithm): Promise<Uint8Array> {
    const input = digestInfo(hash, digestBytes);
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async close(): Promise<void> {
    this.flush();
    await this.pool.close();
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.pool.signBatch(batch.map((p) => p.input)).then(
      (signatures) => batch.forEach((p, i) => p.resolve(signatures[i])),
      (err: unknown) => {
        if (err instanceof NativeSignError) {
          const byIndex = new Map(err.failures.map((f) => [f.index, f]));
          batch.forEach((p, i) => {
            const failure = byIndex.get(i);
            const signature = err.signatures[i];
            if (!failure && signature) p.resolve(signature);
            else {
              const code = failure?.code ?? err.code;
              p.reject(new NativeCoreError(`token '${this.pool.tokenLabel}': C_Sign failed: ${code}`, code, failure?.rv ?? err.rv, 'C_Sign'));
            }
          });
        } else {
          const e = err instanceof Error ? err : new Error(String(err));
          batch.forEach((p) => p.reject(e));
        }
      },
    );
  }
}
