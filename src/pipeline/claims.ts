import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Which output names the batch has handed out, to catch two sources that would write the same output: names
 * that differ only by letter case (a TFTP server on a case-insensitive file system, or a phone asking for
 * `SEP0011AABB...` in capitals, cannot tell them apart), or `NAME.enc` beside an encrypted `NAME`. Kept as
 * two 31-bit hashes of the lower-cased name, so that 100,000 claims cost a few megabytes instead of the names.
 */
export class OutputClaims {
  private readonly claims = new Map<number, number | number[]>();

  /** Claim every output of `source`; false (nothing claimed) when one of them is taken. */
  claim(outputs: readonly string[]): boolean {
    const keys = outputs.map((o) => hashes(o.toLowerCase()));
    if (keys.some(([a, b]) => this.has(a, b))) return false;
    for (const [a, b] of keys) this.add(a, b);
    return true;
  }

  private has(a: number, b: number): boolean {
    const found = this.claims.get(a);
    return found === b || (Array.isArray(found) && found.includes(b));
  }

  private add(a: number, b: number): void {
    const found = this.claims.get(a);
    if (found === undefined) this.claims.set(a, b);
    else if (Array.isArray(found)) found.push(b);
    else this.claims.set(a, [found, b]);
  }
}

/** FNV-1a with two offsets, kept to 31 bits so that V8 stores them as small integers. */
function hashes(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return [a & 0x7fffffff, b & 0x7fffffff];
}

/** For the message: a file beside `rel` whose output is the same name (best effort, same folder only). */
export function collidingSource(srcRoot: string, rel: string): string | undefined {
  const dir = path.posix.dirname(rel);
  const name = path.posix.basename(rel);
  const lower = name.toLowerCase();
  try {
    for (const other of fs.readdirSync(path.join(srcRoot, dir))) {
      const l = other.toLowerCase();
      if (other !== name && (l === lower || `${l}.enc` === lower || l === `${lower}.enc`)) return dir === '.' ? other : `${dir}/${other}`;
    }
  } catch {
    /* the folder went away: no name to give */
  }
  return undefined;
}
