import * as fs from 'node:fs';
import * as path from 'node:path';
import { getSystemErrorMap } from 'node:util';
import type { HashAlgorithm } from '../crypto/hash';
import { describeWriteError } from '../util/atomic-write';
import { TokenError } from '../util/errors';
import { readProblem } from './file-checks';
import { TempNames } from './rel-path';
import { loadNativeCore, nativeBuildDir } from './native-core';
import type { FileTask } from './protocol';
import { joinRel } from './rel-path';
import type { TemplateParts } from './signed-template';

/**
 * The per-file work of `batch sign` in native threads (native-bindings/src/files.c): read, check, hash, build the
 * header from the job's template, sign (a PEM key through node's own OpenSSL, or C_Sign on PKCS#11 sessions),
 * write the temp file, hash the output, for a chunk of files per call. The committer still flushes and journals,
 * and has each commit group's chunks renamed in one native call (renameChunks); JavaScript sees a chunk as one
 * object, and a file on its own only when it failed. Where the addon is not built (no compiler), the worker
 * threads do the same work in JavaScript and write the same bytes (test/pipeline/native-files.test.ts compares them).
 */

interface RawFilesResult {
  status: Buffer;
  errno: Int32Array;
  /** Files of the chunk signed (status 0): their temp files wait for renameChunks. */
  signed: number;
  /** The chunk in C (its names), for renameChunks. */
  chunk: object;
  /** Each signed file's journal line and audit line, each with its newline: file i's bytes end at *End[i]. */
  journal: Buffer;
  journalEnd: Uint32Array;
  audit: Buffer;
  auditEnd: Uint32Array;
}

interface RawFilesAddon {
  open(options: {
    pem?: string;
    pkcs11?: { modulePath: string; slotId: number; keyId?: Uint8Array; keyLabel?: string };
    contexts: number;
    srcRoot: string;
    outRoot: string;
    hash: HashAlgorithm;
    timestamp: number;
    versionElement: Uint8Array;
    signerElements: Uint8Array;
    /** JSON.stringify of the constant values of the journal and audit lines. */
    jsonSigner: string;
    jsonHash: string;
    jsonJob: string;
    jsonToken?: string;
  }): object;
  /** names: "source\0" per file; file i's temp name is made in C from `temps` (as TempNames.at(output, start + i)). */
  signFiles(handle: object, names: string, xml: Uint8Array, temps: { prefix: string; start: number }): Promise<RawFilesResult>;
  close(handle: object): void;
  renameAll(names: string, count: number): Promise<Int32Array>;
  /** Every signed file of the chunks into place (temp -> SOURCE.sgn); (chunk, file, errno) per failed rename. */
  renameChunks(chunks: object[]): Promise<Int32Array>;
  copyJournalEntries(journal: string, fd: number, prefix: string): Promise<JournalCopy>;
  /** The walk in C (native-bindings/src/walk.c; src/pipeline/native-walk.ts). */
  walkOpen(root: string, skipDirs: string[]): object;
  walkNext(handle: object, max: number): RawWalkChunk;
  walkClaim(handle: object, lowered: string): boolean;
  walkClose(handle: object): void;
  countFiles(root: string, skipDirs: string[]): Promise<number>;
}

/** One step of the native walk (see walk.c). */
export interface RawWalkChunk {
  /** "rel\0" per file, claimed: the form signFiles takes with temp names made in C. */
  names: string;
  count: number;
  xml: Uint8Array;
  /** Names with a byte outside ASCII: not claimed (JavaScript lower-cases them). */
  others?: string[];
  /** Names whose output another file already claimed. */
  collisions?: string[];
  /** [rel, kind (0 unreadable folder, 1 special file, 2 dangling link), errno]. */
  problems?: Array<[string, number, number]>;
  done: boolean;
}

/** The functions this version calls: a build from before one of them counts as not built (never a crash). */
const REQUIRED = ['open', 'signFiles', 'close', 'renameAll', 'renameChunks', 'copyJournalEntries', 'walkOpen', 'walkNext', 'walkClaim', 'walkClose', 'countFiles'] as const;

/** Where the key is, for the native threads. */
export type NativeFileKey =
  | { pem: string }
  | { pkcs11: { modulePath: string; slotId: number; keyId?: Uint8Array; tokenSerial: string; tokenLabel: string } };

