import type { Readable, Writable } from 'node:stream';
import { safeLines } from '../util/safe-text';

/** Everything a command touches of its process, so that tests can run the CLI in-process. */
export interface CliIO {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

/**
 * Results go to stdout; logs and progress to stderr. Both print through `safeLines`: lines often carry names
 * and messages from files or servers, and no byte of those may reach the terminal as a control sequence.
 */
export function out(io: CliIO, line: string): void {
  const safe = safeLines(line);
  io.stdout.write(safe.endsWith('\n') ? safe : `${safe}\n`);
}

export function log(io: CliIO, line: string): void {
  const safe = safeLines(line);
  io.stderr.write(safe.endsWith('\n') ? safe : `${safe}\n`);
}

export function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
