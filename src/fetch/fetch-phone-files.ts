/**
 * `openctl fetch HOST`: what a phone downloads (CTLFile.tlv, ITLFile.tlv, SEP<MAC>.cnf.xml.sgn), saved to a
 * folder; shared by the CLI and the GUI's Fetch screen. Nothing is replaced unless asked, and a file the server
 * does not have is reported, not an error (non-secure clusters serve no CTLFile.tlv).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { OpenctlError } from '../util/errors';
import { writeFileAtomic } from '../util/atomic-write';
import { makeFolder } from '../util/make-folder';
import { digest } from '../crypto/hash';
import { fetchFile, phoneFileNames, type FetchSettings, type Transport } from './fetch';

export interface FetchedFile {
  name: string;
  via?: Transport;
  bytes?: number;
  sha1?: string;
  file?: string;
  notFound: boolean;
  attempts: Array<{ via: Transport; error: string }>;
}

/** The `--json` object of `openctl fetch` (docs/json.md#fetch). */
export interface FetchReport {
  host: string;
  out: string;
  files: FetchedFile[];
}

export interface FetchPhoneFilesOptions {
  host: string;
  macs: readonly string[];
  outDir: string;
  /** Replace files already in the folder (off: any of them existing stops the fetch before it starts). */
  overwrite?: boolean;
  settings: FetchSettings;
  /** Called after each file (the CLI prints a line). */
  onFile?: (file: FetchedFile) => void;
}

export async function fetchPhoneFiles(options: FetchPhoneFilesOptions): Promise<FetchReport> {
  const names = phoneFileNames(options.macs);
  const outDir = path.resolve(options.outDir);
  if (!options.overwrite) {
    for (const name of names) {
      if (await exists(path.join(outDir, name))) throw new OpenctlError(`${path.join(outDir, name)}: already exists (use --force to replace it)`);
    }
  }
  await makeFolder(outDir).catch((err: NodeJS.ErrnoException) => {
    throw new OpenctlError(`${outDir}: cannot create the folder: ${err.code ?? err.message}`);
  });
  const files: FetchedFile[] = [];
  for (const name of names) {
    if (options.settings.signal?.aborted) break;
    const outcome = await fetchFile(options.host, name, options.settings);
    const entry: FetchedFile = { name, notFound: outcome.notFound, attempts: outcome.attempts.map(({ via, error }) => ({ via, error })) };
    if (outcome.bytes) {
      const file = path.join(outDir, name);
      await writeFileAtomic(file, outcome.bytes, { overwrite: Boolean(options.overwrite) });
      Object.assign(entry, { via: outcome.via, bytes: outcome.bytes.length, sha1: digest('sha1', outcome.bytes).toString('hex'), file });
    }
    files.push(entry);
    options.onFile?.(entry);
  }
  return { host: options.host, out: outDir, files };
}

/** A transfer that broke, or getting nothing at all, is a failure; a file the server does not have is not. */
export function fetchFailed(report: FetchReport): boolean {
  const failed = report.files.filter((r) => r.sha1 === undefined && !r.notFound);
  const got = report.files.filter((r) => r.sha1 !== undefined);
  return failed.length > 0 || got.length === 0;
}

async function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    () => false,
  );
}
