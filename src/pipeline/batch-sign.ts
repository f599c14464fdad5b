import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import type { HashAlgorithm } from '../crypto/hash';
import { certificateInfo } from '../crypto/certificate';
import type { DnStyle } from '../formats/model';
import { ExitCode, OpenctlError } from '../util/errors';
import { AuditLog } from './audit';
import { PemBackend, type SigningBackend } from './backend';
import { collidingSource, OutputClaims } from './claims';
import { Committer } from './committer';
import { BatchEvents, type BatchFailure, type BatchSummary } from './events';
import { encryptedOutputOf } from './rel-path';
import { mustBeXml, phoneMacOf } from './file-checks';
import { chooseFlusher, type FlushMode } from './flusher-choice';
import { Journal, readJournal, settingsDiff, type JobHeader, type JobSettings, type JournalContents, type ManifestEntry } from './journal';
import { finishJob, removeTempFiles } from './job-finish';
import { readManifestEntries } from './manifest';
import { ProgressMeter } from './progress';
import type { FileResult, FileTask } from './protocol';
import { acquireLock, statePaths, type StatePaths } from './state-files';
import { signerExpiryWarning } from '../trust/expiry';
import { countFiles, skipProblem, walkFileBatches, type SkipKind, type WalkOptions } from './walk';
import { describeWriteError } from '../util/atomic-write';
import type { WorkerPool } from './worker-pool';
import { SignedFileTemplate } from './signed-template';
import { loadNativeCore } from './native-core';
import { feedFromNativeWalk, nativeCountFiles, NativeWalk } from './native-walk';
import { filesAddonStatus, loadFilesAddon, NativeFileEngine, nativeRenameAll, nativeRenameChunks, type NativeChunk, type NativeFileKey } from './native-files';

export type BatchSigner =
  /** A PEM file with key and certificate: every worker thread loads it and signs on its own core. */
  | { pem: string }
  /** An opened backend (PKCS#11 tokens, the native pool): the main thread signs the workers' digests. */
  | { backend: SigningBackend };

export interface BatchSignOptions {
  source: string;
  out: string;
  signer: BatchSigner;
  digest?: HashAlgorithm;
  /** Worker threads (default: one per core). */
  jobs?: number;
  include?: string[];
  exclude?: string[];
  /** Folder of phone certificates: configs of those phones are encrypted. */
  encryptWith?: string;
  /** CTL/ITL files that must vouch for the signer. */
  trust?: string[];
  /** Header timestamp of every file (default: the job's start). */
  timestamp?: number;
  dnStyle?: DnStyle;
  resume?: boolean;
  incremental?: boolean;
  prune?: boolean;
  /** Sign into an OUT_DIR that already holds files (without --resume or --incremental), replacing outputs. */
  force?: boolean;
  signal?: AbortSignal;
  events?: BatchEvents;
  /** Tuning (benchmarks and tests). */
  groupSize?: number;
  groupDelayMs?: number;
  chunkSize?: number;
  flush?: FlushMode;
  /** false: the per-file work stays with the worker threads even where the native file engine is built. */
  nativeFiles?: boolean;
  /** syncfs of the native addon, when loaded. */
  nativeSyncfs?: (fd: number) => void | Promise<void>;
}

/**
 * Loaded when used: the worker threads (no native engine), --trust (the trust-list parser), --encrypt-with (the
 * phone certificates). A PEM batch on the native engine loads none of them.
 */
const workerPool = () => (require('./worker-pool') as typeof import('./worker-pool')).WorkerPool;
const trustCheck = () => require('./trust-check') as typeof import('./trust-check');
const deviceCertsModule = () => require('./device-certs') as typeof import('./device-certs');

const fingerprintOf = (der: Uint8Array) => createHash('sha256').update(der).digest('hex');

/**
 * `openctl batch sign`: every matching file under `source` becomes `out/<same path>.sgn` (and, for a phone with a
 * certificate in `encryptWith`, `NAME.enc.sgn` plus its stub `NAME.sgn`). Resolves to the summary whatever
 * happened to single files; rejects (OpenctlError) only when the batch cannot start, or on a bug.
 */
