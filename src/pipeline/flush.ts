import { promises as fs, constants, existsSync } from 'node:fs';
import * as path from 'node:path';
import { syncDirectory } from '../util/atomic-write';

/**
 * Makes a group of written files durable at once. Per-file fsyncs would cost about a third of a signature
 * each; one `syncfs` of the output file system flushes the whole group (and, once the renames are done, the
 * folder entries) in one call.
 */
export interface Flusher {
  readonly name: string;
  /** Needs the file and folder names (fsync each); a syncfs flushes the whole file system without them. */
  readonly perFile?: boolean;
  /** Make `files` (and, after renames, their `folders`) durable. */
  flush(files: readonly string[], folders: ReadonlySet<string>): Promise<void>;
  close(): Promise<void>;
}

/** syncfs(2) through the native addon, on a descriptor of the output folder. */
export class NativeSyncfsFlusher implements Flusher {
  readonly name = 'syncfs (native)';
  private constructor(
    private readonly handle: fs.FileHandle,
    private readonly syncfs: (fd: number) => void | Promise<void>,
  ) {}

  static async open(outDir: string, syncfs: (fd: number) => void | Promise<void>): Promise<NativeSyncfsFlusher> {
    return new NativeSyncfsFlusher(await fs.open(outDir, constants.O_RDONLY), syncfs);
  }

  async flush(): Promise<void> {
    await this.syncfs(this.handle.fd);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

/** syncfs(2) through coreutils `sync --file-system` (Linux), when the addon is not built. */
export class SyncCommandFlusher implements Flusher {
  readonly name = 'syncfs (sync -f)';
  constructor(
    private readonly outDir: string,
    private readonly command: string,
  ) {}

  static find(outDir: string): SyncCommandFlusher | undefined {
    if (process.platform !== 'linux') return undefined;
    const command = ['/usr/bin/sync', '/bin/sync'].find((c) => existsSync(c));
    return command ? new SyncCommandFlusher(outDir, command) : undefined;
  }

  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      // child_process loaded here: only this fallback needs it, and it costs every batch's start-up otherwise.
      const { execFile } = require('node:child_process') as typeof import('node:child_process');
      execFile(this.command, ['-f', this.outDir], (err) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {}
}

/** Portable fallback: fsync every file (in parallel on libuv's pool), then every folder touched. */
export class FsyncFlusher implements Flusher {
  readonly name = 'fsync';
  readonly perFile = true;

  async flush(files: readonly string[], folders: ReadonlySet<string>): Promise<void> {
    await inParallel(files, 16, async (file) => {
      const handle = await fs.open(file, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
    await inParallel([...folders], 16, (dir) => syncDirectory(dir));
  }

  async close(): Promise<void> {}
}

export async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(runners);
}

/** The folder of every file, deduplicated (for the fsync fallback). */
export function foldersOf(files: Iterable<string>): Set<string> {
  const folders = new Set<string>();
  for (const f of files) folders.add(path.dirname(f));
  return folders;
}
