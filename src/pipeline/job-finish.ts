import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { syncDirectory, TEMP_MARKER } from '../util/atomic-write';
import type { SigningBackend } from './backend';
import type { BatchFailure } from './events';
import { readJournal, sourceOfLine, type Journal, type JobSettings, type ManifestEntry } from './journal';
import { readManifestEntries, writeManifest, type ManifestPiece } from './manifest';
import { nativeManifestLines } from './native-files';
import type { StatePaths } from './state-files';

/** Temp files of an interrupted run (kill -9, power loss): never renamed, never journaled, removed. */
export async function removeTempFiles(dir: string): Promise<number> {
  let removed = 0;
  const visit = async (folder: string): Promise<void> => {
    let handle;
    try {
      handle = await fs.opendir(folder, { bufferSize: 256 });
    } catch {
      return;
    }
    for await (const entry of handle) {
      const abs = path.join(folder, entry.name);
      if (entry.isDirectory()) await visit(abs);
      else if (entry.name.startsWith(TEMP_MARKER)) {
        await fs.rm(abs, { force: true });
        removed += 1;
      }
    }
  };
  await visit(dir);
  return removed;
}

export interface FinishOptions {
  out: string;
  paths: StatePaths;
  journal: Journal;
  jobId: string;
  settings: JobSettings;
  signerInfo: { subject: string };
  backend: SigningBackend;
  counts: { signed: number; kept: number; failed: number };
  failures: BatchFailure[];
  skipped: BatchFailure[];
  prune: boolean;
}

/**
 * The job is done: the manifest is the journal's entries plus what an earlier manifest lists and this job did
 * not touch (outputs of other sources still in place); `--prune` removes the outputs whose source is gone. Once
 * the manifest is durable the journal goes: a later `--resume` has nothing to finish.
 */
export async function finishJob(o: FinishOptions): Promise<{ pruned: number; outputs: number }> {
  const inJob = new Set<string>();
  let outputs = 0;
  let pruned = 0;
  // No earlier manifest to merge (a new folder, the usual case): the journal's entry lines are the manifest's,
  // copied in blocks (the native addon joins them and counts their outputs; no string per line here).
  const manifestLines = nativeManifestLines();
  const copyWhole = manifestLines !== undefined && !(await exists(o.paths.manifest));
  async function* blocks(): AsyncGenerator<ManifestPiece> {
    // One input and one output buffer for the whole copy: writeManifest writes each piece before the next.
    let out = Buffer.allocUnsafe(2 * JOURNAL_BLOCK);
    for await (const block of journalBlocks(o.paths.journal)) {
      if (out.length < 2 * block.length) out = Buffer.allocUnsafe(2 * block.length);
      const piece = manifestLines!(block, out);
      outputs += piece.outputs;
      yield { text: out.subarray(0, piece.length), lines: piece.lines };
    }
  }
  // This job wrote and flushed the whole journal: no torn line to look for, no need to parse every line.
  const journalContents = copyWhole ? undefined : await readJournal(o.paths.journal, { validate: false });
  async function* entries(): AsyncGenerator<string | ManifestEntry> {
    if (journalContents) {
      for await (const line of journalContents.entryLines()) {
        const source = sourceOfLine(line);
        if (inJob.has(source)) continue;
        inJob.add(source);
        outputs += countOutputs(line);
        yield line;
      }
    }
    for await (const old of readManifestEntries(o.paths.manifest)) {
      if (inJob.has(old.source)) continue;
      const sourceGone = !(await exists(path.join(o.settings.source, old.source)));
      if (sourceGone && o.prune) {
        for (const output of old.outputs) await fs.rm(path.join(o.out, output.file), { force: true });
        pruned += 1;
        continue;
      }
      const present = await Promise.all(old.outputs.map((x) => exists(path.join(o.out, x.file))));
      if (!present.every(Boolean)) continue;
      inJob.add(old.source);
      outputs += old.outputs.length;
      yield old;
    }
  }
  await writeManifest(
    o.paths.manifest,
    {
      format: 'openctl-batch-manifest',
      version: 1,
      job: o.jobId,
      completedAt: new Date().toISOString(),
      source: o.settings.source,
      signer: { fingerprint: o.settings.signer, subject: o.signerInfo.subject, description: o.backend.description },
      digest: o.settings.digest,
      summary: { ...o.counts },
      failures: o.failures,
      skipped: o.skipped,
    },
    copyWhole ? blocks() : entries(),
  );
  await o.journal.close();
  await fs.rm(o.paths.journal, { force: true });
  await syncDirectory(o.paths.dir);
  return { pruned, outputs };
}

const JOURNAL_BLOCK = 1 << 20;

/**
 * The journal's entry lines (the header line left out) in blocks of whole lines, each line with its newline, in
 * one buffer reused from block to block (the caller is done with a block before it asks for the next). The
 * journal holds only `\n` line ends (JSON escapes the others) and ends with one: this job wrote all of it.
 */
export async function* journalBlocks(file: string): AsyncGenerator<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    let buffer = Buffer.allocUnsafe(JOURNAL_BLOCK);
    let carried = 0; // bytes of a line cut by the previous read, moved to the buffer's start
    let header = true;
    for (;;) {
      if (carried === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]); // a line past the buffer
      const { bytesRead } = await handle.read(buffer, carried, buffer.length - carried, null);
      if (bytesRead === 0) break;
      const filled = carried + bytesRead;
      let start = 0;
      if (header) {
        const nl = buffer.subarray(0, filled).indexOf(10);
        if (nl === -1) {
          carried = filled;
          continue;
        }
        start = nl + 1;
        header = false;
      }
      const last = buffer.subarray(0, filled).lastIndexOf(10);
      const rest = last >= start ? last + 1 : start;
      if (rest > start) yield buffer.subarray(start, rest);
      buffer.copy(buffer, 0, rest, filled);
      carried = filled - rest;
    }
    if (!header && carried > 0) yield Buffer.concat([buffer.subarray(0, carried), Buffer.from('\n')]);
  } finally {
    await handle.close();
  }
}

/** Outputs of an entry line: each output record has one `"kind":`. */
function countOutputs(line: string): number {
  let n = 0;
  for (let at = line.indexOf('"kind":'); at !== -1; at = line.indexOf('"kind":', at + 1)) n += 1;
  return n;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}
