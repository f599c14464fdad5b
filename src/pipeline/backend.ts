import type { HashAlgorithm } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import { pemSignerFromText, type PemSigner } from '../crypto/pem-signer';
import { OpenctlError, TokenError } from '../util/errors';
import { readTextInput } from '../util/read-input';
/** One signature, or why the signer could not make it. */
export interface SignResult {
  signature?: Uint8Array;
  tokenSerial?: string;
  error?: Error;
}

export type BackendKind = 'pem' | 'pkcs11' | 'native';

/**
 * Where the batch's signatures come from. A PEM key is loaded by every worker thread, which then signs on its
 * own core; a token key stays with the main thread (one owner of a PKCS#11 module per process) and signs the
 * digests the workers send, over several sessions and possibly several tokens holding the same key.
 */
export interface SigningBackend {
  readonly kind: BackendKind;
  /** DER of the signing certificate (the same for every token of the backend). */
  readonly certificate: Buffer;
  readonly keyBits: number;
  readonly description: string;
  /** PEM text the workers load to sign themselves; absent when the main thread signs. */
  readonly workerPem?: string;
  /** Serials of the tokens in use (empty for a PEM key). */
  readonly tokenSerials: readonly string[];
  /**
   * Sign digests; one result per digest, in order. A digest that could not be signed carries the error (a
   * TokenError when no token is left to sign): the signatures made before it still count.
   */
  signBatch(digests: readonly Uint8Array[], hash: HashAlgorithm): Promise<SignResult[]>;
  /** Where the native file engine finds the key (a single token through the native core), if it can. */
  nativeFileKey?(): import('./native-files').NativeFileKey | undefined;
  /** Set by the batch: a token dropped out and the others carry on (for a warning). */
  onTokenLost?: (description: string, err: Error) => void;
  close(): Promise<void>;
}

/** A PEM key and certificate: checked once here, then loaded by each worker from the same text. */
export class PemBackend implements SigningBackend {
  readonly kind = 'pem';
  readonly tokenSerials: readonly string[] = [];
  readonly certificate: Buffer;
  readonly keyBits: number;
  readonly description: string;

  private constructor(
    readonly workerPem: string,
    private readonly signer: PemSigner,
  ) {
    this.certificate = signer.certificate;
    this.keyBits = signer.keyBits;
    this.description = signer.description;
  }

  static async load(file: string): Promise<PemBackend> {
    const text = await readTextInput(file, { what: 'signer' });
    return new PemBackend(text, pemSignerFromText(text, file));
  }

  async signBatch(digests: readonly Uint8Array[], hash: HashAlgorithm): Promise<SignResult[]> {
    return digests.map((d) => ({ signature: this.signer.signSync(d, hash) }));
  }

  async close(): Promise<void> {}
}

interface Lane {
  signer: Signer;
  alive: boolean;
  /** Signatures of this signer in flight. */
  busy: number;
}

interface Pending {
  digest: Uint8Array;
  hash: HashAlgorithm;
  resolve: (reply: SignResult) => void;
  reject: (err: Error) => void;
}

/**
 * Signers that answer asynchronously (PKCS#11 tokens through pkcs11js: C_Sign on libuv's thread pool), kept
 * busy from one queue: each signer gets `perSigner` signatures in flight (its token's session pool), several
 * signers holding the same key share the load, and a token that disappears hands its work to the others.
 * When the last one is gone, every waiting signature fails with that token's error.
 */
export class SignerLanesBackend implements SigningBackend {
  readonly workerPem = undefined;
  readonly certificate: Buffer;
  readonly keyBits: number;
  readonly description: string;
  readonly tokenSerials: readonly string[];
  private readonly queue: Pending[] = [];
  private readonly lanes: Lane[];
  private fatal: Error | undefined;
  private nextLane = 0;
  onTokenLost?: (description: string, err: Error) => void;

  constructor(
    signers: readonly Signer[],
    readonly kind: BackendKind = 'pkcs11',
    private readonly perSigner = 4,
  ) {
    const first = firstOfSameKey(signers);
    this.certificate = Buffer.from(first.certificate);
    this.keyBits = first.keyBits;
    this.description = signers.map((s) => s.description).join(', ');
    this.tokenSerials = signers.map((s) => s.tokenSerial).filter((s): s is string => s !== undefined);
    this.lanes = signers.map((signer) => ({ signer, alive: true, busy: 0 }));
  }

  signBatch(digests: readonly Uint8Array[], hash: HashAlgorithm): Promise<SignResult[]> {
    if (this.fatal) return Promise.resolve(digests.map(() => ({ error: this.fatal })));
    const replies = digests.map(
      (digest) =>
        new Promise<SignResult>((resolve) =>
          this.queue.push({ digest, hash, resolve, reject: (error) => resolve({ error }) }),
        ),
    );
    this.pump();
    return Promise.all(replies);
  }

  /** Round robin over the signers with room, so that two tokens share even a small batch. */
  private pump(): void {
    let idle = 0;
    while (this.queue.length > 0 && idle < this.lanes.length) {
      const lane = this.lanes[this.nextLane];
      this.nextLane = (this.nextLane + 1) % this.lanes.length;
      if (lane.alive && lane.busy < this.perSigner) {
        this.startOne(lane);
        idle = 0;
      } else {
        idle += 1;
      }
    }
  }

  private startOne(lane: Lane): void {
    const item = this.queue.shift() as Pending;
    lane.busy += 1;
    lane.signer.sign(item.digest, item.hash).then(
      (signature) => {
        this.finish(lane);
        item.resolve({ signature, tokenSerial: lane.signer.tokenSerial });
      },
      (err: Error) => {
        this.finish(lane);
        this.laneFailed(lane, item, err);
      },
    );
  }

  private finish(lane: Lane): void {
    lane.busy -= 1;
    queueMicrotask(() => this.pump());
  }

  private laneFailed(lane: Lane, item: Pending, err: Error): void {
    if (!(err instanceof TokenError)) {
      item.reject(err);
      return;
    }
    if (lane.alive) {
      lane.alive = false;
      if (this.lanes.some((l) => l.alive)) this.onTokenLost?.(lane.signer.description, err);
    }
    if (this.lanes.some((l) => l.alive)) {
      this.queue.unshift(item);
      return;
    }
    this.fatal ??= err;
    item.reject(this.fatal);
    for (const waiting of this.queue.splice(0)) waiting.reject(this.fatal);
  }

  async close(): Promise<void> {
    for (const lane of this.lanes) await lane.signer.close?.().catch(() => undefined);
  }
}

/** Several --signer of one batch share the work, so they must hold one key: the first, after checking the rest. */
export function firstOfSameKey(signers: readonly Signer[]): Signer {
  if (signers.length === 0) throw new OpenctlError('no signer');
  const first = signers[0];
  for (const s of signers.slice(1)) {
    if (!Buffer.from(s.certificate).equals(Buffer.from(first.certificate))) {
      throw new OpenctlError(`${s.description}: holds another certificate than ${first.description}: every --signer of a batch must hold the same key`);
    }
  }
  return first;
}
