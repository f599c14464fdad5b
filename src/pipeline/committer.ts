import { promises as fs, renameSync, rmSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import * as path from 'node:path';
import { describeWriteError } from '../util/atomic-write';
import { ExitCode, OpenctlError } from '../util/errors';
import type { AuditLog } from './audit';
import type { Flusher } from './flush';
import { inParallel } from './flush';
import type { Journal } from './journal';
import type { PendingRename, TextLine } from './protocol';
import { joinRel } from './rel-path';
import { errnoError, type NativeChunk, type RenameAll, type RenameChunks } from './native-files';

interface Group {
  sources: string[];
  /** Per source: its journal line, its temp files (none for an entry kept as is), its audit lines. */
  lines: TextLine[];
  renames: PendingRename[][];
  audit: TextLine[];
  /** Whole chunks of the native file engine: their lines as one Buffer each, their renames in C. */
  chunks: NativeChunk[];
  /** Files of the group: sources plus the chunks' signed files. */
  files: number;
}

export interface CommitterOptions {
  outRoot: string;
  flusher: Flusher;
  journal: Journal;
  audit: AuditLog;
  /** Files per group. */
  groupSize: number;
  /** A group never waits longer than this for more files. */
  maxDelayMs: number;
  onFailed: (source: string, problem: string) => void;
  onCommitted: (files: number) => void;
  /** A group's renames in native code (the addon), instead of renameSync slices on the event loop. */
  renameAll?: RenameAll;
  /** The renames of native chunks (required once a chunk is added). */
  renameChunks?: RenameChunks;
}

const emptyGroup = (): Group => ({ sources: [], lines: [], renames: [], audit: [], chunks: [], files: 0 });

/**
 * Durability in groups. A group's temp files are flushed (one syncfs), renamed into place, the renames flushed,
 * the group's signatures appended to the audit log, and only then the group appended to the journal. A crash at
 * any point leaves every journaled file whole on disk; unjournaled ones are signed again by `--resume`, and
 * their leftover temp files removed.
 */
export class Committer {
  private open = emptyGroup();
  private committing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private roomWaiters: Array<() => void> = [];
  private failure: OpenctlError | undefined;
  private committingCount = 0;

  constructor(private readonly options: CommitterOptions) {}

  add(source: string, journalLine: TextLine, renames: PendingRename[], auditLines: TextLine): void {
    this.open.sources.push(source);
    this.open.lines.push(journalLine);
    this.open.renames.push(renames);
    this.open.audit.push(auditLines);
    this.open.files += 1;
    this.added();
  }

  /** A native chunk's signed files, whole: no per-file work here unless a rename fails. */
  addChunk(chunk: NativeChunk): void {
    if (chunk.signed === 0) return;
    this.open.chunks.push(chunk);
    this.open.files += chunk.signed;
    this.added();
  }

  private added(): void {
    if (this.open.files >= this.options.groupSize) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.options.maxDelayMs);
  }

  /** Files signed but not yet durable. */
  get pending(): number {
    return this.open.files + this.committingCount;
  }

  /**
   * Why commits stopped (the journal or the audit log could not be written: disk full...), as one line naming
   * the file; the batch stops and a later --resume signs what the journal does not hold.
   */
  get error(): OpenctlError | undefined {
    return this.failure;
  }

  /** Wait while two groups' worth of files wait for their commit (the bounded queue behind the workers). */
  async room(): Promise<void> {
    while (this.pending >= 2 * this.options.groupSize && !this.failure) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  /** Commit what is open and wait for every commit to end (check `error` afterwards). */
  async finish(): Promise<void> {
    while ((this.committing || this.open.files > 0) && !this.failure) {
      if (!this.committing) this.kick();
      await this.committing;
    }
  }

  /** The temp files of the open group (after a fatal error: removed instead of committed). */
  async discard(): Promise<void> {
    const group = this.open;
    this.open = emptyGroup();
    const temps = group.renames.flat().map((r) => r.tmp);
    for (const chunk of group.chunks) temps.push(...chunkTemps(chunk, this.options.outRoot));
    await inParallel(temps, 16, (tmp) => fs.rm(tmp, { force: true }));
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.committing || this.open.files === 0 || this.failure) return;
    const group = this.open;
    this.open = emptyGroup();
    this.committingCount = group.files;
    this.committing = this.commit(group)
      .catch((err: unknown) => {
        this.failure ??= err instanceof OpenctlError ? err : new OpenctlError(`${this.options.outRoot}: cannot commit: ${(err as Error).message}`, ExitCode.Rejected);
        // The files of this group stay renamed but unjournaled: a resume signs them again.
      })
      .finally(() => {
        this.committing = undefined;
        this.committingCount = 0;
        this.wake();
        if (this.open.files >= this.options.groupSize) this.kick();
        else if (this.open.files > 0) this.timer ??= setTimeout(() => this.kick(), this.options.maxDelayMs);
      });
  }

  private wake(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    waiters.forEach((w) => w());
  }

  private async commit(group: Group): Promise<void> {
    const { flusher } = this.options;
    const { outRoot } = this.options;
    // The names only for a flusher that fsyncs each file and folder (a path.dirname per file showed otherwise).
    const temps = flusher.perFile ? group.renames.flat().map((r) => r.tmp) : [];
    if (flusher.perFile) for (const chunk of group.chunks) temps.push(...chunkTemps(chunk, outRoot));
    const folders = new Set(temps.map((t) => path.dirname(t)));
    const anyTemp = group.chunks.length > 0 || group.renames.some((r) => r.length > 0);
    if (anyTemp) await flusher.flush(temps, new Set());

    const onFailed = (index: number, target: string, err: unknown) => {
      this.options.onFailed(group.sources[index], describeWriteError(target, err).message);
    };
    const { renameAll } = this.options;
    const failed = renameAll ? await renameGroupWith(renameAll, group, outRoot, onFailed) : await renameGroup(group, outRoot, onFailed);
    const chunkFailures = await this.renameChunks(group.chunks);
    if (anyTemp) await flusher.flush([], folders);

    // The lines of what is in place: the per-file ones, then each chunk's (cut only where a rename failed).
    const keep = (_: unknown, i: number) => !failed.has(i);
    const chunkAudit: Uint8Array[] = [];
    const chunkJournal: Uint8Array[] = [];
    let chunkFiles = 0;
    for (const chunk of group.chunks) {
      const drop = chunkFailures.get(chunk);
      chunkAudit.push(...linesOf(chunk.audit, chunk.auditEnd, drop));
      chunkJournal.push(...linesOf(chunk.journal, chunk.journalEnd, drop));
      chunkFiles += chunk.signed - (drop?.size ?? 0);
    }
    const perFileAudit = concatText(group.audit.filter(keep));
    const audit = perFileAudit.length > 0 ? [typeof perFileAudit === 'string' ? Buffer.from(perFileAudit) : perFileAudit, ...chunkAudit] : chunkAudit;
    await stateWrite(this.options.audit.file, () => this.options.audit.appendPieces(audit));
    const lines = group.lines.filter(keep);
    await stateWrite(this.options.journal.file, () => this.options.journal.appendPieces(chunkJournal, lines));
    this.options.onCommitted(lines.length + chunkFiles);
  }

  /** The chunks' renames in one native call; per chunk, the indexes of the files whose rename failed (reported). */
  private async renameChunks(chunks: readonly NativeChunk[]): Promise<Map<NativeChunk, Set<number>>> {
    const failed = new Map<NativeChunk, Set<number>>();
    if (chunks.length === 0) return failed;
    const { renameChunks, outRoot } = this.options;
    if (!renameChunks) throw new Error('native chunks without renameChunks');
    for (const f of await renameChunks(chunks)) {
      let set = failed.get(f.chunk);
      if (!set) failed.set(f.chunk, (set = new Set()));
      set.add(f.index);
      const target = joinRel(outRoot, f.chunk.names.output(f.index));
      this.options.onFailed(f.chunk.names.source(f.index), describeWriteError(target, errnoError(f.errno, 'rename', target)).message);
    }
    return failed;
  }
}

