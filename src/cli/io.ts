import type { Readable, Writable } from 'node:stream';

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

/** Results go to stdout; logs and progress to stderr. */
export function out(io: CliIO, line: string): void {
  io.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
}

export function log(io: CliIO, line: string): void {
  io.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
}

export function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
