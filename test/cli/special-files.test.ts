import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliProcess, type CliResult } from '../helpers/run-cli';
import { CLI_BIN, REPO_ROOT, vector } from '../helpers/paths';
import { makeCert } from '../helpers/pki';
import { GuiService } from '../../src/gui/service';
import { OpenctlError } from '../../src/util/errors';
import { MAX_INPUT_BYTES } from '../../src/util/read-input';
import { readPinSource } from '../../src/pkcs11/pin';

/** Exit 2, one line naming the path and saying what it is, no stack trace. */
function assertRefused(r: CliResult, file: string, what: RegExp): void {
  assert.equal(r.code, 2, `expected exit 2, got ${r.code}: ${r.stderr}${r.stdout}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.ok(lines[0].startsWith('openctl: '), lines[0]);
  assert.ok(lines[0].includes(file), `names ${file}: ${lines[0]}`);
  assert.match(lines[0], what);
}

describe('special files as inputs: FIFOs, devices and sockets are refused at once (exit 2), reads are capped', function () {
  this.timeout(120_000);
  let dir: string;
  let fifo: string;
  let socketPath: string;
  let socketServer: net.Server;
  let signer: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-special-'));
    fifo = path.join(dir, 'input.fifo');
    execFileSync('mkfifo', [fifo]);
    socketPath = path.join(dir, 'input.sock');
    socketServer = net.createServer((c) => c.end());
    await new Promise<void>((resolve) => socketServer.listen(socketPath, resolve));
    signer = (await (await makeCert({ cn: 'special-files-tftp' })).write(dir, 'signer')).signer;
  });
  after(() => {
    socketServer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // Every command that reads a file, with the file in each position it can take. Before the fix a FIFO made
  // each of these hang in open(2) (runCliProcess kills it after 10 s and the test fails).
  const commands: Array<{ name: string; args: (input: string) => string[] }> = [
    { name: 'show', args: (f) => ['show', f] },
    { name: 'verify', args: (f) => ['verify', f] },
    { name: 'verify --cert', args: (f) => ['verify', vector('configs/Ringlist.xml.sgn'), '--cert', f] },
    { name: 'certhash', args: (f) => ['certhash', f] },
    { name: 'diff', args: (f) => ['diff', vector('CTLFile-sha1.tlv'), f] },
    { name: 'preflight --deploy', args: (f) => ['preflight', '--deploy', f] },
    { name: 'sign FILE', args: (f) => ['sign', f, '--signer', signer, '--out-dir', dir] },
    { name: 'sign --signer', args: (f) => ['sign', vector('configs/Ringlist.xml.sgn'), '--signer', f, '--out-dir', dir] },
    { name: 'ctl build --cluster', args: (f) => ['ctl', 'build', '--cluster', f, '--signer', signer, '--out', path.join(dir, 'CTLFile.tlv')] },
  ];

  for (const { name, args } of commands) {
    it(`${name}: a FIFO, /dev/zero and a socket each give exit 2 and one line, at once`, async () => {
      for (const [input, what] of [
        [fifo, /named pipe \(FIFO\), not a regular file/],
        ['/dev/zero', /device, not a regular file/],
        [socketPath, /socket, not a regular file/],
      ] as const) {
        const started = Date.now();
        const r = await runCliProcess(args(input), { timeoutMs: 10_000 });
        assertRefused(r, input, what);
        assert.ok(Date.now() - started < 8000, `${name} ${input}: took ${Date.now() - started} ms`);
      }
    });
  }

  it('a PIN file (pin-source) that is a FIFO or a device is refused at once, exit 2', () => {
    for (const input of [fifo, '/dev/zero']) {
      assert.throws(
        () => readPinSource(`file:${input}`),
        (err: unknown) => err instanceof OpenctlError && err.exitCode === 2 && err.message.startsWith(`${input}: cannot read the PIN file: is a `),
      );
    }
  });

  it('a file over the documented limit is refused before it is read (a sparse file: no memory spent)', async () => {
    const big = path.join(dir, 'huge.tlv');
    const handle = fs.openSync(big, 'w');
    fs.ftruncateSync(handle, MAX_INPUT_BYTES + 1);
    fs.closeSync(handle);
    const r = await runCliProcess(['show', big], { timeoutMs: 10_000 });
    assertRefused(r, big, new RegExp(`${MAX_INPUT_BYTES + 1} bytes is larger than the ${MAX_INPUT_BYTES}-byte limit`));
  });

  it('the smaller caps hold too: text inputs (signer, cluster file) 4 MiB, PIN files 4 KiB, GUI files 32 MiB', async () => {
    const sparse = (name: string, size: number) => {
      const file = path.join(dir, name);
      const handle = fs.openSync(file, 'w');
      fs.ftruncateSync(handle, size);
      fs.closeSync(handle);
      return file;
    };
    const text = 4 * 1024 * 1024;
    const signer = sparse('huge-signer.pem', text + 1);
    const config = path.join(dir, 'cap.cnf.xml');
    fs.writeFileSync(config, '<device/>\n');
    const sign = await runCliProcess(['sign', config, '--signer', signer, '--out-dir', dir, '--force'], { timeoutMs: 10_000 });
    assertRefused(sign, signer, new RegExp(`${text + 1} bytes is larger than the ${text}-byte limit`));
    const cluster = sparse('huge-cluster.json', text + 1);
    const build = await runCliProcess(['ctl', 'build', '--cluster', cluster, '--signer', vector('certs/sast-a.pem'), '--out', path.join(dir, 'c.tlv')], { timeoutMs: 10_000 });
    assertRefused(build, cluster, new RegExp(`${text + 1} bytes is larger than the ${text}-byte limit`));
    // Just under the cap is read (and then judged on its content: not a cluster file).
    const under = sparse('under-cluster.json', text);
    const read = await runCliProcess(['ctl', 'build', '--cluster', under, '--signer', vector('certs/sast-a.pem'), '--out', path.join(dir, 'c.tlv')], { timeoutMs: 10_000 });
    assert.doesNotMatch(read.stderr, /byte limit/, read.stderr);
    const pin = path.join(dir, 'long.pin');
    fs.writeFileSync(pin, '1'.repeat(4097));
    assert.throws(() => readPinSource(`file:${pin}`), (err: unknown) => err instanceof OpenctlError && /4097 bytes is larger than the 4096-byte limit/.test(err.message) && err.message.startsWith(pin));
    fs.writeFileSync(pin, '1234\n');
    assert.equal(readPinSource(`file:${pin}`), '1234');
    const gui = sparse('huge-gui.tlv', 32 * 1024 * 1024 + 1);
    const service = new GuiService({ mode: 'web', version: 'test', dataDir: dir, env: { OPENCTL_PKCS11_MODULE: path.join(dir, 'none.so') } });
    try {
      await assert.rejects(service.inspect({ file: { path: gui } }), (err: unknown) => err instanceof OpenctlError && err.exitCode === 2 && /larger than the 33554432-byte limit/.test(err.message));
    } finally {
      await service.close();
    }
  });

  it('the GUI reads paths through the same check: a FIFO or a device is refused with code 2', async () => {
    const service = new GuiService({ mode: 'web', version: 'test', dataDir: dir, env: { OPENCTL_PKCS11_MODULE: path.join(dir, 'none.so') } });
    try {
      for (const input of [fifo, '/dev/zero', socketPath]) {
        await assert.rejects(
          Promise.race([
            service.inspect({ file: { path: input } }),
            new Promise((_, reject) => setTimeout(() => reject(new Error(`inspect ${input} hung`)), 5000)),
          ]),
          (err: unknown) => err instanceof OpenctlError && err.exitCode === 2 && err.message.startsWith(`${input}: cannot read: is a `),
        );
      }
    } finally {
      await service.close();
    }
  });

  it('SIGTERM ends a command waiting on a peer that never answers, with exit 130, within a second or two', async () => {
    // A TCP server that accepts and never answers: `diff` waits on it (its own timeout is 10 minutes here).
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const child = spawn(process.execPath, [CLI_BIN, 'diff', vector('CTLFile-sha1.tlv'), `http://127.0.0.1:${port}/CTLFile.tlv`, '--timeout', '600000'], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const sent = Date.now();
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(null);
        }, 8000);
        child.on('close', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      assert.equal(code, 130, `exit ${code} after SIGTERM: ${stderr}`);
      assert.ok(Date.now() - sent < 6000, `ended ${Date.now() - sent} ms after SIGTERM`);
    } finally {
      silent.close();
    }
  });
});
