import { constants, promises as fs, closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { OpenctlError, ExitCode } from './errors';

/** Inputs larger than any real CTL, ITL or config: refused before they are read whole. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;
/** Small text inputs (PIN files, JSON settings, cluster files, PEM keys): refused above this. */
export const MAX_TEXT_BYTES = 4 * 1024 * 1024;

export interface ReadOptions {
  /** What the file is, for messages: `FILE: cannot read the certificate: ...` (default "file"). */
  what?: string;
  /** Refuse a file larger than this (default MAX_INPUT_BYTES), before allocating anything for it. */
  maxBytes?: number;
  /** The exit code when the file cannot be opened (default 2; PIN files use 3). A FIFO, device or too large a
   * file is always exit 2: the wrong thing was named. */
  exitCode?: ExitCode;
}

/**
 * O_NONBLOCK: opening a FIFO without it blocks until a writer appears (a hang before anything can be checked).
 * With it the open returns at once, and the fstat of the opened descriptor says what it really is: no window
 * between a stat and the open in which the path could be swapped (TOCTOU). Windows has no FIFOs to fear.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** Why a path that is not a regular file cannot be read, or undefined for a regular file. */
function notRegular(stat: Stats): string | undefined {
  if (stat.isFile()) return undefined;
  if (stat.isDirectory()) return 'is a folder';
  if (stat.isFIFO()) return 'is a named pipe (FIFO)';
  if (stat.isSocket()) return 'is a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'is a device';
  return 'is not a regular file';
}

function reasonOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENXIO') return 'is a socket, not a regular file'; // open(2) of a UNIX socket
  if (code === 'EISDIR') return 'is a folder';
  if (code === 'ELOOP') return 'too many symbolic links';
  return code ?? String(err);
}

class Refusal {
  constructor(readonly file: string, readonly options: ReadOptions) {}

  get what(): string {
    return this.options.what ?? 'file';
  }

  error(reason: string, exitCode: ExitCode = this.options.exitCode ?? ExitCode.BadInput): OpenctlError {
    const { what } = this;
    const prefix = what === 'file' ? 'cannot read' : `cannot read the ${what}`;
    return new OpenctlError(`${this.file}: ${prefix}: ${reason}`, exitCode);
  }

  check(stat: Stats): number {
    const why = notRegular(stat);
    if (why) throw this.error(`${why}, not a regular file`, ExitCode.BadInput);
    const max = this.options.maxBytes ?? MAX_INPUT_BYTES;
    if (stat.size > max) throw this.error(`${stat.size} bytes is larger than the ${max}-byte limit for a ${this.what}`, ExitCode.BadInput);
    return max;
  }

  tooLarge(max: number): OpenctlError {
    return this.error(`larger than the ${max}-byte limit for a ${this.what}`, ExitCode.BadInput);
  }
}

/** A read the loop wants: fill `buffer` from `offset` to its end; the caller sends back the bytes read. */
interface ReadRequest {
  buffer: Buffer;
  offset: number;
}

/**
 * The reading, written once for the async and the sync reader (each drives it with its own read call): check
 * what the descriptor is, then read to the end, growing the buffer, never past the cap even if the file grows.
 */
function* readLoop(refusal: Refusal, stat: Stats): Generator<ReadRequest, Buffer, number> {
  const max = refusal.check(stat);
  let buffer = Buffer.allocUnsafe(Math.min(stat.size, max) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > max) throw refusal.tooLarge(max);
      const bigger = Buffer.allocUnsafe(Math.min(Math.max(buffer.length * 2, 4096), max + 1));
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    const bytesRead = yield { buffer, offset: length };
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  if (length > max) throw refusal.tooLarge(max);
  return buffer.subarray(0, length);
}

/**
 * Every input file of every command and GUI call is read here: only regular files (a FIFO, a device such as
 * /dev/zero or a socket is refused at once, exit 2), capped before anything is allocated, and errors are one
 * line naming the file. The cap also holds against a file that grows while it is read.
 */
export async function readInput(file: string, whatOrOptions: string | ReadOptions = {}): Promise<Buffer> {
  const options = typeof whatOrOptions === 'string' ? { what: whatOrOptions } : whatOrOptions;
  const refusal = new Refusal(file, options);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, OPEN_FLAGS);
  } catch (err) {
    throw refusal.error(reasonOf(err));
  }
  try {
    const reads = readLoop(refusal, await handle.stat());
    for (let step = reads.next(); ; ) {
      if (step.done) return step.value;
      const { buffer, offset } = step.value;
      step = reads.next((await handle.read(buffer, offset, buffer.length - offset, null)).bytesRead);
    }
  } catch (err) {
    if (err instanceof OpenctlError) throw err;
    throw refusal.error(reasonOf(err));
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** `readInput` for the few synchronous callers (PIN files, the PKCS#11 module config). */
export function readInputSync(file: string, whatOrOptions: string | ReadOptions = {}): Buffer {
  const options = typeof whatOrOptions === 'string' ? { what: whatOrOptions } : whatOrOptions;
  const refusal = new Refusal(file, options);
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    throw refusal.error(reasonOf(err));
  }
  try {
    const reads = readLoop(refusal, fstatSync(fd));
    for (let step = reads.next(); ; ) {
      if (step.done) return step.value;
      const { buffer, offset } = step.value;
      step = reads.next(readSync(fd, buffer, offset, buffer.length - offset, null));
    }
  } catch (err) {
    if (err instanceof OpenctlError) throw err;
    throw refusal.error(reasonOf(err));
  } finally {
    closeSync(fd);
  }
}

/** The same text reading for UTF-8 files (JSON, PEM, PIN files), with the smaller text cap by default. */
export async function readTextInput(file: string, options: ReadOptions = {}): Promise<string> {
  return (await readInput(file, { maxBytes: MAX_TEXT_BYTES, ...options })).toString('utf8');
}

export function readTextInputSync(file: string, options: ReadOptions = {}): string {
  return readInputSync(file, { maxBytes: MAX_TEXT_BYTES, ...options }).toString('utf8');
}
