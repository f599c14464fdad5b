import { constants, publicDecrypt, X509Certificate } from 'node:crypto';
import * as os from 'node:os';
import { digestInfo, type HashAlgorithm } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import { Pkcs11Signer } from '../pkcs11/signer';
import { loadedModules } from '../pkcs11/registry';
import { describeSlots } from '../pkcs11/tokens';
import { OpenctlError, TokenError } from '../util/errors';
import { firstOfSameKey, SignerLanesBackend, type SignResult, type SigningBackend } from './backend';
import type { NativeFileKey } from './native-files';
import { loadNativeCore, nativeCoreStatus, NativeCoreError, NativeSignError, type NativeSignerPool } from './native-core';

/**
 * How token signatures are made: `native` — the N-API core, a pool of sessions in native threads, one call per
 * batch; `pkcs11js` — C_Sign on libuv's thread pool through the PKCS#11 signer's session pool. `auto` takes
 * the native core when it is built (the benchmark measures both: see the README).
 */
export type TokenEngine = 'auto' | 'native' | 'pkcs11js';

export interface TokenBackendOptions {
  engine?: TokenEngine;
  /** Native sessions (threads) per token; default one per core. */
  sessions?: number;
}

/** Where a Pkcs11Signer's token lives: the module path as loaded and the slot, found by the token's serial. */
function locate(signer: Pkcs11Signer): { modulePath: string; slotId: number } {
  for (const module of loadedModules()) {
    for (const slot of describeSlots(module, { tokenPresent: true })) {
      if (slot.token?.serial === signer.tokenSerial) return { modulePath: module.path, slotId: slot.slotId };
    }
  }
  throw new TokenError(`${signer.description}: the token (serial ${signer.tokenSerial}) is no longer present`);
}

/**
 * A backend over opened token signers (every one holding the same certificate and key: several tokens share
 * the work, and one that disappears leaves its share to the others). The signers stay open as long as the
 * backend: they hold the login the native sessions rely on.
 */
export async function openTokenBackend(signers: readonly Signer[], options: TokenBackendOptions = {}): Promise<SigningBackend> {
  const engine = options.engine ?? 'auto';
  const tokens = signers.filter((s): s is Pkcs11Signer => s instanceof Pkcs11Signer);
  const core = engine === 'pkcs11js' ? undefined : loadNativeCore();
  if (engine === 'native' && !core) {
    throw new OpenctlError(`--engine native: the native core is not available (${nativeCoreStatus().reason ?? 'unknown reason'})`);
  }
  if (!core || tokens.length !== signers.length) return new SignerLanesBackend(signers, 'pkcs11', 4);

  const lanes: NativeLane[] = [];
  try {
    for (const signer of tokens) {
      const { modulePath, slotId } = locate(signer);
      const pool = await core.NativeSignerPool.open({
        modulePath,
        slotId,
        keyId: signer.uri.id,
        sessions: options.sessions ?? os.availableParallelism(),
      });
      lanes.push({
        pool,
        description: `${signer.description} (native)`,
        serial: signer.tokenSerial,
        alive: true,
        busy: 0,
        key: { modulePath, slotId, keyId: signer.uri.id, tokenSerial: signer.tokenSerial, tokenLabel: pool.tokenLabel },
      });
      await checkKeyMatches(pool, signer.certificate, signer.description);
    }
  } catch (err) {
    await Promise.all(lanes.map((l) => l.pool.close().catch(() => undefined)));
    throw err;
  }
  return new NativePoolsBackend(lanes, signers);
}

