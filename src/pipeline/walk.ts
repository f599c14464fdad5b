import { promises as fs, Dirent } from 'node:fs';
import * as path from 'node:path';
import picomatch from 'picomatch';
import { TEMP_MARKER } from '../util/atomic-write';

export interface WalkOptions {
  /** Globs a file's path relative to the root must match (any of them); none means every file. */
  include?: readonly string[];
  /** Globs that drop a file (any of them). */
  exclude?: readonly string[];
  /** Absolute folders never entered (the output folder when it sits inside the source folder). */
  skipDirs?: readonly string[];
}

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
  const byName = patterns.filter((p) => !p.includes('/'));
  const byPath = patterns.filter((p) => p.includes('/'));
  const name = byName.length ? picomatch(byName, { dot: true }) : undefined;
  const full = byPath.length ? picomatch(byPath, { dot: true }) : undefined;
  return (rel) => Boolean((name && name(rel.slice(rel.lastIndexOf('/') + 1))) || (full && full(rel)));
}

/**
 * Every matching regular file under `root`, depth first, streamed: only one open directory handle per level
 * is held, so memory does not grow with the number of files. Symbolic links to files are followed, links to
 * folders are not (no loops). Order is the file system's, not sorted.
 */
export async function* walkFiles(root: string, options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const keep = fileFilter(options);
  const skip = new Set((options.skipDirs ?? []).map((d) => path.resolve(d)));
  yield* walkDir(path.resolve(root), '', keep, skip);
}

async function* walkDir(
  abs: string,
  rel: string,
  keep: (rel: string) => boolean,
  skip: Set<string>,
): AsyncGenerator<WalkEntry> {
  const dir = await fs.opendir(abs, { bufferSize: 256 });
  // for-await closes the handle at the end, and also on an early return (Ctrl-C) through yield*.
  for await (const entry of dir) {
    const childAbs = path.join(abs, entry.name);
    const childRel = rel ? `${rel}/${entry.name}` : entry.name;
    const kind = await entryKind(entry, childAbs);
    if (kind === 'dir') {
      if (!skip.has(childAbs)) yield* walkDir(childAbs, childRel, keep, skip);
    } else if (kind === 'file' && !isNeverSigned(entry.name) && keep(childRel)) {
      yield { rel: childRel, abs: childAbs };
    }
  }
}

async function entryKind(entry: Dirent, abs: string): Promise<'file' | 'dir' | 'other'> {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'dir';
  if (entry.isSymbolicLink()) {
    const target = await fs.stat(abs).catch(() => undefined);
    return target?.isFile() ? 'file' : 'other';
  }
  return 'other';
}

/** Count what `walkFiles` would yield, without keeping any name (for the ETA). */
export async function countFiles(root: string, options: WalkOptions = {}, signal?: AbortSignal): Promise<number> {
  let n = 0;
  for await (const _ of walkFiles(root, options)) {
    if (signal?.aborted) break;
    n += 1;
  }
  return n;
}
