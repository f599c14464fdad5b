import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliCaptured } from '../helpers/run-cli';
import { vector } from '../helpers/paths';
import { safeLines, safeText, MAX_VALUE_CHARS } from '../../src/util/safe-text';

const ESC = '\u001b';
const FORGED = 'The CTL file was verified successfully.';

/**
 * The CTL vector with record 2's subject name rewritten in place (same length, so the framing holds and the
 * file parses; the signature no longer verifies): a newline, a forged verdict line, then ESC[8m (conceal) to
 * hide the real verdict on a terminal.
 */
function tamperedCtl(): Buffer {
  const bytes = Buffer.from(fs.readFileSync(vector('CTLFile-sha1.tlv')));
  const original = Buffer.from('CN=SAST-eToken-B,O=Example Voice,OU=UC Security,L=Wellington,C=NZ', 'latin1');
  const at = bytes.indexOf(original);
  assert.ok(at > 0);
  const payload = `CN=B\n\n${FORGED}\n${ESC}[8m${ESC}]0;owned${'\u0007'}\u202e`;
  const replacement = Buffer.alloc(original.length, 0x20);
  Buffer.from(payload, 'utf8').copy(replacement);
  replacement.copy(bytes, at);
  return bytes;
}

function assertNoControls(text: string, what: string): void {
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/, `${what} holds a control character`);
}

describe('untrusted text never drives the terminal (names, filenames, server messages)', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-untrusted-'));
    file = path.join(dir, 'CTLFile.tlv');
    fs.writeFileSync(file, tamperedCtl());
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('show of a tampered CTL whose CN holds "\\n" and ESC[8m prints no forged verdict line and no escape sequence', async () => {
    const r = await runCliCaptured(['show', file]);
    assert.equal(r.code, 0, r.stderr);
    assertNoControls(r.stdout, 'show output');
    const lines = r.stdout.trimEnd().split('\n');
    assert.ok(!lines.includes(FORGED), 'no line of its own says "verified successfully"');
    assert.match(lines[lines.length - 1], /^The CTL file signature is INVALID/, 'the real verdict is the last line');
    // The name is still shown, escaped on its line: an admin sees what the file holds.
    assert.ok(lines.some((l) => l.includes('SUBJECTNAME') && l.includes('CN=B\\u000a\\u000aThe CTL file was verified successfully.\\u000a\\u001b[8m')), r.stdout);
  });

  it('verify, diff and preflight print the same name escaped', async () => {
    for (const args of [['verify', file], ['diff', vector('CTLFile-sha1.tlv'), file], ['preflight', '--phone-has', vector('CTLFile-sha1.tlv'), '--deploy', file]]) {
      const r = await runCliCaptured(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assertNoControls(r.stdout + r.stderr, args[0]);
      assert.ok(!r.stdout.split('\n').includes(FORGED), args[0]);
    }
  });

  it('a TFTP server error message with control characters reaches the terminal escaped and capped', async () => {
    const server = dgram.createSocket('udp4');
    const message = `nope\n${FORGED}${ESC}[2J${'x'.repeat(5000)}`;
    server.on('message', (_msg, rinfo) => {
      // ERROR (opcode 5), code 2 (access violation), the message, NUL.
      const packet = Buffer.concat([Buffer.from([0, 5, 0, 2]), Buffer.from(message, 'utf8'), Buffer.from([0])]);
      server.send(packet, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    const port = server.address().port;
    try {
      const r = await runCliCaptured(['fetch', '127.0.0.1', '--port', String(port), '--via', 'tftp', '--out', path.join(dir, 'fetched'), '--timeout', '500']);
      assert.equal(r.code, 1, r.stderr + r.stdout);
      const all = r.stdout + r.stderr;
      assertNoControls(all, 'fetch output');
      assert.ok(!all.split('\n').includes(FORGED));
      assert.match(all, /nope\\u000aThe CTL file/);
      assert.ok(all.length < 4000, `capped: ${all.length} characters`);
    } finally {
      server.close();
    }
  });

  it('safeText escapes every control and format character and caps the length; safeLines keeps the layout', () => {
    assert.equal(safeText(`a\nb${ESC}[0m\u0085\u202e`), 'a\\u000ab\\u001b[0m\\u0085\\u202e');
    assert.equal(safeText('x'.repeat(MAX_VALUE_CHARS + 3)), `${'x'.repeat(MAX_VALUE_CHARS)}…(3 more characters)`);
    assert.equal(safeLines(`one\n\ttwo\r${ESC}[K`), 'one\n\ttwo\\u000d\\u001b[K');
    // Escaped the JSON way: a JSON line printed through out() stays JSON, with the same value.
    const json = JSON.stringify({ name: `a\u007f\u0085\u202eb` });
    assert.deepEqual(JSON.parse(safeLines(json)), { name: `a\u007f\u0085\u202eb` });
  });
});