/** What a module answers once its token is gone (as the native lanes of token-backend.ts say it). */
const GONE = new Set(['CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT', 'CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED', 'CKR_DEVICE_ERROR']);

let addon: RawFilesAddon | null | undefined;

/**
 * The addon, or undefined when it is not built, not loadable, or turned off (OPENCTL_NATIVE=0 turns off every
 * native part, OPENCTL_NATIVE_FILES=0 only this one: the benchmark compares both paths).
 */
export function loadFilesAddon(): RawFilesAddon | undefined {
  if (process.env.OPENCTL_NATIVE === '0' || process.env.OPENCTL_NATIVE_FILES === '0') return undefined;
  if (addon !== undefined) return addon ?? undefined;
  addon = null;
  // The addon calls the OpenSSL 3 of the node that loads it; Electron carries BoringSSL instead.
  if (process.versions.electron || !process.versions.openssl?.startsWith('3.')) return undefined;
  const file = filesAddonPath();
  if (!fs.existsSync(file)) return undefined;
  try {
    const raw = require(file) as RawFilesAddon;
    addon = REQUIRED.every((name) => typeof raw[name] === 'function') ? raw : null;
  } catch {
    addon = null;
  }
  return addon ?? undefined;
}

/**
 * Why the native file engine is not used ('' when it is): for the install hint. An addon built from older sources
 * (without a function this version calls) is "not built": `npm run build:native` rebuilds it.
 */
export function filesAddonStatus(): string {
  if (process.env.OPENCTL_NATIVE === '0' || process.env.OPENCTL_NATIVE_FILES === '0') return 'turned off';
  if (loadFilesAddon()) return '';
  const file = filesAddonPath();
  return fs.existsSync(file) ? `${file} is from an older build (run npm run build:native)` : 'not built';
}

/** The addon file: OPENCTL_FILES_ADDON when set (tests: an old build), else the build folder's. */
function filesAddonPath(): string {
  return process.env.OPENCTL_FILES_ADDON || path.join(nativeBuildDir(), 'openctl_files.node');
}

/**
 * One call of the native threads, handed to the committer whole: the journal and audit lines of its signed files
 * (one Buffer each, every line with its newline), and the chunk in C that renames them. Per-file objects only
 * for the files that failed (reported on their own, as `problem` events); a file's names are made when asked for.
 */
export interface NativeChunk {
  readonly names: ChunkNames;
  /** Per file: 0 signed (see ST). */
  readonly status: Uint8Array;
  readonly signed: number;
  readonly journal: Buffer;
  /** File i's journal bytes end at journalEnd[i] (and start where file i-1's end). */
  readonly journalEnd: Uint32Array;
  readonly audit: Buffer;
  readonly auditEnd: Uint32Array;
  /** The chunk in C. */
  readonly handle: object;
}

/**
 * A chunk's file names, relative (sources to SOURCE_DIR; outputs `SOURCE.sgn` and temp names to OUT_DIR), kept as
 * the "rel\0" string signFiles was given and split only when a name is asked for (a failure, a `file` listener, a
 * flusher that syncs each file).
 */
export class ChunkNames {
  private sources: readonly string[] | undefined;

  constructor(
    private readonly joined: string,
    readonly count: number,
    private readonly temps: TempNames,
    private readonly firstCounter: number,
  ) {}

  source(i: number): string {
    this.sources ??= this.joined.split('\0', this.count);
    return this.sources[i];
  }

  output(i: number): string {
    return `${this.source(i)}.sgn`;
  }

  temp(i: number): string {
    return this.temps.at(this.output(i), this.firstCounter + i);
  }
}

/** A rename of a chunk that failed: the chunk, the file's index in it, its errno. */
export interface ChunkRenameFailure {
  chunk: NativeChunk;
  index: number;
  errno: number;
}

export type RenameChunks = (chunks: readonly NativeChunk[]) => Promise<ChunkRenameFailure[]>;

/** The committer's renames of native chunks: one call on libuv's pool for a whole commit group. */
export function nativeRenameChunks(): RenameChunks | undefined {
  const raw = loadFilesAddon();
  if (!raw) return undefined;
  return async (chunks) => {
    if (chunks.length === 0) return [];
    const triples = await raw.renameChunks(chunks.map((c) => c.handle));
    const failures: ChunkRenameFailure[] = [];
    for (let k = 0; k < triples.length; k += 3) failures.push({ chunk: chunks[triples[k]], index: triples[k + 1], errno: triples[k + 2] });
    return failures;
  };
}

