import type { Command } from 'commander';
import type { CliIO } from './io';
import type { ExitCode } from '../util/errors';

/** Handed to every command module; a command's action resolves to its exit code. */
export interface CliContext {
  io: CliIO;
  /** Set by the action; read by runCli once parsing and the action are done. */
  setExitCode(code: ExitCode | number): void;
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly and exit 130. */
  signal: AbortSignal;
  /** For servers (`tvs serve`, `capf serve`): SIGINT/SIGTERM is their normal end, so their exit code stands (not 130). */
  stopsOnSignal(): void;
}

export type RegisterCommand = (program: Command, ctx: CliContext) => void;
