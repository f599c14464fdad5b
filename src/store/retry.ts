import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Busy or locked stores are retried, never a crash: another process holds the SQLite write lock, PostgreSQL
 * reports a serialization failure or a deadlock, a pooled connection was just reset. The back-off doubles from
 * 5 ms up to 200 ms with jitter, for at most `budgetMs` in all; then the last error goes to the caller.
 */
export interface RetryPolicy {
  budgetMs: number;
  isTransient(err: unknown): boolean;
}

export async function withRetry<T>(policy: RetryPolicy, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + policy.budgetMs;
  let delay = 5;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!policy.isTransient(err) || Date.now() + delay > deadline) throw err;
      await sleep(delay / 2 + Math.random() * delay);
      delay = Math.min(delay * 2, 200);
    }
  }
}

/** A tiny FIFO lock: one holder at a time, in arrival order. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
