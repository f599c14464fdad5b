import { promises as fs } from 'node:fs';
import { OpenctlError, FormatError } from '../util/errors';
import { parseFile } from '../formats';
import type { ParsedFile, TrustList, TrustListKind } from '../formats/model';

/** Inputs larger than any real CTL, ITL or config: refuse before reading them whole. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

export async function readInput(file: string, what = 'file'): Promise<Buffer> {
  try {
    const stat = await fs.stat(file);
    if (stat.isDirectory()) throw new OpenctlError(`${file}: is a folder, not a ${what}`);
    if (stat.size > MAX_INPUT_BYTES) throw new OpenctlError(`${file}: ${stat.size} bytes is too large for a ${what}`);
    return await fs.readFile(file);
  } catch (err) {
    if (err instanceof OpenctlError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? String(err));
    throw new OpenctlError(`${file}: cannot read: ${reason}`);
  }
}

/** Parse with errors naming the file: `FILE: at byte N: problem`. */
export function parseNamed(file: string, bytes: Buffer, kind?: TrustListKind): ParsedFile {
  try {
    return parseFile(bytes, { kind, file });
  } catch (err) {
    if (err instanceof FormatError) throw err.file ? err : err.withFile(file);
    throw err;
  }
}

export async function readParsed(file: string, kind?: TrustListKind): Promise<ParsedFile> {
  return parseNamed(file, await readInput(file), kind);
}

export async function readTrustList(file: string, kind?: TrustListKind): Promise<TrustList> {
  const parsed = await readParsed(file, kind);
  if (parsed.kind !== 'ctl' && parsed.kind !== 'itl') {
    throw new OpenctlError(`${file}: is a ${parsed.kind} file, not a CTL or ITL`);
  }
  return parsed;
}

export function parseKindOption(value: string | undefined): TrustListKind | undefined {
  if (value === undefined) return undefined;
  if (value === 'ctl' || value === 'itl') return value;
  throw new OpenctlError(`--kind must be ctl or itl, not "${value}"`);
}
