import { promises as fs } from 'node:fs';
import type { HashAlgorithm } from '../crypto/hash';
import { writePieces } from './journal';

/** One line of `OUT_DIR/.openctl/audit.jsonl`: one signature. */
export interface AuditRecord {
  time: string;
  /** SHA-256 fingerprint of the signing certificate. */
  signer: string;
  /** Serial of the token that made the signature (absent for a PEM key). */
  token?: string;
  /** The signed file, relative to OUT_DIR (or the ITL path for `batch itl`). */
  file: string;
  hash: HashAlgorithm;
  /** Hex digest that was signed. */
  digest: string;
  job: string;
}

/**
 * The append-only audit log: opened in append mode, never truncated or rewritten, across every job that writes
 * to the folder. Each group's lines are flushed before the group enters the journal, so every file the journal
 * names has its signature in the log (a signature lost in a crash, redone on resume, can appear twice).
 */
export class AuditLog {
  private constructor(
    private readonly handle: fs.FileHandle,
    readonly file: string,
  ) {}

  static async open(file: string): Promise<AuditLog> {
    return new AuditLog(await fs.open(file, 'a', 0o644), file);
  }

  /** Append records (or ready JSON lines, each ending in a newline, as text or UTF-8 bytes) and flush them. */
  async append(records: AuditRecord[] | string | Uint8Array): Promise<void> {
    const text = typeof records === 'string' || records instanceof Uint8Array ? records : records.map((r) => `${JSON.stringify(r)}\n`).join('');
    if (text.length === 0) return;
    if (typeof text === 'string') await this.handle.write(text);
    else await this.handle.write(text);
    await this.handle.datasync();
  }

  /** Append ready lines (bytes, each line ending in its newline) in one writev, and flush them. */
  async appendPieces(pieces: readonly Uint8Array[]): Promise<void> {
    if (pieces.every((p) => p.length === 0)) return;
    await writePieces(this.handle, pieces);
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