/** The absolute temp names of a chunk's signed files. */
function chunkTemps(chunk: NativeChunk, outRoot: string): string[] {
  const temps: string[] = [];
  for (let i = 0; i < chunk.names.count; i += 1) if (chunk.status[i] === 0) temps.push(joinRel(outRoot, chunk.names.temp(i)));
  return temps;
}

/**
 * A chunk's lines (file i's bytes end at ends[i] and start at ends[i - 1]) as pieces of the one buffer, without
 * the files in `drop`: the whole buffer when nothing is dropped.
 */
export function linesOf(bytes: Buffer, ends: Uint32Array, drop: Set<number> | undefined): Uint8Array[] {
  if (!drop || drop.size === 0) return bytes.length > 0 ? [bytes] : [];
  const pieces: Uint8Array[] = [];
  let pieceStart = 0;
  let start = 0;
  for (let i = 0; i < ends.length; i += 1) {
    if (drop.has(i)) {
      if (start > pieceStart) pieces.push(bytes.subarray(pieceStart, start));
      pieceStart = ends[i];
    }
    start = ends[i];
  }
  if (bytes.length > pieceStart) pieces.push(bytes.subarray(pieceStart));
  return pieces;
}

/** Longest stretch of synchronous renames before the event loop gets a turn (worker results, timers). */
const RENAME_SLICE_MS = 2;
/**
 * Renames slower than this on average (ms) are waiting on a network or a disk rather than using the CPU (tmpfs
 * takes ~0.007 ms, ext4 here ~0.02): the rest of the group then goes asynchronously, 32 at a time.
 */
