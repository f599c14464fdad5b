import { OpenctlError, FormatError } from '../util/errors';
import { readInput } from '../util/read-input';

export { readInput };
import { parseFile } from '../formats';
import type { ParsedFile, TrustList, TrustListKind } from '../formats/model';

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
