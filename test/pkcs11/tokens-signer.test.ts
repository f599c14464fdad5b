import { strict as assert } from 'node:assert';
import { constants, verify, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digest, type HashAlgorithm } from '../../src/crypto/hash';
import { listTokens } from '../../src/pkcs11/list';
import { loadedModules } from '../../src/pkcs11/registry';
import { openPkcs11Signer, readTokenCertificate, type Pkcs11Signer } from '../../src/pkcs11/signer';
import { setPkcs11Trace } from '../../src/pkcs11/trace';
import type { PinPrompter } from '../../src/pkcs11/pin';
import { ExitCode, TokenError } from '../../src/util/errors';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';

// Letters, so that no slot number or timing in a trace can contain it by chance.
const PIN = 'Zq7-pin';

function verifies(signer: Pkcs11Signer, data: Buffer, hash: HashAlgorithm, signature: Uint8Array): boolean {
  const key = new X509Certificate(signer.certificate).publicKey;
  return verify(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
}

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<TokenError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof TokenError, `expected a TokenError, got ${String(err)}`);
    assert.equal(err.exitCode, ExitCode.Token);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return err;
  }
  assert.fail(`expected a rejection matching ${pattern}`);
}

describe('pkcs11 tokens and signer on SoftHSM', function () {
  this.timeout(120_000);
  let hsm: SoftHsmFixture;
  const opened: Pkcs11Signer[] = [];
  let trace: string[] = [];

  const options = (env: NodeJS.ProcessEnv = { OPENCTL_PIN: PIN }) => ({ modules: [hsm.modulePath], env });
  async function open(uri: string, env?: NodeJS.ProcessEnv, prompter?: PinPrompter): Promise<Pkcs11Signer> {
    const signer = await openPkcs11Signer(uri, { ...options(env), prompter, cwd: hsm.dir });
    opened.push(signer);
    return signer;
  }

  before(async () => {
    hsm = await createSoftHsm({
      pin: PIN,
      tokens: [
        { label: 'eToken-A', keys: [{ keyBits: 2048 }] },
        {
          label: 'eToken-B',
          keys: [
            { id: '10', label: 'k1024', keyBits: 1024 },
            { id: '20', label: 'k2048', keyBits: 2048 },
            { id: '40', label: 'k4096', keyBits: 4096 },
          ],
        },
        { label: 'Odd', keys: [{ id: 'a1', label: 'cert-only', privateKey: false }, { id: 'a2', label: 'key-only', certificate: false }] },
        { label: 'Unsupported', keys: [{ id: 'e1', label: 'ec', type: 'ec' }, { id: '30', label: 'k3072', keyBits: 3072 }] },
      ],
    });
    hsm.activate();
  });
  beforeEach(() => {
    trace = [];
    setPkcs11Trace((line) => trace.push(line));
  });
  afterEach(async () => {
    setPkcs11Trace(undefined);
    while (opened.length > 0) await opened.pop()!.close();
    assert.deepEqual(loadedModules(), [], 'every module released after use');
  });
  after(() => hsm.cleanup());

  it('lists tokens, their flags and their certificate/key pairs without logging in', async () => {
    const [listing] = await listTokens({ modules: [hsm.modulePath] });
    assert.equal(listing.module?.manufacturer, 'SoftHSM');
    const byLabel = new Map(listing.slots.filter((s) => s.token?.flags.initialized).map((s) => [s.token!.label, s]));
    assert.deepEqual([...byLabel.keys()].sort(), ['Odd', 'Unsupported', 'eToken-A', 'eToken-B']);
    const b = byLabel.get('eToken-B')!;
    assert.equal(b.token!.serial, hsm.tokens[1].serial);
    assert.equal(b.token!.model, 'SoftHSM v2');
    assert.deepEqual(
      { ...b.token!.flags },
      {
        loginRequired: true,
        protectedAuthenticationPath: false,
        userPinInitialized: true,
        userPinCountLow: false,
        userPinFinalTry: false,
        userPinLocked: false,
        userPinToBeChanged: false,
        writeProtected: false,
        initialized: true,
      },
    );
    assert.deepEqual(
      b.objects!.map((o) => [o.id, o.label, o.keyType, o.keyBits, o.privateKey, o.publicKey, o.certificate?.subject]),
      [
        ['10', 'k1024', 'RSA', 1024, null, true, 'CN=SAST-eToken-B,OU=IPCBU,O=openctl demo,C=US'],
        ['20', 'k2048', 'RSA', 2048, null, true, 'CN=SAST-eToken-B,OU=IPCBU,O=openctl demo,C=US'],
        ['40', 'k4096', 'RSA', 4096, null, true, 'CN=SAST-eToken-B,OU=IPCBU,O=openctl demo,C=US'],
      ],
    );
    const odd = byLabel.get('Odd')!.objects!;
    assert.deepEqual(odd.map((o) => [o.id, Boolean(o.certificate), o.publicKey]), [['a1', true, true], ['a2', false, true]]);
    assert.ok(!trace.some((l) => l.includes('C_Login')), 'a listing never logs in');
  });

  it('selects by token, object label, id, serial and slot-id, and signs with each key size', async () => {
    const data = Buffer.from('the bytes of a CTL file');
    const cases: Array<[string, number]> = [
      ['pkcs11:token=eToken-A', 2048],
      ['pkcs11:token=eToken-B;object=k1024', 1024],
      ['pkcs11:token=eToken-B;id=%40', 4096],
      [`pkcs11:serial=${hsm.tokens[1].serial};object=k2048;type=private`, 2048],
      [`pkcs11:token=eToken-B;object=k2048;type=cert`, 2048],
    ];
    for (const [uri, bits] of cases) {
      const signer = await open(uri);
      assert.equal(signer.keyBits, bits, uri);
      assert.equal(signer.tokenSerial, uri.includes('eToken-A') ? hsm.tokens[0].serial : hsm.tokens[1].serial);
      for (const hash of ['sha1', 'sha256', 'sha512'] as const) {
        const signature = await signer.sign(digest(hash, data), hash);
        assert.equal(signature.length, bits / 8);
        assert.ok(verifies(signer, data, hash, signature), `${uri} ${hash}`);
        assert.ok(verifies(signer, data, hash, await signer.signData(data, hash)), `${uri} ${hash} signData`);
      }
    }
    assert.equal(opened[0].description, 'pkcs11:token=eToken-A;object=SAST;id=%01');
    const slotId = trace.map((l) => /C_OpenSession slot=(\d+)/.exec(l)?.[1]).find(Boolean)!;
    const bySlot = await open(`pkcs11:slot-id=${slotId}`);
    assert.equal(bySlot.tokenSerial, hsm.tokens[0].serial);
  });

  it('reports what does not match, one line each, exit 3', async () => {
    await rejects(open('pkcs11:token=eToken-C'), /no token matching pkcs11:token=eToken-C \(present: .*eToken-A.*\)/);
    await rejects(open('pkcs11:token=eToken-B'), /holds 3 matching certificate\/key pairs: 'k1024' \(id 10\), 'k2048' \(id 20\), 'k4096' \(id 40\); name one with object= or id=/);
    await rejects(open('pkcs11:'), /tokens match pkcs11:: .*name one with token= or serial=/);
    await rejects(open('pkcs11:token=eToken-B;object=nothing'), /holds no certificate\/key pair matching the URI/);
    await rejects(open('pkcs11:token=Odd;object=cert-only'), /certificate 'cert-only' \(id a1\) has no private key/);
    await rejects(open('pkcs11:token=Odd;object=key-only'), /private key 'key-only' \(id a2\) has no certificate/);
    await rejects(open('pkcs11:token=Unsupported;object=ec'), /is EC; Cisco files are signed with RSA only/);
    await rejects(open('pkcs11:token=Unsupported;object=k3072'), /RSA 3072 bits; the file header can only express 1024, 2048 or 4096/);
    await rejects(openPkcs11Signer('pkcs11:token=eToken-A?module-path=/nonexistent/libx.so', options()), /libx\.so: PKCS#11 module not found/);
    await rejects(openPkcs11Signer('pkcs11:token=eToken-A', { modules: ['/etc/hostname'], env: {} }), /cannot load the PKCS#11 module/);
  });

  it('reads a certificate from the token without a PIN', async () => {
    const der = await readTokenCertificate('pkcs11:token=eToken-A', options({}));
    assert.deepEqual(der, hsm.tokens[0].keys[0].certificate);
    const byLabel = await readTokenCertificate('pkcs11:token=eToken-B;object=k4096', options({}));
    assert.deepEqual(byLabel, hsm.tokens[1].keys[2].certificate);
    await rejects(readTokenCertificate('pkcs11:token=eToken-B', options({})), /holds 3 certificates/);
    assert.ok(!trace.some((l) => l.includes('C_Login')));
  });

  it('wrong PIN: one line with where it came from, no retry, then the right PIN works', async () => {
    // SoftHSM raises CKF_USER_PIN_COUNT_LOW after a wrong PIN, and openctl passes that on.
    const err = await rejects(
      open('pkcs11:token=eToken-A', { OPENCTL_PIN: 'wrong-0000' }),
      /^token eToken-A: wrong PIN \(from OPENCTL_PIN\); few tries left \(the token reports its PIN count low\)$/,
    );
    assert.ok(!err.message.includes('wrong-0000'));
    assert.equal(trace.filter((l) => l.includes('C_Login')).length, 1, 'never retried');
    assert.ok(trace.some((l) => /C_Login .*-> CKR_PIN_INCORRECT/.test(l)));
    const signer = await open('pkcs11:token=eToken-A', { OPENCTL_PIN: PIN });
    assert.ok(verifies(signer, Buffer.from('x'), 'sha1', await signer.signData(Buffer.from('x'), 'sha1')));
  });

  it('takes OPENCTL_PIN_<LABEL> before OPENCTL_PIN, and pin-source=file: before both', async () => {
    await open('pkcs11:token=eToken-A', { OPENCTL_PIN_ETOKEN_A: PIN, OPENCTL_PIN: 'wrong' });
    await rejects(open('pkcs11:token=eToken-B;object=k1024', { OPENCTL_PIN_ETOKEN_B: 'wrong', OPENCTL_PIN: PIN }), /wrong PIN \(from OPENCTL_PIN_ETOKEN_B\)/);
    fs.writeFileSync(path.join(hsm.dir, 'pin.txt'), `${PIN}\n`);
    await open('pkcs11:token=eToken-B;object=k1024?pin-source=file:pin.txt', { OPENCTL_PIN: 'wrong' });
  });

  it('without a PIN source and nobody to ask, says how to give one', async () => {
    await rejects(open('pkcs11:token=eToken-A', {}), /token eToken-A needs a PIN: set OPENCTL_PIN_ETOKEN_A or OPENCTL_PIN, add pin-source=file:PATH to the URI, or run in a terminal/);
  });

  it('asks the person when no source has the PIN', async () => {
    const asked: string[] = [];
    const prompter: PinPrompter = {
      askPin: async (question) => {
        asked.push(question);
        return PIN;
      },
      confirm: async () => assert.fail('no confirmation expected'),
      notice: () => undefined,
    };
    const signer = await open('pkcs11:token=eToken-A', {}, prompter);
    assert.deepEqual(asked, ['PIN for eToken-A: ']);
    assert.equal(signer.keyBits, 2048);
  });

  it('logs in once per token for every signer and parallel signature; the PIN never reaches the trace', async () => {
    const signers = await Promise.all(['k1024', 'k2048', 'k4096'].map((o) => open(`pkcs11:token=eToken-B;object=${o}`)));
    const data = Array.from({ length: 24 }, (_, i) => Buffer.from(`file ${i}`));
    const signatures = await Promise.all(data.map((d, i) => signers[i % 3].sign(digest('sha256', d), 'sha256')));
    signatures.forEach((s, i) => assert.ok(verifies(signers[i % 3], data[i], 'sha256', s)));
    assert.equal(trace.filter((l) => l.includes('C_Login')).length, 1);
    assert.equal(trace.filter((l) => l.includes('C_Sign ')).length, 24);
    assert.ok(trace.length > 0 && !trace.some((l) => l.includes(PIN)));
    // Cached handles: no object search per signature.
    const finds = trace.filter((l) => l.includes('C_FindObjectsInit')).length;
    await signers[0].sign(digest('sha1', data[0]), 'sha1');
    assert.equal(trace.filter((l) => l.includes('C_FindObjectsInit')).length, finds);
  });

  it('keeps the login while one signer closes and another goes on', async () => {
    const first = await open('pkcs11:token=eToken-B;object=k1024');
    const second = await open('pkcs11:token=eToken-B;object=k2048');
    await first.close();
    await first.close(); // twice is harmless
    const sig = await second.sign(digest('sha1', Buffer.from('y')), 'sha1');
    assert.ok(verifies(second, Buffer.from('y'), 'sha1', sig));
    await rejects(first.sign(digest('sha1', Buffer.from('y')), 'sha1'), /closed/);
  });
});

describe('pkcs11 signer mechanism fallback (SoftHSM slots.mechanisms)', function () {
  this.timeout(60_000);
  const trace: string[] = [];
  afterEach(() => setPkcs11Trace(undefined));

  async function withMechanisms(mechanisms: string, fn: (signer: Pkcs11Signer) => Promise<void>): Promise<void> {
    const hsm = await createSoftHsm({ pin: PIN, mechanisms, tokens: [{ label: 'eToken-A', keyBits: 2048 }] });
    try {
      hsm.activate();
      const signer = await openPkcs11Signer('pkcs11:token=eToken-A', { modules: [hsm.modulePath], env: { OPENCTL_PIN: PIN } });
      try {
        trace.length = 0;
        setPkcs11Trace((line) => trace.push(line));
        await fn(signer);
      } finally {
        await signer.close();
      }
    } finally {
      hsm.cleanup();
    }
  }

  it('without CKM_RSA_PKCS, pads on the host and signs with CKM_RSA_X_509 (the data stays on the host)', async () => {
    await withMechanisms('CKM_RSA_X_509,CKM_SHA1_RSA_PKCS,CKM_SHA256_RSA_PKCS,CKM_SHA512_RSA_PKCS', async (signer) => {
      const data = Buffer.from('ctl bytes');
      for (const hash of ['sha1', 'sha256', 'sha512'] as const) {
        assert.ok(verifies(signer, data, hash, await signer.sign(digest(hash, data), hash)));
        assert.ok(verifies(signer, data, hash, await signer.signData(data, hash)));
      }
      const inits = trace.filter((l) => l.includes('C_SignInit'));
      assert.equal(inits.length, 6);
      assert.ok(inits.every((l) => l.includes('CKM_RSA_X_509 -> CKR_OK')), inits.join('\n'));
    });
  });

  it('with only CKM_SHAx_RSA_PKCS, signData hands the data to the token; sign(digest) says why it cannot', async () => {
    await withMechanisms('CKM_SHA1_RSA_PKCS,CKM_SHA256_RSA_PKCS,CKM_SHA512_RSA_PKCS', async (signer) => {
      const data = Buffer.from('ctl bytes');
      for (const hash of ['sha1', 'sha256', 'sha512'] as const) {
        assert.ok(verifies(signer, data, hash, await signer.signData(data, hash)), hash);
      }
      assert.deepEqual(
        trace.filter((l) => l.includes('C_SignInit')).map((l) => /CKM_\w+/.exec(l)![0]),
        ['CKM_SHA1_RSA_PKCS', 'CKM_SHA256_RSA_PKCS', 'CKM_SHA512_RSA_PKCS'],
      );
      await rejects(signer.sign(digest('sha256', data), 'sha256'), /cannot sign a ready sha256 digest.*would need the data for CKM_SHA256_RSA_PKCS/);
    });
  });

  it('without any RSA PKCS#1 v1.5 mechanism, a clear error', async () => {
    await withMechanisms('CKM_SHA1_RSA_PKCS', async (signer) => {
      await rejects(signer.signData(Buffer.from('x'), 'sha256'), /offers no mechanism that signs sha256 with RSA PKCS#1 v1.5/);
      assert.ok(verifies(signer, Buffer.from('x'), 'sha1', await signer.signData(Buffer.from('x'), 'sha1')));
    });
  });
});
