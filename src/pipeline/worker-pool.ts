import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { HashAlgorithm } from '../crypto/hash';
import { OpenctlError } from '../util/errors';
import type { SigningBackend } from './backend';
import type { FileResult, FileTask, FromWorker, SignReply, ToWorker, WorkerInit } from './protocol';

interface Slot {
  worker: Worker;
  inFlight: number;
}

/**
 * The worker threads and the bounded queue in front of them: `submit` resolves once a worker has room for the
 * chunk (at most `depth` chunks per worker), so a fast walk never runs ahead of the signing. Signature requests
 * of workers without a key go to the backend, in the batches the workers sent them.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextChunk = 1;
  private roomWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private failure: Error | undefined;
  private signerFailure: Error | undefined;
  private readonly ready: Array<Promise<void>> = [];
  private closing = false;

  private constructor(
    private readonly backend: SigningBackend,
    private readonly depth: number,
    private readonly onResults: (results: FileResult[]) => void,
  ) {}

  /**
   * Start the threads at once (loading their modules overlaps the main thread's own setup); `init` then hands
   * them the job. Close the pool whatever happens.
   */
  static spawn(options: { jobs: number; depth: number; backend: SigningBackend; onResults: (results: FileResult[]) => void }): WorkerPool {
    const pool = new WorkerPool(options.backend, options.depth, options.onResults);
    for (let i = 0; i < options.jobs; i += 1) pool.spawnOne();
    return pool;
  }

  async init(init: WorkerInit): Promise<void> {
    for (const slot of this.slots) this.post(slot, { type: 'init', init });
    await Promise.all(this.ready);
  }

  private spawnOne(): void {
    // A small young generation: a worker's garbage is a few buffers per file, and three default-sized ones
    // (main + two workers) would hold tens of megabytes of resident memory for nothing.
    const { Worker: WorkerThread } = require('node:worker_threads') as typeof import('node:worker_threads'); // not needed by the native engine
    const worker = new WorkerThread(path.join(__dirname, 'worker.js'), { resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    const slot: Slot = { worker, inFlight: 0 };
    this.slots.push(slot);
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'ready':
            resolve();
            break;
          case 'init-failed':
            reject(new OpenctlError(message.message));
            break;
          case 'sign':
            this.sign(slot, message.requestId, message.hash, message.digests);
            break;
          case 'done':
            slot.inFlight -= 1;
            this.onResults(message.results);
            this.wake();
            break;
        }
      });
      worker.on('error', (err) => {
        this.failure ??= new Error(`batch worker failed: ${err.message}`);
        reject(this.failure);
        this.wake();
      });
      worker.on('exit', (code) => {
        if (code !== 0 && !this.closing) {
          this.failure ??= new Error(`batch worker exited with code ${code}`);
          reject(this.failure);
        }
        slot.inFlight = 0;
        this.wake();
      });
    });
    ready.catch(() => undefined); // reported by init()
    this.ready.push(ready);
  }

  private sign(slot: Slot, requestId: number, hash: HashAlgorithm, digests: Uint8Array[]): void {
    if (this.signerFailure) {
      this.post(slot, { type: 'sign-failed', requestId, message: this.signerFailure.message });
      return;
    }
    this.backend.signBatch(digests, hash).then(
      (results) => {
        const replies: SignReply[] = results.map((r) => {
          if (!r.error && r.signature) return { signature: r.signature, tokenSerial: r.tokenSerial };
          const error = r.error ?? new Error('the signer returned no signature');
          this.signerFailure ??= error;
          return { failed: error.message };
        });
        this.post(slot, { type: 'signed', requestId, replies });
      },
      (err: Error) => {
        this.signerFailure ??= err;
        this.post(slot, { type: 'sign-failed', requestId, message: err.message });
      },
    );
  }

  private post(slot: Slot, message: ToWorker): void {
    if (!this.closing) slot.worker.postMessage(message);
  }

  /** A worker crash (a bug), or undefined. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** The signer's fatal error (token removed, ...), or undefined. */
  get signerError(): Error | undefined {
    return this.signerFailure;
  }

  get inFlight(): number {
    return this.slots.reduce((n, s) => n + s.inFlight, 0);
  }

  /** Hand a chunk to the least busy worker, waiting for room. */
  async submit(tasks: FileTask[]): Promise<void> {
    if (tasks.length === 0) return;
    for (;;) {
      if (this.failure) throw this.failure;
      const slot = this.slots.reduce((best, s) => (s.inFlight < best.inFlight ? s : best));
      if (slot.inFlight < this.depth) {
        slot.inFlight += 1;
        this.post(slot, { type: 'chunk', id: this.nextChunk++, tasks });
        return;
      }
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  /** Wait until every submitted chunk came back. */
  async drain(): Promise<void> {
    while (this.inFlight > 0 && !this.failure) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  private wake(): void {
    const room = this.roomWaiters;
    this.roomWaiters = [];
    room.forEach((r) => r());
    if (this.inFlight === 0 || this.failure) {
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      idle.forEach((r) => r());
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate().catch(() => undefined)));
    this.wake();
  }
}
