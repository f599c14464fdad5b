import { strict as assert } from 'node:assert';
import { constants, verify, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import type { CliIO } from '../../src/cli/io';
import { openSigner } from '../../src/cli/signer-spec';
import { digest, type HashAlgorithm } from '../../src/crypto/hash';
import { listTokens } from '../../src/pkcs11/list';
import type { PinPrompter } from '../../src/pkcs11/pin';
import { loadedModules } from '../../src/pkcs11/registry';
import { openPkcs11Signer, type Pkcs11Signer } from '../../src/pkcs11/signer';
import { flagWords, type TokenFlags } from '../../src/pkcs11/tokens';
import { setPkcs11Trace } from '../../src/pkcs11/trace';
import { TokenWatcher, type TokenEvent } from '../../src/pkcs11/watch';
import { ExitCode, TokenError } from '../../src/util/errors';
import { CLI_BIN, REPO_ROOT, vector } from '../helpers/paths';
import { runCliProcess } from '../helpers/run-cli';
import { createSoftHsm, SOFTHSM_MODULE, type SoftHsmFixture } from '../helpers/softhsm';
import {
  clearState,
  isolatedModuleCopy,
  pinTriesLeft,
  statePath,
  testp11Available,
  testp11Path,
  writeControl,
  type TestP11Settings,
} from '../helpers/testp11';

const PIN = 'Zq7-pin';

function verifies(signer: Pkcs11Signer, data: Buffer, hash: HashAlgorithm, signature: Uint8Array): boolean {
  const key = new X509Certificate(signer.certificate).publicKey;
  return verify(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
}

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof TokenError, `expected a TokenError, got ${String(err)}`);
    assert.equal(err.exitCode, ExitCode.Token);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'));
    assert.ok(!err.message.includes(PIN));
    return true;
  });
}

/** A front end that records what it was asked, answering as told. */
function prompter(answers: { confirm?: boolean; pin?: string }) {
  const asked: string[] = [];
  const told: string[] = [];
  const p: PinPrompter = {
    askPin: async (q) => {
      asked.push(q);
      if (answers.pin === undefined) throw new Error('no PIN expected');
      return answers.pin;
    },
    confirm: async (q) => {
      asked.push(q);
      if (answers.confirm === undefined) throw new Error('no confirmation expected');
      return answers.confirm;
    },
    notice: (m) => told.push(m),
  };
  return { prompter: p, asked, told };
}

