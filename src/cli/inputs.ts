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

/** How `show` and `verify` fetch a `tftp://` or `http://` argument: the settings `diff` and `preflight` take. */
export interface UrlSettings {
  timeoutMs?: number;
  signal?: AbortSignal;
}

const URL_SPEC = /^(tftp|http):\/\//i;

/**
 * A path, or a `tftp://HOST[:PORT]/NAME` / `http://HOST[:PORT]/NAME` URL fetched as a phone would (the same inputs
 * `diff` and `preflight` take, src/fetch/inputs.ts). The fetch code loads only when a URL is given, so that showing a
 * local file stays fast.
 */
export async function readParsedSpec(spec: string, kind: TrustListKind | undefined, settings: UrlSettings = {}): Promise<ParsedFile> {
  if (!URL_SPEC.test(spec)) return readParsed(spec, kind);
  const { readPhoneFile } = await import('../fetch/inputs');
  const fetched = await readPhoneFile(spec, settings);
  return fetched.parsed && !kind ? fetched.parsed : parseNamed(spec, fetched.bytes, kind);
}

export async function readTrustListSpec(spec: string, settings: UrlSettings = {}): Promise<TrustList> {
  const parsed = await readParsedSpec(spec, undefined, settings);
  if (parsed.kind !== 'ctl' && parsed.kind !== 'itl') {
    throw new OpenctlError(`${spec}: is a ${parsed.kind} file, not a CTL or ITL`);
  }
  return parsed;
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
