import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { CliIO } from '../../src/cli/io';
import { openSigner } from '../../src/cli/signer-spec';
import { loadedModules } from '../../src/pkcs11/registry';
import { TokenWatcher, type TokenEvent } from '../../src/pkcs11/watch';
import { ExitCode, TokenError } from '../../src/util/errors';
import { REPO_ROOT } from '../helpers/paths';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';

const run = promisify(execFile);

/**
 * Plug a token in: made complete in another folder by another process, then moved into the fixture's token
 * folder in one rename, so that no watcher can see it half made.
 */
async function plugIn(hsm: SoftHsmFixture, label: string): Promise<void> {
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-plug-'));
  try {
    const script = `require(${JSON.stringify(path.join(REPO_ROOT, 'dist/src/pkcs11/provision.js'))})
      .provisionTokens({ dir: ${JSON.stringify(elsewhere)}, tokens: [{ label: ${JSON.stringify(label)}, keyBits: 1024 }], pin: ${JSON.stringify(hsm.pin)}, soPin: ${JSON.stringify(hsm.soPin)} })
      .catch((e) => { console.error(e); process.exit(1); });`;
    await run(process.execPath, ['-e', script], { env: hsm.env() });
    for (const token of fs.readdirSync(path.join(elsewhere, 'tokens'))) {
      fs.renameSync(path.join(elsewhere, 'tokens', token), path.join(hsm.dir, 'tokens', token));
    }
  } finally {
    fs.rmSync(elsewhere, { recursive: true, force: true });
  }
}

function nextEvent(watcher: TokenWatcher, match: (e: TokenEvent) => boolean): Promise<TokenEvent> {
  return new Promise((resolve, reject) => {
    watcher.on('token', (e) => {
      if (match(e)) resolve(e);
    });
    watcher.on('stopped', (reason) => reject(new Error(reason)));
  });
}

describe('pkcs11 token watch and the one-reader flow (SoftHSM)', function () {
  this.timeout(60_000);
  let hsm: SoftHsmFixture;

  beforeEach(async () => {
    hsm = await createSoftHsm({ tokens: [{ label: 'eToken-A', keyBits: 1024 }] });
    hsm.activate();
  });
  afterEach(() => hsm.cleanup());

  it('reports a token created while watching, without loading the module in this process', async () => {
    const watcher = await TokenWatcher.start({ modules: [hsm.modulePath], env: hsm.env() });
    try {
      assert.deepEqual(watcher.initial.map((s) => s.token?.label), ['eToken-A']);
      const inserted = nextEvent(watcher, (e) => e.type === 'inserted');
      await plugIn(hsm, 'eToken-B');
      const event = await inserted;
      assert.equal(event.token.label, 'eToken-B');
      assert.equal(event.module, hsm.modulePath);
      assert.ok(event.token.serial.length > 0);
      assert.deepEqual(loadedModules(), [], 'the watch runs in a child process');
    } finally {
      watcher.close();
    }
  });

  it('reports a module that cannot be loaded, and keeps watching the others', async () => {
    const watcher = await TokenWatcher.start({ modules: ['/nonexistent/libnothing.so', hsm.modulePath], env: hsm.env() });
    try {
      const failure = await new Promise<[string, string]>((resolve) => watcher.on('module-error', (m, e) => resolve([m, e])));
      assert.equal(failure[0], '/nonexistent/libnothing.so');
      assert.match(failure[1], /PKCS#11 module not found/);
      assert.deepEqual(watcher.initial.map((s) => s.token?.label), ['eToken-A']);
    } finally {
      watcher.close();
    }
  });

  function ttyIO(env: NodeJS.ProcessEnv): { io: CliIO; stderr: () => string } {
    const stderr = new PassThrough();
    const chunks: Buffer[] = [];
    stderr.on('data', (c: Buffer) => chunks.push(c));
    const io: CliIO = { stdout: new PassThrough(), stderr, stdin: Readable.from([]), env, cwd: hsm.dir };
    return { io, stderr: () => Buffer.concat(chunks).toString('utf8') };
  }

  it('asks to insert a missing token and goes on when it arrives', async () => {
    const { io, stderr } = ttyIO({ OPENCTL_PIN: hsm.pin });
    const opening = openSigner('pkcs11:token=eToken-B', { io, interactive: true, modules: [hsm.modulePath] });
    // Plug it in once openctl has asked for it.
    for (let i = 0; i < 200 && !stderr().includes('insert eToken-B'); i += 1) await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr(), /^openctl: insert eToken-B \(waiting for it; Ctrl-C to stop\)$/m);
    await plugIn(hsm, 'eToken-B');
    const signer = await opening;
    try {
      assert.equal(signer.keyBits, 1024);
      assert.match(signer.description, /^pkcs11:token=eToken-B;/);
    } finally {
      await signer.close?.();
    }
  });

  it('fails at once with --no-wait or without a terminal, exit 3', async () => {
    const { io } = ttyIO({ OPENCTL_PIN: hsm.pin });
    for (const options of [{ interactive: true, noWait: true }, { interactive: false }]) {
      await assert.rejects(
        openSigner('pkcs11:token=eToken-B', { io, modules: [hsm.modulePath], ...options }),
        (err: unknown) => err instanceof TokenError && err.exitCode === ExitCode.Token && /no token matching pkcs11:token=eToken-B \(present: eToken-A\)/.test(err.message),
      );
    }
  });

  it('stops waiting on Ctrl-C with exit 130', async () => {
    const { io, stderr } = ttyIO({ OPENCTL_PIN: hsm.pin });
    const controller = new AbortController();
    const opening = openSigner('pkcs11:token=eToken-Z', { io, interactive: true, modules: [hsm.modulePath], signal: controller.signal });
    for (let i = 0; i < 200 && !stderr().includes('insert eToken-Z'); i += 1) await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await assert.rejects(opening, (err: unknown) => err instanceof Error && (err as TokenError).exitCode === ExitCode.Interrupted);
    assert.deepEqual(loadedModules(), []);
  });
});