describe('pkcs11 with injected hardware behaviour (testp11 over SoftHSM)', function () {
  this.timeout(60_000);
  let hsm: SoftHsmFixture;
  let control: string;
  let module: string;
  let serialA: string;
  const saved: Record<string, string | undefined> = {};
  const opened: Pkcs11Signer[] = [];
  let trace: string[] = [];

  function setEnv(name: string, value: string): void {
    if (!(name in saved)) saved[name] = process.env[name];
    process.env[name] = value;
  }

  function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return hsm.env({ OPENCTL_TESTP11_TARGET: process.env.OPENCTL_TESTP11_TARGET, OPENCTL_TESTP11_CONTROL: control, ...extra });
  }

  async function open(uri: string, pinEnv: NodeJS.ProcessEnv = { OPENCTL_PIN: PIN }, front?: PinPrompter): Promise<Pkcs11Signer> {
    const signer = await openPkcs11Signer(uri, { modules: [module], env: pinEnv, prompter: front });
    opened.push(signer);
    return signer;
  }

  const control_ = (settings: TestP11Settings) => writeControl(control, settings);
  const logins = () => trace.filter((l) => l.includes('C_Login')).length;

  before(async function () {
    if (!testp11Available()) {
      if (process.env.CI) throw new Error('native-bindings not built: run npm install with a C compiler');
      this.skip();
    }
    hsm = await createSoftHsm({ pin: PIN, tokens: [{ label: 'eToken-A', keyBits: 2048 }, { label: 'eToken-B', keyBits: 2048 }] });
    hsm.activate();
    serialA = hsm.tokens[0].serial;
    control = path.join(hsm.dir, 'testp11.control');
    // Private copies: one SoftHSM and one test module instance of our own in this mocha process.
    setEnv('OPENCTL_TESTP11_TARGET', isolatedModuleCopy(SOFTHSM_MODULE, hsm.dir));
    setEnv('OPENCTL_TESTP11_CONTROL', control);
    module = isolatedModuleCopy(testp11Path(), hsm.dir);
  });
  beforeEach(() => {
    control_({});
    clearState(control);
    trace = [];
    setPkcs11Trace((line) => trace.push(line));
  });
  afterEach(async () => {
    setPkcs11Trace(undefined);
    while (opened.length > 0) await opened.pop()!.close();
    assert.deepEqual(loadedModules(), []);
  });
  after(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    hsm?.cleanup();
  });

  async function flagsOf(label: string): Promise<TokenFlags> {
    const [listing] = await listTokens({ modules: [module] });
    return listing.slots.find((s) => s.token?.label === label)!.token!.flags;
  }

  it('lists the person-relevant flags the token reports', async () => {
    control_({ token_label: 'eToken-A', pin_count_low: true });
    assert.equal((await flagsOf('eToken-A')).userPinCountLow, true);
    assert.equal((await flagsOf('eToken-B')).userPinCountLow, false);
    control_({ token_label: 'eToken-A', pin_final_try: true, protected_auth_path: true });
    const a = await flagsOf('eToken-A');
    assert.deepEqual(flagWords(a), ['PIN final try', 'PIN pad', 'login required']);
    control_({ token_label: 'eToken-B', pin_locked: true });
    assert.deepEqual(flagWords(await flagsOf('eToken-B')), ['PIN LOCKED', 'login required']);
  });

  it('wrong PINs report the tries left; the final try needs a person to confirm', async () => {
    control_({ token_label: 'eToken-A', max_pin_tries: 3 });
    await rejects(open('pkcs11:token=eToken-A', { OPENCTL_PIN: 'bad-1' }), /^token eToken-A: wrong PIN \(from OPENCTL_PIN\); few tries left/);
    assert.equal(pinTriesLeft(control, serialA), 2);
    await rejects(open('pkcs11:token=eToken-A', { OPENCTL_PIN_ETOKEN_A: 'bad-2' }), /^token eToken-A: wrong PIN \(from OPENCTL_PIN_ETOKEN_A\); 1 try left before the token locks$/);
    assert.equal(pinTriesLeft(control, serialA), 1);
    assert.equal(logins(), 2);

    // Final try: refused without a person, even with the right PIN at hand; nothing is sent.
    await rejects(open('pkcs11:token=eToken-A'), /final PIN try; openctl will not risk locking it/);
    const no = prompter({ confirm: false });
    await rejects(open('pkcs11:token=eToken-A', {}, no.prompter), /login cancelled at the final PIN try/);
    assert.match(no.asked[0], /FINAL PIN try: one more wrong PIN locks the token for good\. Continue\? \[y\/N\]/);
    assert.equal(logins(), 2, 'no C_Login at the final try without confirmation');
    assert.equal(pinTriesLeft(control, serialA), 1);

    const yes = prompter({ confirm: true, pin: PIN });
    const signer = await open('pkcs11:token=eToken-A', {}, yes.prompter);
    assert.equal(yes.asked.length, 2, 'confirmation, then the PIN');
    assert.equal(pinTriesLeft(control, serialA), 3, 'a right PIN resets the counter');
    assert.ok(verifies(signer, Buffer.from('a'), 'sha1', await signer.signData(Buffer.from('a'), 'sha1')));
  });

  it('a wrong PIN at the final try says the token is now locked; then it stays locked', async () => {
    control_({ token_label: 'eToken-A', max_pin_tries: 1 });
    const yes = prompter({ confirm: true });
    await rejects(open('pkcs11:token=eToken-A', { OPENCTL_PIN: 'bad' }, yes.prompter), /wrong PIN \(from OPENCTL_PIN\); the token is now LOCKED: an administrator must unblock it with the SO PIN/);
    await rejects(open('pkcs11:token=eToken-A'), /^token eToken-A: the user PIN is locked; an administrator must unblock it with the SO PIN$/);
    assert.equal(logins(), 1);
  });

  it('a locked token is refused before any PIN is sent', async () => {
    control_({ token_label: 'eToken-A', pin_locked: true });
    await rejects(open('pkcs11:token=eToken-A'), /the user PIN is locked/);
    assert.equal(logins(), 0);
    // Locked per token: the other one still signs.
    await open('pkcs11:token=eToken-B');
  });

  it('on a PIN-pad token, logs in without a PIN and tells the person to use the pad', async () => {
    // The person takes a while on the pad: the event loop must keep running meanwhile.
    control_({ token_label: 'eToken-A', pinpad: true, pinpad_pin: PIN, pinpad_delay_ms: 300 });
    const front = prompter({});
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 10);
    const signer = await open('pkcs11:token=eToken-A', {}, front.prompter).finally(() => clearInterval(ticker));
    assert.ok(ticks > 0, 'the event loop ran during the PIN pad login');
    assert.ok(trace.some((l) => /C_Login slot=\d+ \(PIN pad\) -> CKR_OK/.test(l)), trace.join('\n'));
    assert.deepEqual(front.told, ["token eToken-A: enter the PIN on the reader's PIN pad"]);
    assert.deepEqual(front.asked, []);
    assert.ok(verifies(signer, Buffer.from('p'), 'sha256', await signer.sign(digest('sha256', Buffer.from('p')), 'sha256')));
    await signer.close();
    // No one at a terminal: the pad is still where the PIN goes; a wrong one there is reported as such.
    control_({ token_label: 'eToken-A', pinpad: true, pinpad_pin: 'not-the-pin' });
    await rejects(open('pkcs11:token=eToken-A', {}), /^token eToken-A: wrong PIN \(from the PIN pad\)/);
    control_({ token_label: 'eToken-A', pinpad: true, pinpad_pin: PIN });
    await open('pkcs11:token=eToken-A', {});
  });

  it('falls back when the token lacks or refuses CKM_RSA_PKCS, asking each refused mechanism once', async () => {
    control_({ hide_mechanisms: ['CKM_RSA_PKCS'] });
    let signer = await open('pkcs11:token=eToken-A');
    assert.ok(verifies(signer, Buffer.from('h'), 'sha1', await signer.sign(digest('sha1', Buffer.from('h')), 'sha1')));
    assert.deepEqual(trace.filter((l) => l.includes('C_SignInit')).map((l) => /CKM_\w+/.exec(l)![0]), ['CKM_RSA_X_509']);
    await signer.close();
    opened.pop();

    control_({ reject_sign_mechanisms: ['CKM_RSA_PKCS'], reject_sign_rv: 'CKR_DATA_INVALID' });
    trace = [];
    signer = await open('pkcs11:token=eToken-B');
    for (const hash of ['sha1', 'sha256', 'sha512'] as const) {
      assert.ok(verifies(signer, Buffer.from(hash), hash, await signer.sign(digest(hash, Buffer.from(hash)), hash)));
    }
    const inits = trace.filter((l) => l.includes('C_SignInit')).map((l) => /(CKM_\w+) -> (\w+)/.exec(l)!.slice(1).join(' '));
    // Refused once per digest (a SafeNet may refuse one digest and not another), then straight to the fallback.
    assert.deepEqual(inits, [
      'CKM_RSA_PKCS CKR_DATA_INVALID', 'CKM_RSA_X_509 CKR_OK',
      'CKM_RSA_PKCS CKR_DATA_INVALID', 'CKM_RSA_X_509 CKR_OK',
      'CKM_RSA_PKCS CKR_DATA_INVALID', 'CKM_RSA_X_509 CKR_OK',
    ]);
    await signer.sign(digest('sha1', Buffer.from('again')), 'sha1');
    assert.equal(trace.filter((l) => /C_SignInit .*CKM_RSA_PKCS /.test(l)).length, 3, 'not asked again');
  });

  it('uses the token-hashing mechanism only as the last resort, per digest', async () => {
    control_({ hide_mechanisms: ['CKM_RSA_PKCS', 'CKM_RSA_X_509'], reject_sign_mechanisms: ['CKM_SHA512_RSA_PKCS'], reject_sign_rv: 'CKR_MECHANISM_INVALID' });
    const signer = await open('pkcs11:token=eToken-A');
    const data = Buffer.from('config');
    assert.ok(verifies(signer, data, 'sha256', await signer.signData(data, 'sha256')));
    await rejects(signer.signData(data, 'sha512'), /offers no mechanism that signs sha512/);
    await rejects(signer.sign(digest('sha256', data), 'sha256'), /cannot sign a ready sha256 digest/);
  });

  // The module counts signatures from each new remove_at_sign value, so each case takes its own N.
  const removals: Array<[string, number]> = [['CKR_OBJECT_HANDLE_INVALID', 2], ['CKR_GENERAL_ERROR', 3], ['CKR_DEVICE_REMOVED', 4]];
  for (const [removedRv, n] of removals) {
    it(`reports a token pulled out mid-signing as removed, whatever the module says (${removedRv})`, async () => {
      control_({ token_label: 'eToken-A', remove_at_sign: n, removed_rv: removedRv });
      const signer = await open('pkcs11:token=eToken-A');
      const data = Buffer.from('file');
      for (let i = 1; i < n; i += 1) assert.ok(verifies(signer, data, 'sha1', await signer.sign(digest('sha1', data), 'sha1')));
      await rejects(signer.sign(digest('sha1', data), 'sha1'), /^token eToken-A was removed during signing$/);
      await rejects(signer.sign(digest('sha1', data), 'sha1'), /token eToken-A/);
    });
  }

  it('ctl build: a removal mid-signing ends with exit 3 and no output file', async () => {
    control_({ token_label: 'eToken-A', remove_at_sign: 1, removed_rv: 'CKR_GENERAL_ERROR' });
    const out = path.join(hsm.dir, 'CTLFile.tlv');
    const r = await runCliProcess(
      ['ctl', 'build', '--out', out, '--signer', 'pkcs11:token=eToken-A', '--sast', 'pkcs11:token=eToken-B', '--ccm-tftp', vector('certs', 'ccm-tftp.pem')],
      { env: env({ OPENCTL_PKCS11_MODULE: module, OPENCTL_PIN: PIN }) },
    );
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stderr, 'openctl: token eToken-A was removed during signing\n');
    assert.ok(!fs.existsSync(out));
    assert.deepEqual(fs.readdirSync(hsm.dir).filter((f) => f.startsWith('CTLFile')), [], 'no temp file left either');
  });

  it('watches a hardware-like removal and re-insertion', async () => {
    const watcher = await TokenWatcher.start({ modules: [module], env: env() });
    try {
      assert.deepEqual(watcher.initial.map((s) => s.token?.label).sort(), ['eToken-A', 'eToken-B']);
      const events: TokenEvent[] = [];
      const next = (type: string) =>
        new Promise<TokenEvent>((resolve) => watcher.on('token', (e) => (events.push(e), e.type === type ? resolve(e) : undefined)));
      const removed = next('removed');
      control_({ token_label: 'eToken-B', removed: true });
      assert.equal((await removed).token.label, 'eToken-B');
      const inserted = next('inserted');
      control_({});
      assert.equal((await inserted).token.label, 'eToken-B');
    } finally {
      watcher.close();
    }
  });

  it('one reader: asks for eToken-B while it is out, and continues when it is in', async () => {
    control_({ token_label: 'eToken-B', removed: true });
    const stderr = new PassThrough();
    let said = '';
    stderr.on('data', (c: Buffer) => (said += c.toString('utf8')));
    const io: CliIO = { stdout: new PassThrough(), stderr, stdin: Readable.from([]), env: { OPENCTL_PIN: PIN }, cwd: hsm.dir };
    const opening = openSigner('pkcs11:token=eToken-B', { io, interactive: true, modules: [module] });
    for (let i = 0; i < 200 && !said.includes('insert eToken-B'); i += 1) await new Promise((r) => setTimeout(r, 50));
    assert.equal(said, 'openctl: insert eToken-B (waiting for it; Ctrl-C to stop)\n');
    control_({});
    const signer = (await opening) as Pkcs11Signer;
    opened.push(signer);
    assert.equal(signer.tokenSerial, hsm.tokens[1].serial);
  });

  /** Run openctl on a real pseudo-terminal (util-linux `script`), answering prompts as they appear. */
  async function onTerminal(args: string[], answers: Array<[string, string]>, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
    const command = [process.execPath, CLI_BIN, ...args].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: REPO_ROOT, env: env({ OPENCTL_PKCS11_MODULE: module, ...extraEnv }), stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let next = 0;
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString('utf8');
      while (next < answers.length && output.includes(answers[next][0])) child.stdin.write(answers[next++][1]);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, output };
  }

  function hasScript(): boolean {
    try {
      execFileSync('script', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  it('on a terminal, the final try is asked for explicitly; "n" stops before any PIN is sent', async function () {
    if (!hasScript()) this.skip();
    const file = path.join(hsm.dir, 'SEP0002.cnf.xml');
    fs.writeFileSync(file, '<device/>');
    control_({ token_label: 'eToken-A', max_pin_tries: 3 });
    const finalTry = () => fs.writeFileSync(statePath(control), `pin_tries_left.${serialA}=1\n`);

    finalTry();
    const no = await onTerminal(['sign', '--signer', 'pkcs11:token=eToken-A', '--force', file], [['Continue? [y/N] ', 'n\r']]);
    assert.equal(no.code, 3, no.output);
    assert.match(no.output, /login cancelled at the final PIN try/);
    assert.equal(pinTriesLeft(control, serialA), 1);
    assert.ok(!fs.existsSync(`${file}.sgn`));

    const yes = await onTerminal(['sign', '--signer', 'pkcs11:token=eToken-A', '--force', file], [['Continue? [y/N] ', 'y\r'], ['PIN for eToken-A: ', `${PIN}\r`]]);
    assert.equal(yes.code, 0, yes.output);
    assert.ok(!yes.output.includes(PIN));
    assert.equal(pinTriesLeft(control, serialA), 3);
    assert.ok(fs.existsSync(`${file}.sgn`));
  });
});
