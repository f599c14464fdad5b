import { promises as fs, constants } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { OpenctlError } from './errors';

export interface AtomicWriteOptions {
  /** Replace an existing file (commands expose this as `--force`). */
  overwrite?: boolean;
  /** fsync the file before the rename (default true; the batch pipeline syncs in groups instead). */
  fsync?: boolean;
  mode?: number;
}

/** Temp files carry this marker so that a resumed batch, or a person, can tell them from outputs. */
export const TEMP_MARKER = '.openctl-tmp-';

export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `${TEMP_MARKER}${path.basename(target)}.${randomBytes(6).toString('hex')}`);
}

/**
 * Write `data` to `target` so that no reader ever sees a half-written file: temp file in the same folder,
 * fsync, rename, fsync of the folder. Refuses to replace an existing file unless `overwrite`.
 */
export async function writeFileAtomic(target: string, data: Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const { overwrite = false, fsync = true, mode = 0o644 } = options;
  if (!overwrite && (await exists(target))) {
    throw new OpenctlError(`${target}: already exists (use --force to replace it)`);
  }
  const tmp = tempPathFor(target);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    await handle.writeFile(data);
    if (fsync) await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, target);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw describeWriteError(target, err);
  }
  if (fsync) await syncDirectory(path.dirname(target));
}

export async function syncDirectory(dir: string): Promise<void> {
  // Directories cannot be fsynced on Windows; the rename is durable enough there.
  if (process.platform === 'win32') return;
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/** Turn an errno into one line naming the file. */
export function describeWriteError(target: string, err: unknown): Error {
  if (err instanceof OpenctlError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOENT: 'folder does not exist',
    ENOSPC: 'disk full',
    EROFS: 'read-only file system',
    EISDIR: 'is a folder',
    ENOTDIR: 'a parent is not a folder',
    EDQUOT: 'disk quota exceeded',
  };
  const reason = (code && reasons[code]) || (err as Error)?.message || String(err);
  return new OpenctlError(`${target}: cannot write: ${reason}`);
}
