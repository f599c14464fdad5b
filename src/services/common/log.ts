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

/**
 * Lines are gathered for the rest of the current event-loop turn and written together: under load, one write
 * (often a synchronous one: stderr to a file) per turn instead of one per request. Whole lines only, in order.
 */
export function jsonLogger(stream: Writable, base: Record<string, unknown> = {}): JsonLogger {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    // A log that cannot keep up (a blocked pipe) must not grow memory without end: drop, do not queue forever.
    if (stream.writableLength > 8 << 20) return;
    stream.write(text);
  };
  return {
    log(event, fields = {}) {
      pending.push(`${JSON.stringify({ time: new Date().toISOString(), ...base, event, ...fields })}\n`);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

/** A logger that keeps nothing (benchmarks of the protocol alone). */
export const silentLogger: JsonLogger = { log: () => undefined, flush: () => undefined };
