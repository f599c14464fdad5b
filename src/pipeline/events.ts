import { EventEmitter } from 'node:events';
import type { BackendKind } from './backend';

export interface BatchStart {
  jobId: string;
  resumed: boolean;
  /** Files the journal already holds (a resumed job does not sign them again). */
  alreadyDone: number;
  jobs: number;
  backend: BackendKind;
  signer: string;
  flusher: string;
}

export interface FileOutcome {
  source: string;
  status: 'signed' | 'kept' | 'failed' | 'skipped';
  outputs?: string[];
  problem?: string;
}

export interface BatchProgress {
  /** Files finished in this job (signed + kept + failed, including those done before a resume). */
  done: number;
  signed: number;
  kept: number;
  failed: number;
  /** Total files to do, once the counting walk has finished. */
  total?: number;
  elapsedMs: number;
  /** Over the last few seconds. */
  filesPerSecond: number;
  etaSeconds?: number;
}

export interface BatchFailure {
  source: string;
  problem: string;
}

export interface BatchSummary {
  jobId: string;
  source: string;
  out: string;
  resumed: boolean;
  complete: boolean;
  /** Why the batch stopped early: `interrupted` (Ctrl-C) or the signer's message (a token removed...). */
  stopped?: string;
  total: number;
  signed: number;
  kept: number;
  failed: number;
  alreadyDone: number;
  pruned: number;
  outputs: number;
  elapsedMs: number;
  /** Of elapsedMs, the setup before the first file (threads, template, journal, lock). */
  setupMs: number;
  filesPerSecond: number;
  backend: BackendKind;
  jobs: number;
  flusher: string;
  /** batch sign: who did the per-file work, the native threads (openctl_files.node) or the worker threads. */
  fileEngine?: 'native' | 'workers';
  failures: BatchFailure[];
  /** FIFOs, sockets, devices and dangling links under the source: never signed, counted here and in the manifest. */
  skipped: number;
  skippedFiles: BatchFailure[];
  manifest?: string;
  exitCode: number;
}

export interface BatchEventMap {
  start: [BatchStart];
  /** The counting walk finished: the total for the ETA. */
  total: [number];
  /**
   * Every file, signed or not (with a listener only: the native engine then reports its chunks file by file).
   * Progress and failures need no such listener: `progress` counts, `problem` names the files that failed.
   */
  file: [FileOutcome];
  /** A file that failed or was skipped (status `failed` or `skipped`, with its problem): only those, one each. */
  problem: [FileOutcome];
  progress: [BatchProgress];
  /** A group of files is durable and in the journal. */
  commit: [{ files: number; committed: number }];
  warning: [string];
  end: [BatchSummary];
}

/** What the CLI (progress bar, JSON lines) and the GUI subscribe to. */
export class BatchEvents extends EventEmitter<BatchEventMap> {}
