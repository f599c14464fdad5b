import { ExitCode, OpenctlError } from '../util/errors';
import { mustBeXml } from './file-checks';
import { errnoError, loadFilesAddon, type NativeFileEngine, type RawWalkChunk } from './native-files';
import type { FileTask } from './protocol';
import { skipProblem, type SkipKind } from './walk';

/**
 * The walk of `batch sign` in C (native-bindings/src/walk.c) for the native file engine: the same files, order and
 * problems as walkFileBatches(), a chunk at a time as the one string signFiles takes, with the output names
 * claimed in C. A file costs JavaScript nothing unless it fails or has a name outside ASCII. Used without
 * --include/--exclude and outside a resume (the JavaScript walk does those: its filters and the journal's set).
 */
export class NativeWalk {
  private constructor(
    private readonly raw: NonNullable<ReturnType<typeof loadFilesAddon>>,
    private handle: object | undefined,
  ) {}

  /** Undefined without the addon. Throws (a system error) when `root` cannot be read. */
  static open(root: string, skipDirs: readonly string[]): NativeWalk | undefined {
    const raw = loadFilesAddon();
    return raw ? new NativeWalk(raw, raw.walkOpen(root, [...skipDirs])) : undefined;
  }

  next(max: number): RawWalkChunk {
    if (!this.handle) throw new Error('the walk is closed');
    return this.raw.walkNext(this.handle, max);
  }

  /** Claims `rel`'s output in the walk's set, lower-cased as every name is (false: another file has it). */
  claim(rel: string): boolean {
    if (!this.handle) throw new Error('the walk is closed');
    return this.raw.walkClaim(this.handle, rel.toLowerCase());
  }

  close(): void {
    if (this.handle) this.raw.walkClose(this.handle);
    this.handle = undefined;
  }
}

/** countFiles() of walk.ts in C on libuv's pool (for the ETA); undefined without the addon. */
export function nativeCountFiles(root: string, skipDirs: readonly string[]): Promise<number> | undefined {
  return loadFilesAddon()?.countFiles(root, [...skipDirs]);
}

const KINDS: readonly SkipKind[] = ['unreadable', 'special', 'dangling'];

/**
 * The native walk into the native engine, chunk by chunk, until the walk ends or `stopped()`. Waits for the
 * committer's room before each chunk but the last, as feedWorkers() does. A thread signs a chunk alone, so the
 * last chunks are made smaller once the count says the end is near: otherwise one core would sit idle while the
 * other finishes a whole chunk (about 40 ms at 128 files).
 */
export async function feedFromNativeWalk(o: {
  walk: NativeWalk;
  engine: NativeFileEngine;
  chunkSize: number;
  /** Signing threads. */
  threads: number;
  /** The counting walk's total, once known. */
  total: () => number | undefined;
  stopped: () => boolean;
  room: () => Promise<void>;
  /** A file whose output another file of the batch already claimed. */
  onCollision: (rel: string) => void;
  onSkip: (rel: string, problem: string, kind: SkipKind) => void;
}): Promise<void> {
  let walked = 0;
  for (;;) {
    if (o.stopped()) return;
    const step = o.walk.next(chunkSizeNear(o.total(), walked, o.chunkSize, o.threads));
    walked += step.count + (step.others?.length ?? 0) + (step.collisions?.length ?? 0);
    for (const [rel, kind, errno] of step.problems ?? []) {
      if (kind === 0 && rel === '') throw new OpenctlError(`the source folder: ${skipProblem('unreadable', codeOf(errno))}`, ExitCode.Rejected);
      o.onSkip(rel, skipProblem(KINDS[kind], codeOf(errno)), KINDS[kind]);
    }
    for (const rel of step.collisions ?? []) o.onCollision(rel);
    if (step.others) {
      const tasks: FileTask[] = [];
      for (const rel of step.others) {
        if (o.walk.claim(rel)) tasks.push({ source: rel, output: `${rel}.sgn`, xml: mustBeXml(rel) });
        else o.onCollision(rel);
      }
      if (tasks.length > 0) {
        await o.room();
        await o.engine.submit(tasks);
      }
    }
    if (step.count > 0) {
      if (!step.done) await o.room();
      await o.engine.submitJoined(step.names, step.count, step.xml);
    }
    if (step.done) return;
  }
}

/** The full chunk size, or less near the end: about an equal share of what is left per thread, at least 8 files. */
export function chunkSizeNear(total: number | undefined, walked: number, chunkSize: number, threads: number): number {
  if (total === undefined) return chunkSize;
  return Math.max(Math.min(8, chunkSize), Math.min(chunkSize, Math.floor((total - walked) / (2 * threads))));
}

/** The code (EACCES...) of an errno from C. */
const codeOf = (errno: number): string => errnoError(errno, 'opendir', '').code as string;
