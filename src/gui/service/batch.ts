/**
 * The Batch screen's side of the service, over src/pipeline's batchSign: one job at a time, its progress events
 * turned into BatchState snapshots for the renderer (a few per second), cancel through the pipeline's abort
 * signal (which leaves a resumable journal), resume through its `resume` option.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { EventHub } from '../events';
import type { BatchState } from '../types';
import type { RequestOf } from '../contract';
import { OpenctlError } from '../../util/errors';
import { batchSign, BatchEvents, openTokenBackend, statePaths, type BatchSigner, type BatchSummary } from '../../pipeline';
import type { TokenAccess } from './token-access';

export interface BatchServiceOptions {
  events: EventHub;
  tokens: TokenAccess;
}

const MAX_ERRORS_SHOWN = 500;
const EMIT_EVERY_MS = 200;

const IDLE: BatchState = { jobId: '', status: 'idle', source: '', output: '', done: 0, failed: 0, skipped: 0, filesPerSecond: 0, errors: [] };

export class BatchService {
  private current: BatchState = IDLE;
  private controller?: AbortController;
  private running?: Promise<void>;
  private lastEmit = 0;
  private pendingEmit?: NodeJS.Timeout;

  constructor(private readonly options: BatchServiceOptions) {}

  async start(request: RequestOf<'batchStart'>): Promise<BatchState> {
    if (this.current.status === 'running') throw new OpenctlError('a batch is already running: cancel it first');
    const source = path.resolve(request.source);
    const output = path.resolve(request.output);
    let signer: BatchSigner;
    let release = async () => undefined as void;
    if ('pem' in request.signer) {
      signer = { pem: path.resolve(request.signer.pem) };
    } else {
      const tokenSigner = await this.options.tokens.signerFor(request.signer.tokenId);
      try {
        const backend = await openTokenBackend([tokenSigner]);
        signer = { backend };
        release = async () => {
          await backend.close().catch(() => undefined);
          await tokenSigner.close?.();
        };
      } catch (err) {
        await tokenSigner.close?.();
        throw err;
      }
    }

    const events = new BatchEvents();
    const controller = new AbortController();
    this.controller = controller;
    const state: BatchState = { ...IDLE, jobId: '', status: 'running', source, output, errors: [], options: cliOptions(request) };
    this.current = state;
    events.on('start', (s) => {
      state.jobId = s.jobId;
      state.skipped = s.alreadyDone;
      this.emit(true);
    });
    events.on('total', (total) => {
      state.total = total;
      this.emit();
    });
    events.on('progress', (p) => {
      state.done = p.done;
      state.failed = p.failed;
      state.total = p.total ?? state.total;
      state.filesPerSecond = p.filesPerSecond;
      state.etaSeconds = p.etaSeconds;
      this.emit();
    });
    events.on('problem', (f) => {
      if (f.status === 'failed' && state.errors.length < MAX_ERRORS_SHOWN) {
        state.errors.push({ file: path.relative(source, f.source) || f.source, message: f.problem ?? 'failed' });
        this.emit();
      }
    });
    events.on('warning', (message) => {
      state.message = message;
      this.emit();
    });

    const started = new Promise<void>((resolve) => events.once('start', () => resolve()));
    let run: Promise<BatchSummary>;
    try {
      run = batchSign({
        source,
        out: output,
        signer,
        digest: request.digest,
        resume: request.resume ?? false,
        include: request.include ?? [],
        exclude: request.exclude ?? [],
        encryptWith: request.encryptWith ? path.resolve(request.encryptWith) : undefined,
        trust: (request.trust ?? []).map((t) => path.resolve(t)),
        incremental: request.incremental ?? false,
        force: request.overwrite ?? false,
        signal: controller.signal,
        events,
      });
    } catch (err) {
      await release();
      throw err;
    }
    this.running = run.then(
      (summary) => this.finish(state, summary),
      (err: unknown) => {
        state.status = 'failed';
        state.message = err instanceof Error ? err.message : String(err);
      },
    ).finally(async () => {
      await release();
      state.resumable = state.status !== 'done' && existsSync(statePaths(output).journal);
      if (state.summary && state.status !== 'done') state.message = stoppedMessage(state.summary, state.resumable);
      this.controller = undefined;
      this.emit(true);
    });
    // A batch that cannot start (folders, an interrupted job without resume) fails before its start event: tell
    // the caller; one that started reports through events.
    await Promise.race([started, this.running]);
    if (state.status === 'failed' && state.message && !state.jobId) {
      const message = state.message;
      this.current = { ...state };
      throw new OpenctlError(message);
    }
    return { ...state, errors: [...state.errors] };
  }

  private finish(state: BatchState, summary: BatchSummary): void {
    // Stopped early, the pipeline's total is the files seen so far; the true total is the counting walk's, if it
    // finished (else unknown): never present the files seen as "of N".
    const total = summary.complete ? summary.total : state.total;
    state.summary = { signed: summary.signed, kept: summary.kept, failed: summary.failed, alreadyDone: summary.alreadyDone, total };
    state.done = summary.alreadyDone + summary.signed + summary.kept + summary.failed;
    state.total = total;
    state.failed = summary.failed;
    state.filesPerSecond = summary.filesPerSecond;
    state.etaSeconds = 0;
    state.errors = summary.failures.slice(0, MAX_ERRORS_SHOWN).map((f) => ({ file: path.relative(state.source, f.source) || f.source, message: f.problem }));
    if (summary.complete) {
      state.status = 'done';
      state.message = `${summary.signed} signed, ${summary.kept} unchanged, ${summary.failed} failed in ${(summary.elapsedMs / 1000).toFixed(1)} s`;
    } else if (summary.stopped === 'interrupted') {
      state.status = 'cancelled';
      state.message = `stopped after ${state.done} files; resume to finish`;
    } else {
      state.status = 'failed';
      state.message = `stopped: ${summary.stopped ?? 'unknown reason'}; resume to finish`;
    }
  }

  private emit(now = false): void {
    const send = () => {
      this.pendingEmit = undefined;
      this.lastEmit = Date.now();
      this.options.events.emit('batch', { ...this.current, errors: [...this.current.errors] });
    };
    if (now || Date.now() - this.lastEmit >= EMIT_EVERY_MS) {
      if (this.pendingEmit) clearTimeout(this.pendingEmit);
      send();
    } else if (!this.pendingEmit) {
      this.pendingEmit = setTimeout(send, EMIT_EVERY_MS - (Date.now() - this.lastEmit));
    }
  }

  cancel(): BatchState {
    this.controller?.abort(new Error('cancelled'));
    return { ...this.current };
  }

  state(): BatchState {
    return { ...this.current, errors: [...this.current.errors] };
  }

  async close(): Promise<void> {
    this.controller?.abort(new Error('closing'));
    await this.running?.catch(() => undefined);
    if (this.pendingEmit) clearTimeout(this.pendingEmit);
  }
}

const count = (n: number) => n.toLocaleString('en-US');

/** The counts that are true after a stop: "1,344 of 2,000 signed, resumable" (unchanged and failed files said apart). */
export function stoppedMessage(s: NonNullable<BatchState['summary']>, resumable: boolean): string {
  const signed = s.alreadyDone + s.signed;
  const parts = [s.total === undefined ? `${count(signed)} signed (the total was not counted yet)` : `${count(signed)} of ${count(s.total)} signed`];
  if (s.kept) parts.push(`${count(s.kept)} unchanged`);
  if (s.failed) parts.push(`${count(s.failed)} failed`);
  parts.push(resumable ? 'resumable' : 'not resumable (no journal left)');
  return parts.join(', ');
}

/** The options a job runs with, in the CLI's words (shown beside the progress, so a resume can be checked). */
function cliOptions(r: RequestOf<'batchStart'>): string[] {
  return [
    ...(r.include ?? []).map((g) => `--include ${g}`),
    ...(r.exclude ?? []).map((g) => `--exclude ${g}`),
    ...(r.encryptWith ? [`--encrypt-with ${r.encryptWith}`] : []),
    ...(r.trust ?? []).map((t) => `--trust ${t}`),
    ...(r.incremental ? ['--incremental'] : []),
    ...(r.resume ? ['--resume'] : []),
  ];
}
