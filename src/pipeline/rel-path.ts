import * as path from 'node:path';

/**
 * `root` (absolute, normalised by path.resolve) joined with a relative path made by the walk: `/`-separated
 * names straight from readdir, never `.`, `..` or empty segments. On POSIX that is a concatenation; path.join
 * normalises every time (about a microsecond, and one more function for V8 to optimise in every thread), and
 * the hot path joined several times per file. Windows keeps path.join, which also turns `/` into `\`.
 */
export const joinRel: (root: string, rel: string) => string =
  path.sep === '/' ? (root, rel) => (root.endsWith('/') ? root + rel : `${root}/${rel}`) : (root, rel) => path.join(root, rel);
