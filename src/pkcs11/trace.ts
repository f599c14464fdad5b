/**
 * The `--debug` PKCS#11 call trace: one line per C_* call with the module, the slot and the return value.
 * Arguments are never traced, so a PIN cannot end up in a log. The sink is process-wide because modules are.
 */
export type TraceSink = (line: string) => void;

const TRACE_KEY = Symbol.for('openctl.pkcs11.trace');
type TraceHolder = { [TRACE_KEY]?: TraceSink };

/** Send the call trace to `sink` (e.g. a line writer on stderr); `undefined` turns it off. */
export function setPkcs11Trace(sink: TraceSink | undefined): void {
  (globalThis as TraceHolder)[TRACE_KEY] = sink;
}

export function pkcs11Trace(): TraceSink | undefined {
  return (globalThis as TraceHolder)[TRACE_KEY];
}

/** `detail` is for public facts only (a mechanism name), never an argument that could hold a secret. */
export function traceCall(module: string, fn: string, slotId: number | undefined, rv: string, ms: number, detail?: string): void {
  const sink = pkcs11Trace();
  if (!sink) return;
  const slot = slotId === undefined ? '' : ` slot=${slotId}`;
  const extra = detail ? ` ${detail}` : '';
  sink(`pkcs11: ${module} ${fn}${slot}${extra} -> ${rv} (${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms)`);
}
