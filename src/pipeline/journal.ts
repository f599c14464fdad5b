import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { HashAlgorithm } from '../crypto/hash';
import { syncDirectory } from '../util/atomic-write';
import { OpenctlError } from '../util/errors';
import type { OutputRecord } from './protocol';

/** One source's outputs, as the journal and the manifest record them. */
export interface ManifestEntry {
  source: string;
  sourceSha256: string;
  /** SHA-256 fingerprint of the signing certificate (lower-case hex). */
  signer: string;
  digest: HashAlgorithm;
  /** Set for an encrypted config: the phone certificate it was encrypted for. */
  deviceCertSha256?: string;
  outputs: OutputRecord[];
  /** When it was signed (an entry kept by `--incremental` keeps its first date). */
  signedAt: string;
}

/** What a job was started with: a resume must use the same, or it would mix two jobs in one folder. */
export interface JobSettings {
  source: string;
  signer: string;
  digest: HashAlgorithm;
  timestamp: number;
  include: string[];
  exclude: string[];
  encryptWith?: string;
  incremental: boolean;
}

export interface JobHeader extends JobSettings {
  type: 'job';
  version: 1;
  jobId: string;
  startedAt: string;
}

const NEWLINE = Buffer.from('\n');

/**
 * Lines with a newline after each: one string, or one Buffer when some lines are bytes already. Byte lines that
 * sit one after the other in the same buffer with a newline between them (a chunk of the native file engine)
 * are copied as one piece: the bytes written are the same.
 */
export function joinLines(lines: readonly (string | Uint8Array)[]): string | Buffer {
  if (lines.every((l) => typeof l === 'string')) return `${(lines as string[]).join('\n')}\n`;
  const parts: Uint8Array[] = [];
  let piece: Uint8Array | undefined;
  for (const l of lines) {
    if (typeof l === 'string') {
      if (piece) parts.push(piece);
      piece = undefined;
      parts.push(Buffer.from(l), NEWLINE);
      continue;
    }
    const end = l.byteOffset + l.length;
    const newlineFollows = end < l.buffer.byteLength && new Uint8Array(l.buffer, end, 1)[0] === 0x0a;
    if (piece && piece.buffer === l.buffer && piece.byteOffset + piece.length === l.byteOffset && newlineFollows) {
      piece = new Uint8Array(l.buffer, piece.byteOffset, piece.length + l.length + 1);
    } else {
      if (piece) parts.push(piece);
      piece = undefined;
      if (newlineFollows) piece = new Uint8Array(l.buffer, l.byteOffset, l.length + 1);
      else parts.push(l, NEWLINE);
    }
  }
  if (piece) parts.push(piece);
  return Buffer.concat(parts);
}

/**
 * Write pieces one after the other with one writev (a commit group's lines, chunk by chunk, without joining them
 * into one buffer first); a short write (a full disk past some bytes) goes on with plain writes, or throws.
 */
export async function writePieces(handle: fs.FileHandle, pieces: readonly Uint8Array[]): Promise<void> {
  const parts = pieces.filter((p) => p.length > 0);
  if (parts.length === 0) return;
  let total = 0;
  for (const p of parts) total += p.length;
  const { bytesWritten } = await handle.writev(parts as Uint8Array[]);
  if (bytesWritten >= total) return;
  const rest = Buffer.concat(parts).subarray(bytesWritten);
  for (let at = 0; at < rest.length; ) {
    const { bytesWritten: n } = await handle.write(rest, at, rest.length - at);
    if (n <= 0) throw new Error(`short write (${at} of ${rest.length} bytes)`);
    at += n;
  }
}

/**
 * The job's journal, `OUT_DIR/.openctl/journal.jsonl`: a header line, then one line per finished source (its
 * manifest entry, so that the manifest is the journal's lines copied). A group's lines are appended only after
 * its files were renamed into place and flushed, and the append itself is flushed before the next group starts,
 * so the journal never names a file whose bytes are not on disk.
 */
export class Journal {
  private constructor(
    private readonly handle: fs.FileHandle,
    readonly file: string,
    readonly header: JobHeader,
  ) {}

  static async create(file: string, header: JobHeader): Promise<Journal> {
    const handle = await fs.open(file, 'wx', 0o644);
    try {
      await handle.write(`${JSON.stringify(header)}\n`);
      await handle.sync();
      await syncDirectory(path.dirname(file));
    } catch (err) {
      await handle.close();
      throw err;
    }
    return new Journal(handle, file, header);
  }

  /** Reopen for appending after `readJournal` checked it (and cut a torn last line). */
  static async reopen(file: string, header: JobHeader): Promise<Journal> {
    return new Journal(await fs.open(file, 'a'), file, header);
  }

  /** Append entry lines (JSON of ManifestEntry, no newline; a string or its UTF-8 bytes) and flush them. */
  async append(lines: readonly (string | Uint8Array)[]): Promise<void> {
    if (lines.length === 0) return;
    const text = joinLines(lines);
    if (typeof text === 'string') await this.handle.write(text);
    else await this.handle.write(text);
    await this.handle.datasync();
  }

