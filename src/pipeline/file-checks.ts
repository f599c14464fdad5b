/**
 * Which sources must be XML, and a cheap check that they are. Phones parse `*.xml` files (configs
 * `SEP<MAC>.cnf.xml`, ring lists, soft-key templates, dial plans) and reject a signed file whose body is not
 * XML only after downloading it, so the batch refuses such a source up front. Other files (ring tones, images)
 * are signed as they are.
 */
export function mustBeXml(name: string): boolean {
  return /\.xml$/i.test(name);
}

/** A phone config for `SEP<MAC>.cnf.xml`: the MAC in upper case, or undefined for any other name. */
export function phoneMacOf(name: string): string | undefined {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const match = /^SEP([0-9A-F]{12})\.cnf\.xml$/i.exec(base);
  return match ? match[1].toUpperCase() : undefined;
}

const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * Starts with `<` (after an optional UTF-8 byte-order mark and white space), ends with `>`, holds no NUL byte.
 * Not a parser: it catches the real accidents (binary files, truncated or empty configs, text dumps) at a cost
 * that stays far below a signature.
 */
export function looksLikeXml(bytes: Uint8Array): boolean {
  let start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (start < bytes.length && isSpace(bytes[start])) start += 1;
  let end = bytes.length - 1;
  while (end > start && isSpace(bytes[end])) end -= 1;
  if (start >= end || bytes[start] !== 0x3c || bytes[end] !== 0x3e) return false;
  return bytes.indexOf(0) === -1;
}

/** One short reason for a failed read, the way a person says it. */
export function readProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOENT: 'the file disappeared during the batch',
    EISDIR: 'is a folder',
    EIO: 'input/output error',
  };
  if (err instanceof Error && err.name === 'OpenctlError') return err.message.includes('cannot read') ? err.message : `cannot read: ${err.message}`;
  return `cannot read: ${(code && reasons[code]) || (err as Error)?.message || String(err)}`;
}