const SLOW_RENAME_MS = 0.2;

/**
 * Rename a group's temp files into place; the indexes of the sources whose rename failed (their temp files
 * removed). Synchronous renames in slices of about 2 ms: one promise and one thread-pool hop per file cost
 * the main thread more than the rename itself on tmpfs, and the slices keep it answering the workers. Where
 * renames turn out slow (NFS...), the remainder runs in parallel on the thread pool, as it always did.
 */
async function renameGroup(group: Group, outRoot: string, onFailed: (index: number, target: string, err: unknown) => void): Promise<Set<number>> {
  const failed = new Set<number>();
  let index = 0;
  let sliceStart = performance.now();
  let sliceCount = 0;
  while (index < group.renames.length) {
    for (const r of group.renames[index]) {
      const target = joinRel(outRoot, r.file);
      try {
        renameSync(r.tmp, target);
      } catch (err) {
        failed.add(index);
        rmSync(r.tmp, { force: true });
        onFailed(index, target, err);
      }
    }
    sliceCount += group.renames[index].length;
    index += 1;
    const elapsed = performance.now() - sliceStart;
    if (elapsed > RENAME_SLICE_MS) {
      if (elapsed > SLOW_RENAME_MS * sliceCount) break;
      await yieldToLoop();
      sliceStart = performance.now();
      sliceCount = 0;
    }
  }
  const rest = Array.from({ length: group.renames.length - index }, (_, k) => index + k);
  await inParallel(rest, 32, async (i) => {
    for (const r of group.renames[i]) {
      const target = joinRel(outRoot, r.file);
      try {
        await fs.rename(r.tmp, target);
      } catch (err) {
        failed.add(i);
        await fs.rm(r.tmp, { force: true });
        onFailed(i, target, err);
      }
    }
  });
  return failed;
}

/** Lines that carry their own newlines, as one string, or as one Buffer when some are bytes already. */
export function concatText(items: readonly TextLine[]): string | Buffer {
  if (items.every((i) => typeof i === 'string')) return (items as string[]).join('');
  // Byte lines that follow each other in one buffer (a native chunk) go as one piece.
  const parts: Uint8Array[] = [];
  let piece: Uint8Array | undefined;
  for (const i of items) {
    if (typeof i !== 'string' && piece && piece.buffer === i.buffer && piece.byteOffset + piece.length === i.byteOffset) {
      piece = new Uint8Array(i.buffer, piece.byteOffset, piece.length + i.length);
      continue;
    }
    if (piece) parts.push(piece);
    piece = typeof i === 'string' ? Buffer.from(i) : i;
  }
  if (piece) parts.push(piece);
  return Buffer.concat(parts);
}

/** The same renames in one native call per part; the failed ones' temp files removed, as renameGroup does. */
async function renameGroupWith(
  renameAll: RenameAll,
  group: Group,
  outRoot: string,
  onFailed: (index: number, target: string, err: unknown) => void,
): Promise<Set<number>> {
  const pairs: Array<{ from: string; to: string }> = [];
  const owners: number[] = [];
  group.renames.forEach((renames, index) => {
    for (const r of renames) {
      pairs.push({ from: r.tmp, to: joinRel(outRoot, r.file) });
      owners.push(index);
    }
  });
  const failed = new Set<number>();
  if (pairs.length === 0) return failed;
  const errnos = await renameAll(pairs);
  for (let k = 0; k < pairs.length; k += 1) {
    if (errnos[k] === 0) continue;
    failed.add(owners[k]);
    rmSync(pairs[k].from, { force: true });
    onFailed(owners[k], pairs[k].to, errnoError(errnos[k], 'rename', pairs[k].to));
  }
  return failed;
}

/** A failed write to the journal or the audit log, as one line naming it (exit 1: files of the batch failed). */
async function stateWrite(file: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (err) {
    throw new OpenctlError(describeWriteError(file, err).message, ExitCode.Rejected);
  }
}
