import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import type { CliIO } from '../../src/cli/io';
import { cliPrompter, confirm, isInteractive, promptSecret, readLine } from '../../src/cli/prompt';
import { ExitCode, OpenctlError } from '../../src/util/errors';

/** Prompts read a plain stream the same way as a terminal, minus raw mode (tested on a real pty elsewhere). */
function streams(): { io: CliIO; input: PassThrough; said: () => string } {
  const input = new PassThrough();
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return { io: { stdout: new PassThrough(), stderr, stdin: input, env: {}, cwd: '/' }, input, said: () => text };
}

describe('terminal prompts', () => {
  it('reads a line, with backspace, Ctrl-U and arrow keys handled', async () => {
    const { io, input, said } = streams();
    const answer = readLine(io, 'PIN: ', { secret: true });
    input.write('12x\u007f3');
    input.write('\u001b[D\u0015ab');
    input.write('cd\rignored');
    assert.equal(await answer, 'abcd');
    assert.equal(said(), 'PIN: ');
  });

  it('stops on Ctrl-C with exit 130, and on a closed input with a clear error', async () => {
    const a = streams();
    const pin = promptSecret(a.io, 'PIN: ');
    a.input.write('12\u0003');
    await assert.rejects(pin, (e: unknown) => e instanceof OpenctlError && e.exitCode === ExitCode.Interrupted);
    const b = streams();
    const line = readLine(b.io, 'PIN: ');
    b.input.end();
    await assert.rejects(line, /the input ended/);
    const c = streams();
    const controller = new AbortController();
    const aborted = readLine(c.io, 'PIN: ', { signal: controller.signal });
    controller.abort();
    await assert.rejects(aborted, (e: unknown) => (e as OpenctlError).exitCode === ExitCode.Interrupted);
  });

  it('confirms only on an explicit yes', async () => {
    for (const [typed, expected] of [['y\n', true], ['YES\n', true], [' yes \n', true], ['\n', false], ['n\n', false], ['yep\n', false]] as const) {
      const { io, input } = streams();
      const answer = confirm(io, 'Continue? [y/N] ');
      input.write(typed);
      assert.equal(await answer, expected, JSON.stringify(typed));
    }
  });

  it('is interactive only when both stdin and stderr are terminals', () => {
    const { io } = streams();
    assert.equal(isInteractive(io), false);
    assert.equal(isInteractive({ ...io, stdin: Object.assign(new PassThrough(), { isTTY: true }), stderr: Object.assign(new PassThrough(), { isTTY: true }) }), true);
    assert.equal(isInteractive({ ...io, stdin: Object.assign(new PassThrough(), { isTTY: true }) }), false);
  });

  it('tells the person things on stderr, prefixed like every openctl line', () => {
    const { io, said } = streams();
    cliPrompter(io).notice("token eToken-A: enter the PIN on the reader's PIN pad");
    assert.equal(said(), "openctl: token eToken-A: enter the PIN on the reader's PIN pad\n");
  });
});
