import { Command, CommanderError } from 'commander';
import { CliIO, processIO, log } from './io';
import type { CliContext } from './context';
import { ExitCode, OpenctlError } from '../util/errors';
import { modulesFor } from './commands';
import { MAX_LINE_CHARS, safeText } from '../util/safe-text';
import { redactPinValue } from '../pkcs11/uri';

const VERSION: string = (require('../../../package.json') as { version: string }).version;

/** The exit code for anything that is not an OpenctlError: a bug in openctl. Documented in the README. */
export const EXIT_INTERNAL = 70;

/**
 * Run the CLI in-process and resolve to the exit code. Never throws and never prints a stack trace unless
 * `--debug` is given (or OPENCTL_DEBUG=1): every failure is one line `openctl: ...` on stderr.
 */
export async function runCli(argv: string[], io: CliIO = processIO(), signal?: AbortSignal): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  let stopsOnSignal = false;
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  const ctx: CliContext = {
    io,
    setExitCode: (code) => {
      exitCode = code;
    },
    signal: controller.signal,
    stopsOnSignal: () => {
      stopsOnSignal = true;
    },
  };
  // Interrupted commands end with 130, except servers, for which SIGTERM is the normal way to stop.
  const finish = (code: number) => (controller.signal.aborted && !stopsOnSignal ? ExitCode.Interrupted : code);
  const debug = argv.includes('--debug') || io.env.OPENCTL_DEBUG === '1';

  const program = new Command('openctl')
    .description('Build, inspect, sign and verify Cisco CUCM trust lists (CTL/ITL) and signed phone configs.')
    .version(VERSION, '-V, --version')
    .option('--debug', 'print PKCS#11 call traces and stack traces to stderr (never a PIN)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(s.startsWith('error:') ? `openctl: ${s}` : s),
    })
    .exitOverride();
  for (const module of modulesFor(argv)) module.load()(program, ctx);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return finish(err.exitCode === 0 ? ExitCode.Ok : ExitCode.BadInput);
    }
    if (err instanceof OpenctlError) {
      log(io, `openctl: ${safeText(redactPinValue(err.message), MAX_LINE_CHARS)}`);
      if (debug && err.stack) log(io, err.stack);
      return finish(err.exitCode);
    }
    const message = err instanceof Error ? err.message : String(err);
    log(io, `openctl: internal error: ${safeText(redactPinValue(message), MAX_LINE_CHARS)}${debug ? '' : ' (run with --debug for details)'}`);
    if (debug && err instanceof Error && err.stack) log(io, err.stack);
    return finish(EXIT_INTERNAL);
  }
  return finish(exitCode);
}

/**
 * After Ctrl-C or SIGTERM a command has this long to stop on its own (a batch commits its open group and writes its
 * journal: seconds on a loaded machine); then the process ends anyway, so that a command stuck in file I/O (a dead
 * NFS server) always ends. Outputs are written to a temp file and renamed: ending here leaves nothing half-written,
 * and a batch's journal keeps what was committed. (Node cannot end while a worker thread is inside a native call,
 * such as a PIN-pad C_Login: that one ends when the token returns.)
 */
export const INTERRUPT_GRACE_MS = 15_000;

/** The `bin/openctl.js` entry: wires signals, runs, exits. */
export function runFromProcess(): void {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (name: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts > 1) process.exit(ExitCode.Interrupted); // a second Ctrl-C does not wait
    controller.abort(new Error(name));
    setTimeout(() => {
      process.stderr.write(`openctl: interrupted (${name}); stopped without waiting for the current operation\n`);
      process.exit(ExitCode.Interrupted);
    }, INTERRUPT_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(ExitCode.Ok); // `openctl show X | head` is not an error
  });
  runCli(process.argv.slice(2), processIO(), controller.signal).then(
    (code) => {
      process.exitCode = code; // 130 after a signal, decided by runCli
    },
    () => {
      process.exitCode = EXIT_INTERNAL;
    },
  );
}
