import { constants, publicDecrypt, X509Certificate } from 'node:crypto';
import * as os from 'node:os';
import { digestInfo } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import { Pkcs11Signer } from '../pkcs11/signer';
import { loadedModules } from '../pkcs11/registry';
import { describeSlots } from '../pkcs11/tokens';
import { OpenctlError, TokenError } from '../util/errors';
import { SignerLanesBackend, type SigningBackend } from './backend';
import { loadNativeCore, nativeCoreStatus, NativeBatchSigner, type NativeSignerPool } from './native-core';

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

  const pools: NativeSignerPool[] = [];
  try {
    const nativeSigners: Signer[] = [];
    for (const signer of tokens) {
      const { modulePath, slotId } = locate(signer);
      const pool = await core.NativeSignerPool.open({
        modulePath,
        slotId,
        keyId: signer.uri.id,
        sessions: options.sessions ?? os.availableParallelism(),
      });
      pools.push(pool);
      const native = new NativeBatchSigner(pool, { certificate: signer.certificate, description: `${signer.description} (native)`, maxBatch: 512 });
      await checkKeyMatches(native);
      nativeSigners.push(native);
    }
    return new NativeTokensBackend(new SignerLanesBackend(nativeSigners, 'native', 4096), signers);
  } catch (err) {
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
    throw err;
  }
}

/** One signature checked against the certificate before thousands are made with the wrong key. */
async function checkKeyMatches(signer: Signer): Promise<void> {
  const probe = Buffer.alloc(32, 0x42);
  const signature = await signer.sign(probe, 'sha256');
  let opened: Buffer | undefined;
  try {
    opened = publicDecrypt({ key: new X509Certificate(Buffer.from(signer.certificate)).publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    opened = undefined;
  }
  if (!opened?.equals(digestInfo('sha256', probe))) {
    throw new TokenError(`${signer.description}: the token's key does not match its certificate`);
  }
}

/** The native lanes, closing the pools first and then the PKCS#11 signers that hold the login. */
class NativeTokensBackend implements SigningBackend {
  readonly kind = 'native';
  readonly workerPem = undefined;
  constructor(
    private readonly lanes: SignerLanesBackend,
    private readonly owners: readonly Signer[],
  ) {}
  get certificate() {
    return this.lanes.certificate;
  }
  get keyBits() {
    return this.lanes.keyBits;
  }
  get description() {
    return this.lanes.description;
  }
  get tokenSerials() {
    return this.lanes.tokenSerials;
  }
  set onTokenLost(fn: SigningBackend['onTokenLost']) {
    this.lanes.onTokenLost = fn;
  }
  get onTokenLost(): SigningBackend['onTokenLost'] {
    return this.lanes.onTokenLost;
  }
  signBatch(...args: Parameters<SigningBackend['signBatch']>) {
    return this.lanes.signBatch(...args);
  }
  async close(): Promise<void> {
    await this.lanes.close();
    for (const owner of this.owners) await owner.close?.().catch(() => undefined);
  }
}
