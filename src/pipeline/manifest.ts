import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { HashAlgorithm } from '../crypto/hash';
import { syncDirectory, tempPathFor } from '../util/atomic-write';
import { OpenctlError } from '../util/errors';
import { writePieces, type ManifestEntry } from './journal';

export interface ManifestHeader {
  format: 'openctl-batch-manifest';
  version: 1;
  job: string;
  completedAt: string;
  source: string;
  signer: { fingerprint: string; subject: string; description: string };
  digest: HashAlgorithm;
  summary: Record<string, number>;
  failures: Array<{ source: string; problem: string }>;
  /** FIFOs, sockets, devices and dangling links under the source, never signed (absent in older manifests). */
  skipped?: Array<{ source: string; problem: string }>;
}

const FILES_OPEN = '"files": [';

/**
 * Entries written by someone else straight into the manifest file, at its offset: `copy(fd, prefix)` writes `prefix`
 * before its first entry and ",\n" between them, and says how many it wrote (the journal's lines, copied whole in
 * C at the end of a job).
 */
export interface ManifestCopy {
  copy: (fd: number, prefix: string) => Promise<{ lines: number }>;
}

/**
 * `OUT_DIR/.openctl/manifest.json`: one JSON document, written with one `files` entry per line so that it can
 * be written and read as a stream (100,000 entries never sit in memory at once), and still parses as plain JSON.
 * Entries come as objects, as their JSON (the journal's lines, copied as they are), or as a copy made elsewhere.
 * Written to a temp file, flushed, then renamed: a reader never sees half a manifest.
 */
export async function writeManifest(file: string, header: ManifestHeader, entries: AsyncIterable<ManifestEntry | string | ManifestCopy>): Promise<void> {
  const tmp = tempPathFor(file);
  const handle = await fs.open(tmp, 'wx', 0o644);
  try {
    const head = JSON.stringify(header, null, 1).replace(/\n\}$/, '');
    const write = (text: string) => writePieces(handle, [Buffer.from(text)]);
    let text = `${head},\n ${FILES_OPEN}`;
    let first = true;
    for await (const entry of entries) {
      if (typeof entry === 'object' && 'copy' in entry) {
        // What is queued goes first: the copy writes at the file's offset.
        await write(text);
        text = '';
        const { lines } = await entry.copy(handle.fd, first ? '\n' : ',\n');
        if (lines === 0) continue;
      } else {
        text += `${first ? '\n' : ',\n'}${typeof entry === 'string' ? entry : JSON.stringify(entry)}`;
        if (text.length > 1 << 16) {
          await write(text);
          text = '';
        }
      }
      first = false;
    }
    await write(`${text}${first ? '' : '\n'} ]\n}\n`);
    await handle.sync();
    await handle.close();
    await fs.rename(tmp, file);
    await syncDirectory(path.dirname(file));
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** The manifest's header fields (everything but `files`), or undefined when there is none. */
export async function readManifestHeader(file: string): Promise<ManifestHeader | undefined> {
  let head = '';
  try {
    for await (const line of readLines(file)) {
      if (line.trimStart().startsWith(FILES_OPEN)) return JSON.parse(`${head.replace(/,\s*$/, '')}}`) as ManifestHeader;
      head += `${line}\n`;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unreadable(file, err);
  }
  throw unreadable(file, new Error('no "files" list'));
}

/** Stream the entries of a manifest (nothing when there is none). */
export async function* readManifestEntries(file: string): AsyncGenerator<ManifestEntry> {
  let inFiles = false;
  try {
    for await (const line of readLines(file)) {
      const text = line.trim();
      if (!inFiles) {
        inFiles = text.startsWith(FILES_OPEN);
        continue;
      }
      if (text.startsWith(']')) return;
      if (!text.startsWith('{')) throw new Error(`unexpected line "${text.slice(0, 40)}"`);
      yield JSON.parse(text.replace(/,$/, '')) as ManifestEntry;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw unreadable(file, err);
  }
  if (inFiles) throw unreadable(file, new Error('cut short'));
}

function unreadable(file: string, err: unknown): OpenctlError {
  return new OpenctlError(`${file}: unreadable manifest (${(err as Error).message}); move it away to sign everything again`);
}

async function* readLines(file: string): AsyncGenerator<string> {
  const input = createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  await opened;
  const readline = require('node:readline') as typeof import('node:readline'); // only --incremental reads a manifest back
  yield* readline.createInterface({ input, crlfDelay: Infinity });
}
