import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { TEMP_MARKER } from '../util/atomic-write';

/**
 * `root` (absolute, normalised by path.resolve) joined with a relative path made by the walk: `/`-separated
 * names straight from readdir, never `.`, `..` or empty segments. On POSIX that is a concatenation; path.join
 * normalises every time (about a microsecond, and one more function for V8 to optimise in every thread), and
 * the hot path joined several times per file. Windows keeps path.join, which also turns `/` into `\`.
 */
export const joinRel: (root: string, rel: string) => string =
  path.sep === '/' ? (root, rel) => (root.endsWith('/') ? root + rel : `${root}/${rel}`) : (root, rel) => path.join(root, rel);

/**
 * Temp names `<TEMP_MARKER><name>.<random per thread><counter>`: unique without a random draw per file (the
 * exclusive create would catch a clash anyway), and recognisable by the marker for cleaning after a crash. The
 * native file engine makes the same names in C (make_temps in native-bindings/src/files.c) for counters this
 * object reserved, so that a chunk's names need no JavaScript string until one is asked for.
 */
export class TempNames {
  readonly prefix = randomBytes(5).toString('hex');
  private counter = 0;

  /** The temp file of output `rel` (relative to OUT_DIR, `/`-separated), in the same folder. */
  next(rel: string): string {
    this.counter += 1;
    return this.at(rel, this.counter);
  }

  /** Reserves `n` counters for names made elsewhere: the first of them (the others follow it). */
  reserve(n: number): number {
    const first = this.counter + 1;
    this.counter += n;
    return first;
  }

  /** The temp name of output `rel` for a given counter. */
  at(rel: string, counter: number): string {
    const slash = rel.lastIndexOf('/') + 1;
    return `${rel.slice(0, slash)}${TEMP_MARKER}${rel.slice(slash)}.${this.prefix}${counter.toString(36)}`;
  }
}

/** `NAME.sgn` -> `NAME.enc.sgn` (the encrypted config beside its stub). */
export function encryptedOutputOf(output: string): string {
  return `${output.slice(0, -'.sgn'.length)}.enc.sgn`;
}
