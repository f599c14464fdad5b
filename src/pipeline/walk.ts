import { promises as fs, type Dir, type Dirent } from 'node:fs';
import * as path from 'node:path';
import type Picomatch from 'picomatch';
import { TEMP_MARKER } from '../util/atomic-write';
import { joinRel } from './rel-path';

export interface WalkOptions {
  /** Globs a file's path relative to the root must match (any of them); none means every file. */
  include?: readonly string[];
  /** Globs that drop a file (any of them). */
  exclude?: readonly string[];
  /** Absolute folders never entered (the output folder when it sits inside the source folder). */
  skipDirs?: readonly string[];
  /**
   * Told about what the walk cannot sign (matching the filters): a sub-folder it cannot read (`unreadable`,
   * rel ends in `/`), a FIFO, socket or device (`special`), a link whose target is gone (`dangling`).
   * Without it these are passed over silently (the counting walk).
   */
  onSkip?: (rel: string, problem: string, kind: SkipKind) => void;
}

export type SkipKind = 'unreadable' | 'special' | 'dangling';

export interface WalkEntry {
  /** Path relative to the root, `/`-separated on every platform (the manifest and journal key). */
  rel: string;
  abs: string;
}

/** Files a batch never signs: already signed outputs, and temp files of an interrupted write. */
export function isNeverSigned(name: string): boolean {
  return name.endsWith('.sgn') || name.startsWith(TEMP_MARKER);
}

/**
 * Build the filter of `--include` / `--exclude`. A pattern without a slash matches the file's name at any depth
 * (`*.cnf.xml`), one with a slash matches the relative path (`phones/**`).
 */
export function fileFilter(options: Pick<WalkOptions, 'include' | 'exclude'>): (rel: string) => boolean {
  const include = options.include?.length ? globs(options.include) : undefined;
  const exclude = options.exclude?.length ? globs(options.exclude) : undefined;
  return (rel) => (!include || include(rel)) && !(exclude && exclude(rel));
}

/** picomatch's own `basename` option stops matching patterns that do contain a slash: split them here. */
function globs(patterns: readonly string[]): (rel: string) => boolean {
  // Loaded here: only --include / --exclude need it (six modules at start-up otherwise).
  const picomatch = require('picomatch') as typeof Picomatch;
  const byName = patterns.filter((p) => !p.includes('/'));
  const byPath = patterns.filter((p) => p.includes('/'));
  const name = byName.length ? picomatch(byName, { dot: true }) : undefined;
  const full = byPath.length ? picomatch(byPath, { dot: true }) : undefined;
  return (rel) => Boolean((name && name(rel.slice(rel.lastIndexOf('/') + 1))) || (full && full(rel)));
}

/** Entries handed on together: one promise per batch instead of several per file. */
const BATCH = 256;

/**
 * Every matching regular file under `root`, depth first, streamed: only one open directory handle per level
 * is held, so memory does not grow with the number of files. Symbolic links to files are followed, links to
 * folders are not (no loops). Order is the file system's, not sorted.
 */
export async function* walkFiles(root: string, options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  for await (const batch of walkFileBatches(root, options)) yield* batch;
}

/**
 * `walkFiles` in batches of up to 256 entries. Directory entries are read with `Dir.readSync` (one getdents
 * call per 256 entries, in the Dir's buffer): the async iterator cost a promise per entry, and the nested
 * async generators one more per level, which at thousands of files a second showed on the main thread.
 */
export async function* walkFileBatches(root: string, options: WalkOptions = {}): AsyncGenerator<WalkEntry[]> {
  const keep = fileFilter(options);
  const skip = new Set((options.skipDirs ?? []).map((d) => path.resolve(d)));
  const batch: WalkEntry[] = [];
  // Folders still to visit, each with the handle being read: depth first, one open handle per level.
  const stack: Array<{ dir: Dir; abs: string; rel: string }> = [];
  const open = async (abs: string, rel: string) => stack.push({ dir: await fs.opendir(abs, { bufferSize: BATCH }), abs, rel });
  await open(path.resolve(root), '');
  try {
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const entry = top.dir.readSync();
      if (entry === null) {
        stack.pop();
        await top.dir.close();
        continue;
      }
      const childAbs = joinRel(top.abs, entry.name);
      const childRel = top.rel ? `${top.rel}/${entry.name}` : entry.name;
      const kind = entry.isFile() ? 'file' : entry.isDirectory() ? 'dir' : await entryKind(entry, childAbs);
      if (kind === 'dir') {
        if (skip.has(childAbs)) continue;
        try {
          await open(childAbs, childRel);
        } catch (err) {
          // One unreadable sub-folder fails its files, not the batch: the rest is signed, a later run retries it.
          options.onSkip?.(`${childRel}/`, skipProblem('unreadable', (err as NodeJS.ErrnoException)?.code ?? String(err)), 'unreadable');
        }
      } else if (kind === 'file' && !isNeverSigned(entry.name) && keep(childRel)) {
        batch.push({ rel: childRel, abs: childAbs });
        if (batch.length >= BATCH) yield batch.splice(0);
      } else if ((kind === 'special' || kind === 'dangling') && options.onSkip && !isNeverSigned(entry.name) && keep(childRel)) {
        options.onSkip(childRel, skipProblem(kind), kind);
      }
    }
    if (batch.length > 0) yield batch.splice(0);
  } finally {
    // An early return (Ctrl-C, a stopped batch) closes what is still open.
    for (const { dir } of stack.splice(0)) await dir.close().catch(() => undefined);
  }
}

async function entryKind(entry: Dirent, abs: string): Promise<'file' | 'dir' | 'other' | 'special' | 'dangling'> {
  if (entry.isSymbolicLink()) {
    const target = await fs.stat(abs).catch(() => undefined);
    if (!target) return 'dangling';
    if (target.isFile()) return 'file';
    return target.isDirectory() ? 'other' : 'special'; // links to folders are not followed (no loops)
  }
  return entry.isFIFO() || entry.isSocket() || entry.isCharacterDevice() || entry.isBlockDevice() ? 'special' : 'other';
}

/** What the walk says of an entry it cannot sign (also the native walk's words: src/pipeline/native-walk.ts). */
export function skipProblem(kind: SkipKind, code?: string): string {
  if (kind === 'special') return 'not a regular file (a FIFO, socket or device): skipped';
  if (kind === 'dangling') return 'dangling symbolic link (its target is gone): skipped';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot read the folder: permission denied';
  if (code === 'ENOENT') return 'cannot read the folder: it disappeared during the batch';
  return `cannot read the folder: ${code ?? 'unknown error'}`;
}

/** Count what `walkFiles` would yield, without keeping any name (for the ETA). */
export async function countFiles(root: string, options: WalkOptions = {}, signal?: AbortSignal): Promise<number> {
  let n = 0;
  for await (const batch of walkFileBatches(root, options)) {
    if (signal?.aborted) break;
    n += batch.length;
  }
  return n;
}
