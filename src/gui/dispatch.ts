/**
 * The one server-side entry of every transport (Electron IPC, HTTP): look the method up in the contract, validate
 * the request with its schema, call the service, and wrap the answer in an Envelope. Errors become one line for a
 * person; a bug keeps its message but never sends a stack trace to the renderer.
 */
import { isMethodName, methods, type Envelope, type GuiApi, type MethodName } from './contract';
import { ValidationError } from './schema';
import { ExitCode, OpenctlError } from '../util/errors';

export const EXIT_INTERNAL = 70;

export async function dispatch(service: GuiApi, name: string, request: unknown): Promise<Envelope<unknown>> {
  if (!isMethodName(name)) return { ok: false, error: { message: `unknown method "${name}"`, code: ExitCode.BadInput } };
  let parsed: unknown;
  try {
    parsed = methods[name].request.parse(request ?? {}, '');
  } catch (err) {
    return { ok: false, error: { message: describe(err), code: ExitCode.BadInput } };
  }
  try {
    const handler = service[name] as (req: unknown) => Promise<unknown>;
    const value = await handler.call(service, parsed);
    return { ok: true, value };
  } catch (err) {
    return { ok: false, error: { message: describe(err), code: codeOf(err) } };
  }
}

function describe(err: unknown): string {
  if (err instanceof ValidationError) return `invalid request: ${err.message}`;
  if (err instanceof OpenctlError) return err.message;
  const message = err instanceof Error ? err.message : String(err);
  return `internal error: ${message.split('\n')[0]}`;
}

function codeOf(err: unknown): number {
  if (err instanceof ValidationError) return ExitCode.BadInput;
  if (err instanceof OpenctlError) return err.exitCode;
  return EXIT_INTERNAL;
}

export type { MethodName };
