import type { BatchEvents } from './events';

/**
 * Turns the batch's counters into `progress` events a few times a second: files per second over the last
 * seconds (not since the start, so that a resume or a slow start does not skew it) and the ETA once the
 * counting walk has given the total.
 */
export class ProgressMeter {
  private readonly started = Date.now();
  private readonly samples: Array<[number, number]> = [];
  private total: number | undefined;
  private committedFiles = 0;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly events: BatchEvents,
    private readonly counts: { signed: number; kept: number; failed: number },
    private readonly alreadyDone: number,
    intervalMs = 250,
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  /** The counting walk's total; dropped once the batch ended (a count can finish after it). */
  setTotal(total: number): void {
    if (this.stopped) return;
    this.total = total;
    this.events.emit('total', total);
  }

  committed(files: number): number {
    this.committedFiles += files;
    return this.committedFiles;
  }

  private done(): number {
    return this.alreadyDone + this.counts.signed + this.counts.kept + this.counts.failed;
  }

  tick(): void {
    const now = Date.now();
    const done = this.done();
    this.samples.push([now, done]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 5000) this.samples.shift();
    const [t0, d0] = this.samples[0];
    const filesPerSecond = now > t0 ? ((done - d0) * 1000) / (now - t0) : 0;
    const remaining = this.total === undefined ? undefined : Math.max(0, this.total - done);
    this.events.emit('progress', {
      done,
      ...this.counts,
      total: this.total,
      elapsedMs: now - this.started,
      filesPerSecond,
      etaSeconds: remaining !== undefined && filesPerSecond > 0 ? remaining / filesPerSecond : undefined,
    });
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
