import { promises as fs, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeWriteError } from '../util/atomic-write';
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

/** What a lock file says about its owner: enough to tell a live owner from a PID that was reused. */
interface LockOwner {
  pid: number;
  /** Linux: the process start time, in clock ticks since boot (/proc/PID/stat field 22). */
  start?: string;
  /** Linux: this boot's id (/proc/sys/kernel/random/boot_id): a lock from before a reboot is stale. */
  boot?: string;
  host: string;
  time: string;
}

/** A lock file that cannot be read as an owner is treated as busy this long (an older openctl wrote it). */
const UNREADABLE_LOCK_GRACE_MS = 60_000;

/**
 * One batch at a time per output folder. The owner is written to a temp file first and linked to the lock name
 * (link(2) fails if the name exists): the lock appears whole or not at all, so a second run never reads an
 * empty lock and takes it. A lock is stale only when its owner is gone: the PID is not running, or it now
 * belongs to another process (its start time differs), or the machine rebooted since (another boot id).
 * A stale lock is moved aside under a unique name before a new one is linked, and put back when another run
 * replaced it meanwhile: two runs taking over the same stale lock cannot both win.
 */
export async function acquireLock(paths: StatePaths): Promise<() => Promise<void>> {
  if (heldHere.has(paths.lock)) {
    throw new OpenctlError(`${path.dirname(paths.dir)}: another batch of this process is writing to this folder`);
  }
  await fs.mkdir(paths.dir, { recursive: true }).catch((err: unknown) => {
    throw describeWriteError(paths.dir, err);
  });
  const me = await ownerOf(process.pid);
  const tmp = `${paths.lock}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmp, `${JSON.stringify(me)}\n`, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    throw new OpenctlError(`${paths.lock}: cannot create the batch lock (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  try {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        await fs.link(tmp, paths.lock);
        heldHere.add(paths.lock);
        return async () => {
          heldHere.delete(paths.lock);
          await fs.rm(paths.lock, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new OpenctlError(`${paths.lock}: cannot create the batch lock (${(err as NodeJS.ErrnoException).code ?? err})`);
        }
      }
      const held = await readLock(paths.lock);
      if (!held) continue; // released meanwhile: try again
      const busy = await ownerIsRunning(held);
      if (busy) throw new OpenctlError(`${path.dirname(paths.dir)}: another batch (${busy}) is writing to this folder; wait for it to finish`);
      await moveAsideIfSame(paths.lock, held.ino);
    }
    throw new OpenctlError(`${path.dirname(paths.dir)}: cannot take the batch lock (other runs keep taking it)`);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

const heldHere = new Set<string>();

async function readLock(file: string): Promise<{ owner?: LockOwner; ino: number; mtimeMs: number } | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const stat = await handle.stat();
    const text = stat.size <= 4096 ? await handle.readFile('utf8') : '';
    return { owner: parseOwner(text), ino: stat.ino, mtimeMs: stat.mtimeMs };
  } finally {
    await handle.close();
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as LockOwner;
    if (Number.isInteger(owner.pid) && owner.pid > 0) return owner;
  } catch {
    // An older openctl wrote the bare pid.
    const pid = Number.parseInt(text, 10);
    if (Number.isInteger(pid) && pid > 0 && /^\d+\n?$/.test(text)) return { pid, host: '', time: '' };
  }
  return undefined;
}

/** A description of the live owner ("pid 123"), or undefined when the lock is stale. */
async function ownerIsRunning(held: { owner?: LockOwner; mtimeMs: number }): Promise<string | undefined> {
  const { owner } = held;
  if (!owner) return Date.now() - held.mtimeMs < UNREADABLE_LOCK_GRACE_MS ? 'unknown owner' : undefined;
  if (owner.host && owner.host !== os.hostname()) return `pid ${owner.pid} on ${owner.host}`; // cannot check another host
  const now = await ownerOf(owner.pid);
  if (owner.boot && now.boot && owner.boot !== now.boot) return undefined; // written before a reboot
  if (owner.pid === process.pid) return undefined; // not this process: heldHere says so
  if (!isAlive(owner.pid)) return undefined;
  if (owner.start && now.start && owner.start !== now.start) return undefined; // the PID was reused
  return `pid ${owner.pid}`;
}

/** Move a stale lock aside; if what was moved is not the lock judged stale (replaced meanwhile), put it back. */
async function moveAsideIfSame(lock: string, ino: number): Promise<void> {
  const aside = `${lock}.${process.pid}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await fs.rename(lock, aside);
  } catch {
    return; // already gone
  }
  const moved = await fs.stat(aside).catch(() => undefined);
  if (moved && moved.ino !== ino) await fs.link(aside, lock).catch(() => undefined); // a live owner's lock: restore it
  await fs.rm(aside, { force: true });
}

async function ownerOf(pid: number): Promise<LockOwner> {
  const owner: LockOwner = { pid, host: os.hostname(), time: new Date().toISOString() };
  if (process.platform === 'linux') {
    // procfs, never a remote disk: read at once (each promise read costs four thread-pool hops at start-up).
    const stat = readProcFile(`/proc/${pid}/stat`);
    // Field 22 (starttime), counted after the command name, which may hold spaces and parentheses.
    const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields && fields.length > 19) owner.start = fields[19];
    owner.boot = readProcFile('/proc/sys/kernel/random/boot_id')?.trim() || undefined;
  }
  return owner;
}

function readProcFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
