import { promises as fs, constants, write } from 'node:fs';
import { OpenctlError } from '../../util/errors';

/**
 * The CAPF audit trail: one JSON object per line, appended (O_APPEND: each line is one write, whole or not at
 * all, and nothing before it is ever rewritten). Every session: when, from where, which device, what it asked,
 * how it ended. Never a password.
 */
export class AuditLog {
  private constructor(
    readonly file: string,
    private readonly handle: fs.FileHandle,
  ) {}

  static async open(file: string): Promise<AuditLog> {
    try {
      const handle = await fs.open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640);
      const stat = await handle.stat();
      if (!stat.isFile()) {
        await handle.close();
        throw new OpenctlError(`${file}: the audit log must be a regular file`);
      }
      return new AuditLog(file, handle);
    } catch (err) {
      if (err instanceof OpenctlError) throw err;
      throw new OpenctlError(`${file}: cannot open the audit log (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }

  /** One write(2) of the whole line on the file's descriptor (a callback, not a FileHandle promise per line: one per session). */
  append(entry: Record<string, unknown>): Promise<void> {
    const line = `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`;
    return new Promise((resolve, reject) => write(this.handle.fd, line, null, 'utf8', (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    await this.handle.sync().catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }
}
