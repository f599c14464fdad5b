import { PassThrough, Readable } from 'node:stream';
import { spawn, type ChildProcess } from 'node:child_process';
import { runCli } from '../../src/cli/main';
import type { CliIO } from '../../src/cli/io';
import { CLI_BIN, REPO_ROOT } from '../helpers/paths';

export interface Serving {
  port: number;
  /** Lines printed on stdout (listening on..., metrics on...). */
  stdout: string[];
  /** JSON log lines so far. */
  log(): Array<Record<string, unknown>>;
  /** SIGTERM (or abort, in process); resolves to the exit code. */
  stop(): Promise<number>;
}

/** `openctl tvs serve ARGS --listen 127.0.0.1:0` in this process, as the CLI runs it; stop = the signal's abort. */
export async function serveInProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Serving> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  let err = '';
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const io: CliIO = { stdout, stderr, stdin: Readable.from([]), env: { ...process.env, ...env }, cwd: process.cwd() };
  const controller = new AbortController();
  const done = runCli(['tvs', 'serve', '--listen', '127.0.0.1:0', ...args], io, controller.signal);
  const listening = new Promise<number>((resolve, reject) => {
    let buffer = '';
    stdout.on('data', (c: Buffer) => {
      buffer += c.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const l of lines) {
        out.push(l);
        const m = /^listening on 127\.0\.0\.1:(\d+)$/.exec(l);
        if (m) resolve(Number(m[1]));
      }
    });
    done.then((code) => reject(new Error(`tvs serve ended with ${code} before listening: ${err}`)));
  });
  const port = await listening;
  return {
    port,
    stdout: out,
    log: () => err.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
    stop: async () => {
      controller.abort(new Error('SIGTERM'));
      return done;
    },
  };
}

/** The same as a real process (for signals and exit codes). */
export async function serveProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Serving & { child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI_BIN, 'tvs', 'serve', '--listen', '127.0.0.1:0', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (c: Buffer) => {
      buffer += c.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const l of lines) {
        out.push(l);
        const m = /^listening on 127\.0\.0\.1:(\d+)$/.exec(l);
        if (m) resolve(Number(m[1]));
      }
    });
    exited.then((code) => reject(new Error(`tvs serve exited ${code} before listening: ${err}`)));
  });
  return {
    child,
    exited,
    port,
    stdout: out,
    log: () => err.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
    stop: async () => {
      child.kill('SIGTERM');
      return (await exited) ?? -1;
    },
  };
}
