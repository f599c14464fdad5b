import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeWriteError, tempPathFor } from './atomic-write';
import { GroupSync } from './group-sync';

/**
 * Atomic replacement of files in one folder, for a server that writes many small files at once (the CAPF's
 * `OUT/SEP<MAC>.pem`): each file as writeFileAtomic does it — temp file in the folder, write, fsync, close,
 * rename over the target — but as one chain of fs callbacks (no FileHandle, no promise per step), and the
 * folder's fsync, which makes the renames durable, shared: a write resolves once an fsync of the folder that
 * started after its rename has ended, and the writes that finish their rename while one runs share the next.
 * A write resolves only when its file is on disk under its name; it rejects with one line naming the file.
 */
export class DirectoryWriter {
  private readonly folder: GroupSync;

  constructor(
    readonly dir: string,
    private readonly mode = 0o644,
  ) {
    this.folder = new GroupSync(dir);
  }

  /** fsyncs of the folder so far (each shared by the writes renamed before it started). */
  get directorySyncs(): number {
    return this.folder.syncs;
  }

  write(name: string, data: Uint8Array): Promise<void> {
    const target = path.join(this.dir, name);
    const tmp = tempPathFor(target);
    return new Promise<void>((resolve, reject) => {
      const fail = (err: unknown, fd?: number) => {
        const done = () => fs.rm(tmp, { force: true }, () => reject(describeWriteError(target, err)));
        if (fd === undefined) done();
        else fs.close(fd, done);
      };
      fs.open(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, this.mode, (err, fd) => {
        if (err) return fail(err);
        writeAll(fd, data, (err) => {
          if (err) return fail(err, fd);
          fs.fsync(fd, (err) => {
            if (err) return fail(err, fd);
            fs.close(fd, (err) => {
              if (err) return fail(err);
              fs.rename(tmp, target, (err) => {
                if (err) return fail(err);
                this.afterDirectorySync((err) => (err ? reject(describeWriteError(target, err)) : resolve()));
              });
            });
          });
        });
      });
    });
  }

  private afterDirectorySync(done: (err: Error | null) => void): void {
    // Directories cannot be fsynced on Windows; the rename is durable enough there.
    if (process.platform === 'win32') return done(null);
    this.folder.after(done);
  }
}

function writeAll(fd: number, data: Uint8Array, done: (err: Error | null) => void, offset = 0): void {
  if (offset >= data.byteLength) return done(null);
  fs.write(fd, data, offset, data.byteLength - offset, null, (err, written) => {
    if (err) return done(err);
    writeAll(fd, data, done, offset + written);
  });
}
