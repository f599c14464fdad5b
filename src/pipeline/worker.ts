import { parentPort } from 'node:worker_threads';
import type { HashAlgorithm } from '../crypto/hash';
import { pemSignerFromText } from '../crypto/pem-signer';
import { FileJob, SignerStopped, type WorkerSigning } from './file-job';
import type { FileResult, FileTask, FromWorker, SignReply, ToWorker, WorkerInit } from './protocol';
import { SignedFileTemplate } from './signed-template';

/**
 * A batch worker thread: reads, checks, hashes, builds and (with a PEM key) signs whole files, and writes them
 * as temp files beside their final names. Chunks of files arrive in one message and leave in one message.
 */

const port = parentPort;
if (!port) throw new Error('the batch worker must run in a worker thread');

const post = (message: FromWorker) => port.postMessage(message);

/** Digests waiting for the main thread's signer, sent together once per turn of the event loop. */
class RemoteSigning {
  private nextId = 1;
  private queued: Array<{ digest: Buffer; resolve: (r: SignReply) => void; reject: (e: Error) => void }> = [];
  private queuedHash: HashAlgorithm | undefined;
  private readonly waiting = new Map<number, Array<{ resolve: (r: SignReply) => void; reject: (e: Error) => void }>>();
  private stopped: string | undefined;

  sign(digest: Buffer, hash: HashAlgorithm): Promise<SignReply> {
    if (this.stopped !== undefined) return Promise.reject(new SignerStopped(this.stopped));
    if (this.queuedHash !== undefined && this.queuedHash !== hash) this.flush();
    return new Promise((resolve, reject) => {
      if (this.queued.length === 0) setImmediate(() => this.flush());
      this.queued.push({ digest, resolve, reject });
      this.queuedHash = hash;
    });
  }

  private flush(): void {
    if (this.queued.length === 0 || this.queuedHash === undefined) return;
    const requestId = this.nextId++;
    const batch = this.queued;
    this.waiting.set(requestId, batch);
    post({ type: 'sign', requestId, hash: this.queuedHash, digests: batch.map((q) => q.digest) });
    this.queued = [];
    this.queuedHash = undefined;
  }

  answered(requestId: number, replies: SignReply[]): void {
    const batch = this.waiting.get(requestId);
    this.waiting.delete(requestId);
    batch?.forEach((waiter, i) => {
      const reply = replies[i];
      if (reply?.signature) {
        waiter.resolve(reply);
      } else {
        this.stopped ??= reply?.failed ?? 'no signature';
        waiter.reject(new SignerStopped(this.stopped));
      }
    });
  }

  failed(requestId: number, message: string): void {
    this.stopped = message;
    const batch = this.waiting.get(requestId);
    this.waiting.delete(requestId);
    batch?.forEach((waiter) => waiter.reject(new SignerStopped(message)));
  }
}

let job: FileJob | undefined;
let remote: RemoteSigning | undefined;
let sequential = true;

async function init(config: WorkerInit): Promise<void> {
  const identity = { certificate: Buffer.from(config.certificate), keyBits: config.keyBits, description: config.description };
  let signing: WorkerSigning;
  if (config.pem !== undefined) {
    const signer = pemSignerFromText(config.pem, config.description);
    const signSync = (digest: Buffer, hash: HashAlgorithm) => signer.signSync(digest, hash);
    signing = { identity, signSync, signAsync: async (digest, hash) => ({ signature: signSync(digest, hash) }) };
  } else {
    remote = new RemoteSigning();
    const r = remote;
    signing = { identity, signAsync: (digest, hash) => r.sign(digest, hash) };
    sequential = false;
  }
  const template = config.template ? SignedFileTemplate.fromParts(config.template) : undefined;
  job = new FileJob({
    fingerprint: config.fingerprint,
    jobId: config.jobId,
    srcRoot: config.srcRoot,
    outRoot: config.outRoot,
    hash: config.hash,
    timestamp: config.timestamp,
    dnStyle: config.dnStyle,
    template,
    signing,
  });
  post({ type: 'ready' });
}

async function runChunk(id: number, tasks: FileTask[]): Promise<void> {
  const current = job as FileJob;
  let results: FileResult[];
  if (sequential) {
    // The key is here: one file after the other keeps this thread's core busy without piling up promises.
    results = new Array<FileResult>(tasks.length);
    for (let i = 0; i < tasks.length; i += 1) {
      const r = current.run(tasks[i]);
      results[i] = r instanceof Promise ? await r : r;
    }
  } else {
    // Signatures come from the main thread: start every file so that their digests travel in one message.
    results = await Promise.all(tasks.map((t) => current.run(t)));
  }
  post({ type: 'done', id, results });
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'init':
      init(message.init).catch((err: Error) => post({ type: 'init-failed', message: err.message }));
      break;
    case 'chunk':
      void runChunk(message.id, message.tasks);
      break;
    case 'signed':
      remote?.answered(message.requestId, message.replies);
      break;
    case 'sign-failed':
      remote?.failed(message.requestId, message.message);
      break;
  }
});
