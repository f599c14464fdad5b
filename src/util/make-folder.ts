import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * `mkdir -p` one level at a time. Node's recursive mkdir never returns for some paths that cannot be made (it
 * loops on ENOENT under /proc, for one); creating each missing level in turn fails at once with that level's error.
 */
export async function makeFolder(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    const stat = await fs.stat(at).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
    if (stat) {
      if (!stat.isDirectory()) throw Object.assign(new Error(`${at}: not a folder`), { code: 'ENOTDIR' });
      break;
    }
    missing.unshift(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const level of missing) {
    await fs.mkdir(level).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : Promise.reject(err)));
  }
}