/** Renames of one commit group in parallel parts; one errno per pair (0: renamed), in order. */
export type RenameAll = (pairs: ReadonlyArray<{ from: string; to: string }>) => Promise<Int32Array>;

/**
 * The committer's renames through the addon: each part is one call on libuv's pool (a rename per file on the
 * event loop cost more than the rename on a busy machine), up to four parts at once for slow (network) folders.
 */
export function nativeRenameAll(): RenameAll | undefined {
  const raw = loadFilesAddon();
  if (!raw) return undefined;
  return async (pairs) => {
    const parts = Math.max(1, Math.min(4, Math.ceil(pairs.length / 512)));
    const size = Math.ceil(pairs.length / parts);
    const calls: Array<Promise<Int32Array>> = [];
    for (let start = 0; start < pairs.length; start += size) {
      const slice = pairs.slice(start, start + size);
      // One join builds the flat string at once; += would build a rope that the call then flattens.
      const parts: string[] = [];
      for (const p of slice) parts.push(p.from, p.to);
      parts.push('');
      calls.push(raw.renameAll(parts.join('\0'), slice.length));
    }
    const errnos = new Int32Array(pairs.length);
    let at = 0;
    for (const part of await Promise.all(calls)) {
      errnos.set(part, at);
      at += part.length;
    }
    return errnos;
  };
}

/** What copyJournalEntries wrote: entries, their output records, bytes. */
export interface JournalCopy {
  lines: number;
  outputs: number;
  bytes: number;
}

/**
 * The journal's entry lines (all but its header line) written to `fd` at its offset as manifest entries: `prefix`
 * before the first, ",\n" between them; in C on libuv's pool (reads, joins, counts and writes, no string per line
 * here). Undefined without the addon. Rejects with the errno of a failed read or write.
 */
export function nativeCopyJournalEntries(): RawFilesAddon['copyJournalEntries'] | undefined {
  const raw = loadFilesAddon();
  return raw ? (journal, fd, prefix) => raw.copyJournalEntries(journal, fd, prefix) : undefined;
}

export interface NativeFileEngineOptions {
  key: NativeFileKey;
  /** Native threads: one per core. */
  threads: number;
  srcRoot: string;
  outRoot: string;
  hash: HashAlgorithm;
  timestamp: number;
  template: TemplateParts;
  fingerprint: string;
  jobId: string;
  /** Every finished chunk (also one whose files all failed: then `signed` is 0). */
  onChunk: (chunk: NativeChunk) => void;
  /** A file that failed (read, not XML, temp file), with the message the worker threads give. */
  onProblem: (source: string, problem: string) => void;
}

const ST = { signed: 0, read: 1, empty: 2, notXml: 3, write: 4, signer: 5 } as const;

/** An errno as node's fs errors carry it: `code` and the usual message. */
export function errnoError(errno: number, syscall: string, file: string): NodeJS.ErrnoException {
  const [code, description] = getSystemErrorMap().get(-errno) ?? [`E${errno}`, 'unknown error'];
  const err: NodeJS.ErrnoException = new Error(`${code}: ${description}, ${syscall} '${file}'`);
  err.code = code;
  err.errno = -errno;
  return err;
}

/**
 * Same surface as WorkerPool for batch-sign.ts: `submit` waits for room (one call per thread in flight, plus
 * one queued so that no thread waits for the main thread), `drain`, `close`, `error`, `signerError`.
 */
export class NativeFileEngine {
  private readonly handle: object;
  private readonly temps = new TempNames();
  private inFlight = 0;
  private readonly depth: number;
  private waiters: Array<() => void> = [];
  private failure: Error | undefined;
  private signerFailure: Error | undefined;
  private readonly tokenSerial: string | undefined;
  private readonly tokenLabel: string | undefined;

  private constructor(
    private readonly raw: RawFilesAddon,
    private readonly options: NativeFileEngineOptions,
  ) {
    const contexts = options.threads;
    this.depth = contexts + 1;
    const key = options.key;
    this.tokenSerial = 'pkcs11' in key ? key.pkcs11.tokenSerial : undefined;
    this.tokenLabel = 'pkcs11' in key ? key.pkcs11.tokenLabel : undefined;
    this.handle = raw.open({
      ...('pem' in key ? { pem: key.pem } : { pkcs11: { modulePath: key.pkcs11.modulePath, slotId: key.pkcs11.slotId, keyId: key.pkcs11.keyId } }),
      contexts,
      srcRoot: options.srcRoot,
      outRoot: options.outRoot,
      hash: options.hash,
      timestamp: options.timestamp,
      versionElement: options.template.versionElement,
      signerElements: options.template.signerElements,
      jsonSigner: JSON.stringify(options.fingerprint),
      jsonHash: JSON.stringify(options.hash),
      jsonJob: JSON.stringify(options.jobId),
      jsonToken: this.tokenSerial === undefined ? undefined : JSON.stringify(this.tokenSerial),
    });
  }

