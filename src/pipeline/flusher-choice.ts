import { FsyncFlusher, NativeSyncfsFlusher, SyncCommandFlusher, type Flusher } from './flush';

/** `auto`: syncfs through the native addon, else through `sync -f`, else one fsync per file. */
export type FlushMode = 'auto' | 'native' | 'sync-command' | 'fsync';

export async function chooseFlusher(
  outDir: string,
  mode: FlushMode,
  nativeSyncfs?: (fd: number) => void | Promise<void>,
): Promise<Flusher> {
  if ((mode === 'auto' || mode === 'native') && nativeSyncfs) return NativeSyncfsFlusher.open(outDir, nativeSyncfs);
  if (mode === 'auto' || mode === 'sync-command') {
    const command = SyncCommandFlusher.find(outDir);
    if (command) return command;
  }
  return new FsyncFlusher();
}