export async function batchSign(options: BatchSignOptions): Promise<BatchSummary> {
  const started = Date.now();
  const events = options.events ?? new BatchEvents();
  const source = path.resolve(options.source);
  const out = path.resolve(options.out);
  await checkFolders(source, out);
  await checkOutFolderFree(out, options);
  const hash = options.digest ?? 'sha1';
  const backend: SigningBackend = 'pem' in options.signer ? await PemBackend.load(options.signer.pem) : options.signer.backend;
  const closers: Array<() => Promise<unknown>> = [];
  if ('pem' in options.signer) closers.push(() => backend.close());
  try {
    return await runJob(options, { started, events, source, out, hash, backend, closers });
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}

interface JobContext {
  started: number;
  events: BatchEvents;
  source: string;
  out: string;
  hash: HashAlgorithm;
  backend: SigningBackend;
  /** Run in reverse order at the end, whatever happened. */
  closers: Array<() => Promise<unknown>>;
}

async function runJob(options: BatchSignOptions, ctx: JobContext): Promise<BatchSummary> {
  const { started, events, source, out, hash, backend, closers } = ctx;
  backend.onTokenLost = (description, err) => events.emit('warning', `${description} stopped (${err.message}); the other tokens carry on`);

  // The threads load their code while this thread checks the signer, the lists and the journal.
  const counts = { signed: 0, kept: 0, failed: 0 };
  const failures: BatchFailure[] = [];
  const skippedFiles: BatchFailure[] = [];
  let onResults: (results: FileResult[]) => void = () => undefined;
  const remote = backend.workerPem === undefined;
  const jobs = Math.max(1, options.jobs ?? os.availableParallelism());
  // Plain `.sgn` files with a PEM key or one token go to the native threads when the addon is built; otherwise
  // (and for encrypted configs, --incremental) the worker threads, started now, do the same work in JavaScript.
  const nativeKey = options.encryptWith || options.incremental || options.nativeFiles === false ? undefined : nativeFileKeyOf(backend);
  if (!nativeKey && !options.encryptWith && !options.incremental && options.nativeFiles !== false) {
    // A stale build (from before a function this version calls) is never called: say how to get it back.
    const why = filesAddonStatus();
    if (why.includes('older build')) events.emit('warning', `the native file engine is not used: ${why}; signing through the worker threads`);
  }
  const workers = nativeKey ? undefined : workerPool().spawn({ jobs, depth: remote ? 4 : 3, backend, onResults: (results) => onResults(results) });
  if (workers) closers.push(() => workers.close());

  const fingerprint = fingerprintOf(backend.certificate);
  const signerInfo = certificateInfo(backend.certificate);
  const expiry = signerExpiryWarning(Buffer.from(backend.certificate), new Date(started));
  if (expiry) events.emit('warning', expiry.message);
  if (options.trust?.length) {
    const check = await trustCheck().checkSignerTrusted(backend.certificate, options.trust);
    for (const file of check.notIn) events.emit('warning', `${file} does not list the signer: phones holding only it would reject the files`);
  }
  const deviceCerts = options.encryptWith ? await deviceCertsModule().indexDeviceCertificates(options.encryptWith) : undefined;
  const template = await SignedFileTemplate.derive(backend, hash, options.dnStyle);
  if (!template) events.emit('warning', 'the fast header template did not match buildSignedFile: signing through the generic builder');

  await fs.mkdir(out, { recursive: true }).catch((err: unknown) => {
    throw describeWriteError(out, err);
  });
  const paths = statePaths(out);
  closers.push(await acquireLock(paths));
  await checkOutFolderFree(out, options, true);
  const settings: JobSettings = {
    source,
    signer: fingerprint,
    digest: hash,
    timestamp: options.timestamp ?? Math.floor(started / 1000),
    include: options.include ?? [],
    exclude: options.exclude ?? [],
    encryptWith: options.encryptWith ? path.resolve(options.encryptWith) : undefined,
    incremental: options.incremental ?? false,
  };
  const { journal, previousJob } = await openJournal(paths, settings, options, events, started);
  closers.push(() => journal.close());
  const jobId = journal.header.jobId;
  settings.timestamp = journal.header.timestamp;
  await removeTempFiles(out);

  // What the journal already holds, and which output belongs to which source (name collisions).
  const done = new Set<string>();
  const claims = new OutputClaims();
  if (previousJob) {
    for await (const entry of previousJob.entries()) {
      done.add(entry.source);
      claims.claim(entry.outputs.map((o) => o.file));
    }
  }
  const previousManifest = new Map<string, ManifestEntry>();
  if (settings.incremental) {
    for await (const entry of readManifestEntries(paths.manifest)) previousManifest.set(entry.source, entry);
  }

  const audit = await AuditLog.open(paths.audit);
  closers.push(() => audit.close());
  const nativeSyncfs = options.nativeSyncfs ?? nativeSyncfsIfBuilt();
  const flusher = await chooseFlusher(out, options.flush ?? 'auto', nativeSyncfs);
  closers.push(() => flusher.close());

  const fileEvents = () => events.listenerCount('file') > 0;
  const fail = (file: string, problem: string) => {
    failures.push({ source: file, problem });
    counts.failed += 1;
    events.emit('problem', { source: file, status: 'failed', problem });
    if (fileEvents()) events.emit('file', { source: file, status: 'failed', problem });
  };
  const meter = new ProgressMeter(events, counts, done.size);
  closers.push(async () => meter.stop());
  const committer = new Committer({
    outRoot: out,
    flusher,
    journal,
    audit,
    groupSize: options.groupSize ?? 2048,
    maxDelayMs: options.groupDelayMs ?? 1000,
    onFailed: (file, problem) => {
      counts.signed -= 1;
      fail(file, problem);
    },
    onCommitted: (files) => events.emit('commit', { files, committed: meter.committed(files) }),
    renameAll: nativeRenameAll(),
    renameChunks: nativeKey ? nativeRenameChunks() : undefined,
  });
  // After a failure, the open group's temp files go (a normal end commits them first: nothing left to remove).
  closers.push(() => committer.discard());

  onResults = (results) => {
    for (const r of results) {
      if (r.status === 'signed') {
        counts.signed += 1;
        committer.add(r.source, r.journalLine, r.renames, r.auditLines);
        if (fileEvents()) events.emit('file', { source: r.source, status: 'signed', outputs: r.renames.map((x) => x.file) });
      } else if (r.status === 'kept') {
        counts.kept += 1;
        const entry = previousManifest.get(r.source) as ManifestEntry;
        committer.add(r.source, JSON.stringify(entry), [], '');
        if (fileEvents()) events.emit('file', { source: r.source, status: 'kept', outputs: entry.outputs.map((o) => o.file) });
      } else if (r.status === 'failed') {
        fail(r.source, r.problem);
      }
    }
  };

  // A native chunk goes to the committer whole; per file only its failures (and 'file' events when listened to).
  const onChunk = (chunk: NativeChunk) => {
    counts.signed += chunk.signed;
    committer.addChunk(chunk);
    if (chunk.signed > 0 && fileEvents()) {
      for (let i = 0; i < chunk.names.count; i += 1) {
        if (chunk.status[i] === 0) events.emit('file', { source: chunk.names.source(i), status: 'signed', outputs: [chunk.names.output(i)] });
      }
    }
  };
  let native: NativeFileEngine | undefined;
  try {
    if (nativeKey && template) {
      native = NativeFileEngine.open({
        key: nativeKey,
        threads: jobs,
        srcRoot: source,
        outRoot: out,
        hash,
        timestamp: settings.timestamp,
        template: template.parts(),
        fingerprint,
        jobId,
        onChunk,
        onProblem: fail,
      });
    }
  } catch (err) {
    events.emit('warning', `the native file engine did not start (${(err as Error).message}): signing through the worker threads`);
  }
  const pool: FileEngine = native ?? workers ?? workerPool().spawn({ jobs, depth: remote ? 4 : 3, backend, onResults: (results) => onResults(results) });
  if (pool !== workers) closers.push(() => pool.close());
  if (!(pool instanceof NativeFileEngine)) await (pool as WorkerPool).init({
    certificate: backend.certificate,
    keyBits: backend.keyBits,
    description: backend.description,
    pem: backend.workerPem,
    hash,
    timestamp: settings.timestamp,
    dnStyle: options.dnStyle,
    fingerprint,
    jobId,
    template: template?.parts(),
    srcRoot: source,
    outRoot: out,
  });
  const setupMs = Date.now() - started;
  events.emit('start', {
    jobId,
    resumed: previousJob !== undefined,
    alreadyDone: done.size,
    jobs,
    backend: backend.kind,
    signer: backend.description,
    flusher: flusher.name,
  });

  const walkOptions: WalkOptions = {
    include: settings.include,
    exclude: settings.exclude,
    skipDirs: isInside(out, source) ? [out] : [],
  };
  // Without filters, outside a resume, the native engine takes its files from the walk in C (native-walk.ts).
  const nativeWalk = native && done.size === 0 && !settings.include.length && !settings.exclude.length ? openNativeWalk(source, walkOptions.skipDirs ?? []) : undefined;
  if (nativeWalk) closers.push(async () => nativeWalk.close());
  let counted: number | undefined;
  if (nativeWalk) countNatively(source, walkOptions, meter, (n) => (counted = n));
  else startCounting(source, walkOptions, options.signal, meter, closers);
  const onSkip = (rel: string, problem: string, kind: SkipKind) => {
    if (kind === 'unreadable') return fail(rel, problem); // its files could not even be listed: a failure, retried by a later run
    skippedFiles.push({ source: rel, problem });
    events.emit('problem', { source: rel, status: 'skipped', problem });
    if (fileEvents()) events.emit('file', { source: rel, status: 'skipped', problem });
  };

  // The walk feeds the workers in chunks; submit() and room() wait while the queues are full.
  // The native engine takes larger chunks: each one wakes this thread once, and its files cost no message.
  const chunkSize = options.chunkSize ?? (pool instanceof NativeFileEngine ? 128 : remote ? 64 : 32);
  const stopReason = (): string | undefined =>
    options.signal?.aborted
      ? 'interrupted'
      : pool.signerError
        ? pool.signerError.message
        : committer.error
          ? committer.error.message
          : undefined;
  const collision = (rel: string, outputs: readonly string[]) => {
    const other = collidingSource(source, rel) ?? 'another file of this batch';
    fail(rel, `name collision: ${outputs.join(' and ')} would replace the output of ${other} (names that differ only by letter case)`);
  };
  if (nativeWalk && native) {
    await feedFromNativeWalk({
      walk: nativeWalk,
      engine: native,
      chunkSize,
      threads: jobs,
      total: () => counted,
      stopped: () => stopReason() !== undefined,
      room: () => committer.room(),
      onCollision: (rel) => collision(rel, [`${rel}.sgn`]),
      onSkip,
    });
  } else {
    await feedWorkers({
      batches: walkFileBatches(source, { ...walkOptions, onSkip }),
      chunkSize,
      stopped: () => stopReason() !== undefined,
      plan: (rel) => {
        if (done.has(rel)) return undefined;
        const planned = makeTask(rel, deviceCerts, previousManifest, fingerprint, hash);
        if (claims.claim(planned.outputs)) return planned.task;
        collision(rel, planned.outputs);
        return undefined;
      },
      submit: async (chunk, last) => {
        if (!last) await committer.room();
        await pool.submit(chunk);
      },
    });
  }
  await pool.drain();
  if (pool.error) throw pool.error;
  await committer.finish();
  meter.stop();

  let stopped = stopReason();
  let finished = { pruned: 0, outputs: 0 };
  if (!stopped) {
    try {
      finished = await finishJob({ out, paths, journal, jobId, settings, signerInfo, backend, counts, failures, skipped: skippedFiles, prune: options.prune ?? false });
    } catch (err) {
      // Every output is durable and in the journal: only the manifest is missing. The journal stays, so that
      // `--resume` writes the manifest once there is room (it signs nothing again).
      stopped = `${describeWriteError(paths.manifest, err).message}; every signed file is in place: free space, then run the same command with --resume to write the manifest`;
    }
  }
  const elapsedMs = Date.now() - started;
  const processed = counts.signed + counts.kept + counts.failed;
  const summary: BatchSummary = {
    jobId,
    source,
    out,
    resumed: previousJob !== undefined,
    complete: !stopped,
    stopped,
    total: done.size + processed,
    ...counts,
    alreadyDone: done.size,
    pruned: finished.pruned,
    outputs: finished.outputs,
    elapsedMs,
    setupMs,
    filesPerSecond: elapsedMs > 0 ? (processed * 1000) / elapsedMs : 0,
    backend: backend.kind,
    jobs,
    flusher: flusher.name,
    fileEngine: pool instanceof NativeFileEngine ? 'native' : 'workers',
    failures,
    skipped: skippedFiles.length,
    skippedFiles,
    manifest: stopped ? undefined : paths.manifest,
    exitCode: !stopped
      ? counts.failed > 0
        ? ExitCode.Rejected
        : ExitCode.Ok
      : stopped === 'interrupted'
        ? ExitCode.Interrupted
        : pool.signerError
          ? ((pool.signerError as OpenctlError).exitCode ?? ExitCode.Token)
          : (committer.error?.exitCode ?? ExitCode.Rejected), // a full disk (outputs or manifest) is exit 1: resumable
  };
  events.emit('end', summary);
  return summary;
}

/**
 * The walk feeds the workers in chunks. A loop of its own rather than inside runJob: the loop runs once per
 * file, so V8 optimizes the function holding it, and optimizing all of runJob (twice, after a deopt) cost
 * more background CPU than some thousand files' signing overhead.
 */
async function feedWorkers(o: {
  batches: AsyncIterable<ReadonlyArray<{ rel: string }>>;
  chunkSize: number;
  stopped: () => boolean;
  /** The file's task, or undefined when it is already done or failed here. */
  plan: (rel: string) => FileTask | undefined;
  /** Hand a chunk on, waiting for room in the queues (the last chunk only for the workers' room). */
  submit: (chunk: FileTask[], last: boolean) => Promise<void>;
}): Promise<void> {
  let chunk: FileTask[] = [];
  walk: for await (const batch of o.batches) {
    for (const entry of batch) {
      if (o.stopped()) break walk;
      const task = o.plan(entry.rel);
      if (!task) continue;
      chunk.push(task);
      if (chunk.length >= o.chunkSize) {
        await o.submit(chunk, false);
        chunk = [];
      }
    }
  }
  if (chunk.length > 0 && !o.stopped()) await o.submit(chunk, true);
}

/** The journal: a new job, or the interrupted one this run finishes (with the same settings). */
async function openJournal(
  paths: StatePaths,
  settings: JobSettings,
  options: BatchSignOptions,
  events: BatchEvents,
  started: number,
): Promise<{ journal: Journal; previousJob?: JournalContents }> {
  const previousJob = await readJournal(paths.journal);
  const out = path.dirname(paths.dir);
  if (previousJob && !options.resume) {
    throw new OpenctlError(
      `${out} holds an interrupted batch (started ${previousJob.header.startedAt}): run again with --resume to finish it, or delete ${paths.journal} to start over`,
    );
  }
  if (previousJob) {
    const differ = settingsDiff(previousJob.header, settings);
    if (options.timestamp !== undefined && options.timestamp !== previousJob.header.timestamp) differ.push('--timestamp');
    if (differ.length > 0) {
      throw new OpenctlError(`--resume: the interrupted batch in ${out} was started with another ${differ.join(', ')}; give the same options, or delete ${paths.journal} to start over`);
    }
    return { journal: await Journal.reopen(paths.journal, previousJob.header), previousJob };
  }
  if (options.resume) events.emit('warning', `${out}: no interrupted batch to resume; starting a new one`);
  const header: JobHeader = { type: 'job', version: 1, jobId: randomUUID(), startedAt: new Date(started).toISOString(), ...settings };
  return { journal: await Journal.create(paths.journal, header) };
}

/** A second walk that only counts, for the ETA; stopped with the batch. */
function startCounting(source: string, walkOptions: WalkOptions, signal: AbortSignal | undefined, meter: ProgressMeter, closers: JobContext['closers']): void {
  const counting = new AbortController();
  const onAbort = () => counting.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  closers.push(async () => {
    counting.abort();
    signal?.removeEventListener('abort', onAbort);
  });
  countFiles(source, walkOptions, counting.signal).then(
    (n) => {
      if (!counting.signal.aborted) meter.setTotal(n);
    },
    () => undefined,
  );
}

function openNativeWalk(source: string, skipDirs: readonly string[]): NativeWalk | undefined {
  try {
    return NativeWalk.open(source, skipDirs);
  } catch (err) {
    throw new OpenctlError(`${source}: cannot read the folder: ${(err as Error).message}`);
  }
}

/** The count for the ETA from the walk in C, off this thread (a failed count leaves the ETA out). */
function countNatively(source: string, walkOptions: WalkOptions, meter: ProgressMeter, onCount: (n: number) => void): void {
  nativeCountFiles(source, walkOptions.skipDirs ?? [])?.then(
    (n) => {
      onCount(n);
      meter.setTotal(n);
    },
    () => undefined,
  );
}

function nativeSyncfsIfBuilt(): ((fd: number) => Promise<void>) | undefined {
  const core = loadNativeCore();
  return core ? (fd) => core.syncfs(fd) : undefined;
}

/** What batch-sign needs of a file engine: the worker threads (WorkerPool) or the native one. */
type FileEngine = Pick<WorkerPool, 'submit' | 'drain' | 'close' | 'error' | 'signerError'>;

/** The key as the native file engine takes it, when that engine can sign for this backend. */
function nativeFileKeyOf(backend: SigningBackend): NativeFileKey | undefined {
  if (!loadFilesAddon()) return undefined;
  if (backend.workerPem !== undefined) return { pem: backend.workerPem };
  return backend.nativeFileKey?.();
}

interface PlannedTask {
  task: FileTask;
  outputs: string[];
}

function makeTask(
  rel: string,
  deviceCerts: Map<string, string> | undefined,
  previousManifest: Map<string, ManifestEntry>,
  fingerprint: string,
  hash: HashAlgorithm,
): PlannedTask {
  const output = `${rel}.sgn`;
  const mac = deviceCerts ? phoneMacOf(rel) : undefined;
  const deviceCert = mac ? deviceCerts?.get(mac) : undefined;
  const task: FileTask = { source: rel, output, xml: mustBeXml(rel), deviceCert };
  const previous = previousManifest.get(rel);
  if (previous && previous.signer === fingerprint && previous.digest === hash) {
    task.previous = { sourceSha256: previous.sourceSha256, deviceCertSha256: previous.deviceCertSha256, outputs: previous.outputs };
  }
  return { task, outputs: deviceCert ? [encryptedOutputOf(output), output] : [output] };
}

async function checkFolders(source: string, out: string): Promise<void> {
  const stat = await fs.stat(source).catch(() => undefined);
  if (!stat) throw new OpenctlError(`${source}: no such folder`);
  if (!stat.isDirectory()) throw new OpenctlError(`${source}: not a folder (batch sign takes a folder of files to sign)`);
  // Listed now, before any key or PIN is asked for: a folder that cannot be read is bad input, not a failed walk.
  await fs.opendir(source).then(
    (dir) => dir.close(),
    (err: NodeJS.ErrnoException) => {
      throw new OpenctlError(`${source}: ${skipProblem('unreadable', err.code ?? String(err))}`);
    },
  );
  if (source === out) throw new OpenctlError(`--out ${out}: must differ from the source folder`);
  const outStat = await fs.stat(out).catch(() => undefined);
  if (outStat && !outStat.isDirectory()) throw new OpenctlError(`--out ${out}: not a folder`);
}

/**
 * A new batch replaces outputs of the same name: into a folder that already holds files, it needs --force (or
 * --resume / --incremental, which know what the folder holds). An interrupted batch is left to the journal check,
 * which says to resume it. Checked twice: before the signer is opened (no PIN asked for a run that cannot start),
 * where a lock file defers the verdict to the lock (another batch writing is the true reason), and again once this
 * run holds the lock, where the state folder it made itself does not count.
 */
async function checkOutFolderFree(out: string, options: BatchSignOptions, holdingLock = false): Promise<void> {
  if (options.force || options.resume || options.incremental) return;
  const paths = statePaths(out);
  const stateDir = path.basename(paths.dir);
  let entries = (await fs.readdir(out).catch(() => [] as string[])).filter((e) => !(holdingLock && e === stateDir));
  if (entries.length === 0) return;
  // Read after the folder: a batch that wrote outputs held the lock while it did, so a lock seen now is the reason.
  if (!holdingLock && (await fs.lstat(paths.lock).then(() => true, () => false))) return;
  // A state folder holding nothing but lock files is another batch between its mkdir and its lock (or one that
  // stopped there): not an output, and the lock will say whether that batch is still writing.
  if (!holdingLock && entries.includes(stateDir) && (await onlyLockFiles(paths.dir))) entries = entries.filter((e) => e !== stateDir);
  if (entries.length === 0) return;
  if (await fs.stat(paths.journal).then(() => true, () => false)) return;
  throw new OpenctlError(
    `--out ${out}: already holds ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}: add --force to sign into it (files of the same name are replaced), --incremental to sign only what changed, or choose an empty folder`,
  );
}

/** True when `dir` holds only the lock and its temp and stale files (`lock`, `lock.*`), or nothing. */
async function onlyLockFiles(dir: string): Promise<boolean> {
  const names = await fs.readdir(dir).catch(() => undefined);
  return names !== undefined && names.every((n) => n === 'lock' || n.startsWith('lock.'));
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export { removeTempFiles };
