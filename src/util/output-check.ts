import { promises as fs, constants } from 'node:fs';
import * as path from 'node:path';
import { OpenctlError } from './errors';

/**
 * Check every output of a command before it writes the first one, so that a command never stops half-way with
 * one file written and the next refused (an encrypted config without its stub, three of five signed files).
 * The same words as `writeFileAtomic`, which still checks again at write time.
 */
export async function checkOutputs(targets: readonly string[], options: { overwrite?: boolean } = {}): Promise<void> {
  const seen = new Set<string>();
  for (const target of targets) {
    const abs = path.resolve(target);
    if (seen.has(abs)) throw new OpenctlError(`${target}: two inputs would be written to this one output; nothing written`);
    seen.add(abs);
    const stat = await fs.lstat(abs).catch(() => undefined);
    if (stat?.isDirectory()) throw new OpenctlError(`${target}: cannot write: is a folder`);
    if (stat && !options.overwrite) throw new OpenctlError(`${target}: already exists (use --force to replace it)`);
    const dir = path.dirname(abs);
    const dirStat = await fs.stat(dir).catch(() => undefined);
    if (!dirStat) throw new OpenctlError(`${target}: cannot write: folder does not exist`);
    if (!dirStat.isDirectory()) throw new OpenctlError(`${target}: cannot write: a parent is not a folder`);
    try {
      await fs.access(dir, constants.W_OK);
    } catch {
      throw new OpenctlError(`${target}: cannot write: permission denied`);
    }
  }
}
