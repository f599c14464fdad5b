import type { PinPrompter } from '../pkcs11/pin';
import { InterruptedError, OpenctlError } from '../util/errors';
import type { CliIO } from './io';
import { log } from './io';
import { safeLines } from '../util/safe-text';

type RawCapable = CliIO['stdin'] & { setRawMode?: (mode: boolean) => unknown };

/** A person can answer: both the input and the prompt's output are terminals. */
export function isInteractive(io: CliIO): boolean {
  return Boolean(io.stdin.isTTY && io.stderr.isTTY);
}

/**
 * Read one line from the terminal. With `secret`, the terminal is put in raw mode so nothing is echoed
 * (no stars either: their count would tell the PIN's length); Ctrl-C stops with exit 130.
 */
export function readLine(io: CliIO, question: string, options: { secret?: boolean; signal?: AbortSignal } = {}): Promise<string> {
  const stdin = io.stdin as RawCapable;
  const raw = Boolean(options.secret && stdin.isTTY && typeof stdin.setRawMode === 'function');
  // Echo goes off before the question shows, so that even a PIN typed ahead is never displayed.
  const rawOn = raw && !options.signal?.aborted;
  if (rawOn) stdin.setRawMode!(true);
  io.stderr.write(safeLines(question));
  return new Promise<string>((resolve, reject) => {
    let text = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      options.signal?.removeEventListener('abort', onAbort);
      if (rawOn) stdin.setRawMode!(false);
      stdin.pause();
      if (raw || error) io.stderr.write('\n');
      if (error) reject(error);
      else resolve(text);
    };
    const onAbort = () => finish(new InterruptedError());
    const onEnd = () => finish(text.length > 0 ? undefined : new OpenctlError('no answer: the input ended'));
    const onData = (chunk: Buffer | string) => {
      const s = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      for (let i = 0; i < s.length; i += 1) {
        const ch = s[i];
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new InterruptedError());
        if (ch === '\u0004') return text.length === 0 ? finish(new OpenctlError('no answer: the input ended')) : finish();
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else if (ch === '\u0015') text = '';
        else if (ch === '\u001b') {
          // Skip an escape sequence (arrow keys and the like): CSI ... final byte.
          if (s[i + 1] === '[') {
            i += 2;
            while (i < s.length && !/[@-~]/.test(s[i])) i += 1;
          }
        } else if (ch >= ' ') text += ch;
      }
    };
    if (options.signal?.aborted) return finish(new InterruptedError());
    options.signal?.addEventListener('abort', onAbort, { once: true });
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
  });
}

export function promptSecret(io: CliIO, question: string, signal?: AbortSignal): Promise<string> {
  return readLine(io, question, { secret: true, signal });
}

/** Yes only on an explicit `y` or `yes`. */
export async function confirm(io: CliIO, question: string, signal?: AbortSignal): Promise<boolean> {
  const answer = await readLine(io, question, { signal });
  return /^\s*y(es)?\s*$/i.test(answer);
}

/** The terminal's side of PIN entry, PIN-pad notices and "insert eToken-B". */
export function cliPrompter(io: CliIO, signal?: AbortSignal): PinPrompter {
  return {
    askPin: (question) => promptSecret(io, question, signal),
    confirm: (question) => confirm(io, question, signal),
    notice: (message) => log(io, `openctl: ${message}`),
  };
}
