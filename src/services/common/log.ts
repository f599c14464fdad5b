import type { Writable } from 'node:stream';

/**
 * One JSON object per line (stderr by default): easy for journald, jq and log shippers. Every line has `time`
 * (ISO 8601) and `event`; the rest is the event's own fields. Values are data, never formatted text, so a
 * hostile certificate subject or device name cannot forge a line (JSON escapes control characters).
 */
export interface JsonLogger {
  log(event: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(stream: Writable, base: Record<string, unknown> = {}): JsonLogger {
  return {
    log(event, fields = {}) {
      const line = JSON.stringify({ time: new Date().toISOString(), ...base, event, ...fields });
      // A log that cannot keep up (a blocked pipe) must not grow memory without end: drop, do not queue forever.
      if (stream.writableLength > 8 << 20) return;
      stream.write(`${line}\n`);
    },
  };
}

/** A logger that keeps nothing (benchmarks of the protocol alone). */
export const silentLogger: JsonLogger = { log: () => undefined };
