import type { Writable } from 'node:stream';

/**
 * One JSON object per line (stderr by default): easy for journald, jq and log shippers. Every line has `time`
 * (ISO 8601) and `event`; the rest is the event's own fields. Values are data, never formatted text, so a
 * hostile certificate subject or device name cannot forge a line (JSON escapes control characters).
 */
export interface JsonLogger {
  log(event: string, fields?: Record<string, unknown>): void;
  /** Write what is buffered now (before exit). */
  flush(): void;
}

/** How long lines may wait to be written together, and how much may wait. */
const FLUSH_MS = 50;
const FLUSH_BYTES = 64 * 1024;

/**
 * Lines are gathered for up to 50 ms (or 64 KiB) and written together: stderr to a file is a synchronous write,
 * and under load one system call per 50 ms costs less than one per request. Whole lines only, in order; `flush()`
 * writes what waits (the server calls it when it stops).
 */
export function jsonLogger(stream: Writable, base: Record<string, unknown> = {}): JsonLogger {
  let pending: string[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    bytes = 0;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    // A log that cannot keep up (a blocked pipe) must not grow memory without end: drop, do not queue forever.
    if (stream.writableLength > 8 << 20) return;
    stream.write(text);
  };
  return {
    log(event, fields = {}) {
      const line = `${JSON.stringify({ time: new Date().toISOString(), ...base, event, ...fields })}\n`;
      pending.push(line);
      bytes += line.length;
      if (bytes >= FLUSH_BYTES) flush();
      else if (!timer) {
        timer = setTimeout(flush, FLUSH_MS);
        timer.unref(); // never what keeps a process alive; the server flushes when it stops
      }
    },
    flush,
  };
}

/** A logger that keeps nothing (benchmarks of the protocol alone). */
export const silentLogger: JsonLogger = { log: () => undefined, flush: () => undefined };
