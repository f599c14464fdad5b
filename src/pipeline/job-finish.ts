import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { syncDirectory, TEMP_MARKER } from '../util/atomic-write';
import type { SigningBackend } from './backend';
import type { BatchFailure } from './events';
import { readJournal, sourceOfLine, type Journal, type JobSettings, type ManifestEntry } from './journal';
import { readManifestEntries, writeManifest, type ManifestCopy } from './manifest';
import { errnoError, nativeCopyJournalEntries } from './native-files';
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

/** The errno of a copy that failed without one (it always carries one; EIO if not). */
const EIO = 5;

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
  // copied whole by the native addon, which also counts their outputs (no string per line here).
  const copyJournal = nativeCopyJournalEntries();
  const copyWhole = copyJournal !== undefined && !(await exists(o.paths.manifest));
  async function* copied(): AsyncGenerator<ManifestCopy> {
    yield {
      copy: async (fd, prefix) => {
        const done = await copyJournal!(o.paths.journal, fd, prefix).catch((err: Error & { errno?: number }) => {
          throw errnoError(err.errno ? -err.errno : EIO, 'write', o.paths.manifest);
        });
        outputs += done.outputs;
        return done;
      },
    };
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
    copyWhole ? copied() : entries(),
  );
  await o.journal.close();
  await fs.rm(o.paths.journal, { force: true });
  await syncDirectory(o.paths.dir);
  return { pruned, outputs };
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