/** One signature checked against the certificate before thousands are made with the wrong key. */
async function checkKeyMatches(pool: NativeSignerPool, certificate: Uint8Array, description: string): Promise<void> {
  const expected = digestInfo('sha256', Buffer.alloc(32, 0x42));
  const [signature] = await pool.signBatch([expected]);
  let opened: Buffer | undefined;
  try {
    opened = publicDecrypt({ key: new X509Certificate(Buffer.from(certificate)).publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    opened = undefined;
  }
  if (!opened?.equals(expected)) throw new TokenError(`${description}: the token's key does not match its certificate`);
}

/** What a module answers once its token is gone. */
const GONE = new Set(['CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT', 'CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED', 'CKR_DEVICE_ERROR']);

interface NativeLane {
  pool: NativeSignerPool;
  description: string;
  serial: string;
  alive: boolean;
  /** Batches in the pool now. */
  busy: number;
  /** Where the native file engine finds the same key (its own sessions on the same login). */
  key: Extract<NativeFileKey, { pkcs11: unknown }>['pkcs11'];
}

/**
 * Tokens signing through native pools: each batch of digests from a worker becomes one native call, on the
 * least busy token; items a token failed (it was removed) go to the others, and only when none is left do
 * they fail. The PKCS#11 signers stay open underneath: they hold the login the native sessions use.
 */
class NativePoolsBackend implements SigningBackend {
  readonly kind = 'native';
  readonly workerPem = undefined;
  readonly certificate: Buffer;
  readonly keyBits: number;
  readonly description: string;
  readonly tokenSerials: readonly string[];
  onTokenLost?: (description: string, err: Error) => void;
  private fatal: Error | undefined;

  constructor(
    private readonly lanes: NativeLane[],
    private readonly owners: readonly Signer[],
  ) {
    const first = firstOfSameKey(owners);
    this.certificate = Buffer.from(first.certificate);
    this.keyBits = first.keyBits;
    this.description = lanes.map((l) => l.description).join(', ');
    this.tokenSerials = lanes.map((l) => l.serial);
  }

  async signBatch(digests: readonly Uint8Array[], hash: HashAlgorithm): Promise<SignResult[]> {
    const results: SignResult[] = new Array(digests.length);
    let pending = digests.map((_, i) => i);
    const inputs = digests.map((d) => digestInfo(hash, d));
    while (pending.length > 0) {
      const lane = this.pick();
      if (!lane) {
        const error = this.fatal ?? new TokenError('no token left to sign');
        for (const i of pending) results[i] = { error };
        break;
      }
      lane.busy += 1;
      try {
        const signatures = await lane.pool.signBatch(pending.map((i) => inputs[i]));
        pending.forEach((i, k) => (results[i] = { signature: signatures[k], tokenSerial: lane.serial }));
        pending = [];
      } catch (err) {
        const failedAt = new Set(err instanceof NativeSignError ? err.failures.map((f) => f.index) : pending.map((_, k) => k));
        const signatures = err instanceof NativeSignError ? err.signatures : [];
        const retry: number[] = [];
        pending.forEach((i, k) => {
          const signature = signatures[k];
          if (!failedAt.has(k) && signature) results[i] = { signature, tokenSerial: lane.serial };
          else retry.push(i);
        });
        pending = retry;
        this.laneFailed(lane, err instanceof Error ? err : new Error(String(err)));
      } finally {
        lane.busy -= 1;
      }
    }
    return results;
  }

  /**
   * One token: the native file engine signs on sessions of its own (several tokens stay with the lanes here,
   * which move work away from a token that disappears).
   */
  nativeFileKey(): NativeFileKey | undefined {
    return this.lanes.length === 1 ? { pkcs11: this.lanes[0].key } : undefined;
  }

  private pick(): NativeLane | undefined {
    let best: NativeLane | undefined;
    for (const lane of this.lanes) if (lane.alive && (!best || lane.busy < best.busy)) best = lane;
    return best;
  }

  private laneFailed(lane: NativeLane, err: Error): void {
    if (!lane.alive) return;
    lane.alive = false;
    const code = err instanceof NativeCoreError ? err.code : undefined;
    const error =
      code && GONE.has(code)
        ? new TokenError(`token ${lane.pool.tokenLabel} was removed during signing (${code})`)
        : err instanceof TokenError
          ? err
          : new TokenError(`${lane.description}: ${err.message}`);
    if (this.lanes.some((l) => l.alive)) this.onTokenLost?.(lane.description, error);
    else this.fatal ??= error;
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.pool.close().catch(() => undefined)));
    for (const owner of this.owners) await owner.close?.().catch(() => undefined);
  }
}
