import * as fs from 'node:fs';

/**
 * fsync of one file or folder on libuv's thread pool, shared: `sync()` resolves once an fsync that started
 * after the call has ended, so whatever the caller wrote before calling is on disk; the calls made while one
 * fsync runs share the next. The event loop never waits for the disk. (SQLite's WAL after a commit, the CAPF's
 * LSC folder after renames.)
 */
export class GroupSync {
  private waiting: Array<(err: NodeJS.ErrnoException | null) => void> = [];
  private running = false;
  /** fsyncs done so far. */
  syncs = 0;

  constructor(readonly file: string) {}

  sync(): Promise<void> {
    return new Promise((resolve, reject) => this.after((err) => (err ? reject(err) : resolve())));
  }

  /** The callback form of sync(). */
  after(done: (err: NodeJS.ErrnoException | null) => void): void {
    this.waiting.push(done);
    if (!this.running) this.start();
  }

  private start(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.running = true;
    const finish = (err: NodeJS.ErrnoException | null) => {
      if (!err) this.syncs += 1;
      for (const done of batch) done(err);
      this.running = false;
      if (this.waiting.length > 0) this.start();
    };
    fs.open(this.file, 'r', (err, fd) => {
      if (err) return finish(err);
      fs.fsync(fd, (syncErr) => fs.close(fd, (closeErr) => finish(syncErr ?? closeErr ?? null)));
    });
  }
}