  /** Undefined when the addon is not there (the caller uses the worker threads). */
  static open(options: NativeFileEngineOptions): NativeFileEngine | undefined {
    const raw = loadFilesAddon();
    return raw ? new NativeFileEngine(raw, options) : undefined;
  }

  get error(): Error | undefined {
    return this.failure;
  }

  get signerError(): Error | undefined {
    return this.signerFailure;
  }

  /** A chunk the walk in JavaScript planned. */
  async submit(tasks: FileTask[]): Promise<void> {
    if (tasks.length === 0) return;
    const xml = new Uint8Array(tasks.length);
    const parts: string[] = [];
    for (let i = 0; i < tasks.length; i += 1) {
      parts.push(tasks[i].source);
      xml[i] = tasks[i].xml ? 1 : 0;
    }
    parts.push('');
    await this.submitJoined(parts.join('\0'), tasks.length, xml);
  }

  /** A chunk of the native walk as it gave it ("rel\0" per file, claimed): no JavaScript per file. */
  async submitJoined(names: string, count: number, xml: Uint8Array): Promise<void> {
    if (count === 0) return;
    while (this.inFlight >= this.depth && !this.failure) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.failure) throw this.failure;
    const start = this.temps.reserve(count);
    const chunkNames = new ChunkNames(names, count, this.temps, start);
    this.inFlight += 1;
    this.raw.signFiles(this.handle, names, xml, { prefix: this.temps.prefix, start }).then(
      (result) => {
        this.inFlight -= 1;
        try {
          this.deliver(chunkNames, result);
        } catch (err) {
          this.failure ??= err as Error;
        }
        this.wake();
      },
      (err: Error) => {
        this.inFlight -= 1;
        this.failure ??= new Error(`native file signer failed: ${err.message}`);
        this.wake();
      },
    );
  }

  async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.drain();
    this.raw.close(this.handle);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  /** The chunk as it is to the committer; the failed files (the only per-file work here) as problems. */
  private deliver(names: ChunkNames, r: RawFilesResult): void {
    if (r.signed < names.count) {
      const { srcRoot, outRoot } = this.options;
      for (let i = 0; i < names.count; i += 1) {
        const status = r.status[i];
        if (status === ST.signed) continue;
        const source = names.source(i);
        if (status === ST.read) {
          this.options.onProblem(source, readProblem(errnoError(r.errno[i], 'open', joinRel(srcRoot, source))));
        } else if (status === ST.empty) {
          this.options.onProblem(source, 'empty file');
        } else if (status === ST.notXml) {
          this.options.onProblem(source, 'not XML (a .xml file a phone parses must be XML)');
        } else if (status === ST.write) {
          const target = joinRel(outRoot, names.output(i));
          this.options.onProblem(source, describeWriteError(target, errnoError(r.errno[i], 'open', target)).message);
        } else {
          // The signer stopped (a token removed...): the file is left for the resume, like the workers do.
          this.signerFailure ??= this.signerStopped(r.errno[i]);
        }
      }
    }
    this.options.onChunk({
      names,
      status: r.status,
      signed: r.signed,
      journal: r.journal,
      journalEnd: r.journalEnd,
      audit: r.audit,
      auditEnd: r.auditEnd,
      handle: r.chunk,
    });
  }

  private signerStopped(rv: number): Error {
    if (this.tokenSerial === undefined) return new TokenError('the PEM key could not sign (OpenSSL refused)');
    const code = rv > 0 ? (loadNativeCore()?.ckrName(rv) ?? `CKR_0x${rv.toString(16).toUpperCase().padStart(8, '0')}`) : 'no signature';
    if (GONE.has(code)) return new TokenError(`token ${this.tokenLabel} was removed during signing (${code})`);
    return new TokenError(`token ${this.tokenLabel}: C_Sign failed: ${code}`);
  }
}
