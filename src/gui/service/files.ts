import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { FileSource } from '../contract';
import { OpenctlError } from '../../util/errors';
import { readInput } from '../../util/read-input';

/** Larger than any real CTL, ITL, config or certificate: refused before being read whole. */
const MAX_FILE_BYTES = 32 * 1024 * 1024;

export interface SourceBytes {
  /** What to call the file in messages: its path, or an upload's name. */
  name: string;
  bytes: Buffer;
}

/** The bytes of a path on this machine, or of a file the renderer uploaded or had dropped on it. */
export async function readSource(source: FileSource): Promise<SourceBytes> {
  if ('base64' in source) {
    const bytes = Buffer.from(source.base64, 'base64');
    if (bytes.length > MAX_FILE_BYTES) throw new OpenctlError(`${source.name}: too large (${bytes.length} bytes)`);
    return { name: path.basename(source.name), bytes };
  }
  const file = path.resolve(source.path);
  return { name: file, bytes: await readInput(file, { maxBytes: MAX_FILE_BYTES }) };
}

/**
 * A path the service is about to hand to a reader that would block on a FIFO or a device: a regular file or a
 * folder is fine, and a missing path is left for the reader to name.
 */
export async function requireRegularFile(file: string, folderToo = false): Promise<void> {
  const stat = await fs.stat(path.resolve(file)).catch(() => undefined);
  if (!stat || stat.isFile() || (folderToo && stat.isDirectory())) return;
  throw new OpenctlError(`${path.resolve(file)}: ${stat.isDirectory() ? 'is a folder, not a file' : 'not a regular file'}`);
}
