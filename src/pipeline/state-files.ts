import { promises as fs, constants } from 'node:fs';
import * as path from 'node:path';
import { OpenctlError } from '../util/errors';

/** The batch's own files live in `OUT_DIR/.openctl/`, apart from the outputs a TFTP server serves. */
export const STATE_DIR_NAME = '.openctl';

export interface StatePaths {
  dir: string;
  journal: string;
  manifest: string;
  audit: string;
  lock: string;
}

export function statePaths(outDir: string): StatePaths {
  const dir = path.join(outDir, STATE_DIR_NAME);
  return {
    dir,
    journal: path.join(dir, 'journal.jsonl'),
    manifest: path.join(dir, 'manifest.json'),
    audit: path.join(dir, 'audit.jsonl'),
    lock: path.join(dir, 'lock'),
  };
}

/**
 * One batch at a time per output folder. The lock holds the owner's pid; a lock whose process is gone
 * (kill -9, crash, power loss) is taken over.
 */
export async function acquireLock(paths: StatePaths): Promise<() => Promise<void>> {
  if (heldHere.has(paths.lock)) {
    throw new OpenctlError(`${path.dirname(paths.dir)}: another batch of this process is writing to this folder`);
  }
  await fs.mkdir(paths.dir, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await fs.open(paths.lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      heldHere.add(paths.lock);
      return async () => {
        heldHere.delete(paths.lock);
        await fs.rm(paths.lock, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new OpenctlError(`${paths.lock}: cannot create the batch lock (${(err as NodeJS.ErrnoException).code ?? err})`);
      }
      const owner = Number.parseInt(await fs.readFile(paths.lock, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new OpenctlError(`${path.dirname(paths.dir)}: another batch (pid ${owner}) is writing to this folder`);
      }
      await fs.rm(paths.lock, { force: true });
    }
  }
  throw new OpenctlError(`${paths.lock}: cannot take the batch lock`);
}

const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