  /**
   * Append lines (each line's bytes, newline included) and then lines without their newline (`append`'s form),
   * in one writev, and flush them: a commit group of native chunks costs one system call, not a copy per file.
   */
  async appendPieces(pieces: readonly Uint8Array[], lines: readonly (string | Uint8Array)[] = []): Promise<void> {
    const all = lines.length > 0 ? [...pieces, toBytes(joinLines(lines))] : pieces;
    if (all.every((p) => p.length === 0)) return;
    await writePieces(this.handle, all);
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

const toBytes = (text: string | Uint8Array): Uint8Array => (typeof text === 'string' ? Buffer.from(text) : text);

export interface JournalContents {
  header: JobHeader;
  /** The committed entries, in order. */
  entries(): AsyncGenerator<ManifestEntry>;
  /** The same, as the JSON lines written (for copying into the manifest without parsing). */
  entryLines(): AsyncGenerator<string>;
}

/**
 * Read a journal for `--resume`. A last line cut by a crash or power loss is dropped (its files are signed
 * again) and cut off the file, so the next append starts on a clean line.
 */
export async function readJournal(file: string, options: { validate?: boolean } = {}): Promise<JournalContents | undefined> {
  const validate = options.validate ?? true;
  let size: number;
  try {
    size = (await fs.stat(file)).size;
  } catch {
    return undefined;
  }
  let header: JobHeader | undefined;
  let validLength = 0;
  for await (const { line, end } of lines(file)) {
    // A last line without its newline was cut short, even when what remains happens to parse.
    const complete = end <= size;
    if (!complete) break;
    if (header && !validate) {
      // The caller wrote the whole journal itself (the end of a job): no torn line to look for.
      validLength = size;
      break;
    }
    if (!header) {
      let parsed: Partial<JobHeader>;
      try {
        parsed = JSON.parse(line) as Partial<JobHeader>;
      } catch {
        break;
      }
      if (parsed.type !== 'job' || parsed.version !== 1) throw new OpenctlError(`${file}: not an openctl batch journal`);
      header = parsed as JobHeader;
    } else if (!isCompleteJson(line)) {
      break;
    }
    validLength = end;
  }
  if (!header) return undefined;
  if (validLength < size) await fs.truncate(file, validLength);
  const journalHeader = header;
  async function* entryLines(): AsyncGenerator<string> {
    let first = true;
    for await (const { line } of lines(file)) {
      if (first) first = false;
      else yield line;
    }
  }
  return {
    header: journalHeader,
    entryLines,
    async *entries() {
      for await (const line of entryLines()) yield JSON.parse(line) as ManifestEntry;
    },
  };
}

/** An entry line survives a crash whole or not at all: check it parses (only done once, on resume). */
function isCompleteJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** The `source` of an entry line, read without parsing the line (JSON.stringify writes it first). */
export function sourceOfLine(line: string): string {
  const prefix = '{"source":"';
  if (!line.startsWith(prefix)) return (JSON.parse(line) as ManifestEntry).source;
  let end = prefix.length;
  while (end < line.length && line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
  return JSON.parse(line.slice(prefix.length - 1, end + 1)) as string;
}

/**
 * Lines of a file with the byte offset just past each line's newline (the journal only ever holds `\n`: JSON
 * escapes any other line break). Read in 64 KB chunks and split on the newline byte: readline's streams and
 * decoders cost several times more per line, on the main thread, at the end of every job.
 */
async function* lines(file: string): AsyncGenerator<{ line: string; end: number }> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 16);
    let carry = Buffer.alloc(0);
    let offset = 0; // file offset of the first byte of `carry`
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const chunk = carry.length > 0 ? Buffer.concat([carry, buffer.subarray(0, bytesRead)]) : buffer.subarray(0, bytesRead);
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
        if (nl > start) yield { line: chunk.toString('utf8', start, nl), end: offset + nl + 1 };
        start = nl + 1;
      }
      offset += start;
      carry = Buffer.from(chunk.subarray(start)); // a copy: `buffer` is read into again
    }
    if (carry.length > 0) yield { line: carry.toString('utf8'), end: offset + carry.length + 1 };
  } finally {
    await handle.close();
  }
}

/** Which settings differ between a journal and a new run (empty when it may resume). */
export function settingsDiff(a: JobSettings, b: JobSettings): string[] {
  const differ: string[] = [];
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  if (a.source !== b.source) differ.push(`source folder (${a.source})`);
  if (a.signer !== b.signer) differ.push('signer certificate');
  if (a.digest !== b.digest) differ.push(`digest (${a.digest})`);
  if (!same(a.include, b.include) || !same(a.exclude, b.exclude)) differ.push('--include/--exclude');
  if (a.encryptWith !== b.encryptWith) differ.push('--encrypt-with');
  if (a.incremental !== b.incremental) differ.push('--incremental');
  return differ;
}
