import { promises as fs } from 'node:fs';
import { OpenctlError } from './errors';

/** Inputs larger than any real CTL, ITL or config: refused before they are read whole. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** Read an input file, or fail with one line naming it: missing, a folder, unreadable, too large. */
export async function readInput(file: string, what = 'file'): Promise<Buffer> {
  try {
    const stat = await fs.stat(file);
    if (stat.isDirectory()) throw new OpenctlError(`${file}: is a folder, not a ${what}`);
    if (stat.size > MAX_INPUT_BYTES) throw new OpenctlError(`${file}: ${stat.size} bytes is too large for a ${what}`);
    return await fs.readFile(file);
  } catch (err) {
    if (err instanceof OpenctlError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? String(err));
    throw new OpenctlError(`${file}: cannot read: ${reason}`);
  }
}
