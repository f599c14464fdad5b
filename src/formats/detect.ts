import * as path from 'node:path';
import { FormatError } from '../util/errors';
import type { FileHeader, FileKind, TrustListKind } from './model';
import { formatVersion } from './values';

export type ContainerKind = 'trust-list' | 'signed' | 'encrypted';

/**
 * Header version tells the container: 1.2 trust list, 1.0 signed file, 1.1 signed firmware container (`.loads`,
 * `.sbn`, `.zz.sgn`: a signed file without a timestamp), 2.0 encrypted config.
 */
export function containerKind(header: FileHeader): ContainerKind {
  const { major, minor } = header.version;
  if (major === 1 && minor === 2) return 'trust-list';
  if (major === 1 && (minor === 0 || minor === 1)) return 'signed';
  if (major === 2 && minor === 0) return 'encrypted';
  throw new FormatError(`unsupported header version ${formatVersion(header.version)} (expected 1.2, 1.0, 1.1 or 2.0)`, 3);
}

/**
 * CTL and ITL headers are identical: the header filename tells them apart (`CTLFile.tlv`, `ITLFile.tlv`,
 * `ITLSEP...`), then the name of the file on disk; `override` (the user's --kind) wins over both.
 */
export function trustListKind(header: FileHeader, override?: TrustListKind, file?: string): TrustListKind {
  if (override) return override;
  return kindFromName(header.filename) ?? (file ? kindFromName(path.basename(file)) : undefined) ?? 'ctl';
}

function kindFromName(name: string): TrustListKind | undefined {
  const upper = name.toUpperCase();
  if (upper.startsWith('ITL')) return 'itl';
  if (upper.startsWith('CTL')) return 'ctl';
  return undefined;
}

/** The kind of a parsed header, as parseFile reports it. */
export function detectKind(header: FileHeader, override?: TrustListKind, file?: string): FileKind {
  const container = containerKind(header);
  return container === 'trust-list' ? trustListKind(header, override, file) : container;
}
