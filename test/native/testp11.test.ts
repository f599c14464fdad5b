import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { clearState, pinTriesLeft, testp11Available, writeControl } from '../helpers/testp11';
import { ckrOf, NativeFixture, sha256DigestInfo, verifies, type FixtureToken } from './fixture';

const CKM_RSA_PKCS = pkcs11js.CKM_RSA_PKCS;
const CKM_SHA256_RSA_PKCS = pkcs11js.CKM_SHA256_RSA_PKCS;
const CKM_SHA512_RSA_PKCS = pkcs11js.CKM_SHA512_RSA_PKCS;
/** Not in pkcs11js' typings. */
const CKS_RO_USER_FUNCTIONS = 1;
const CKS_RW_USER_FUNCTIONS = 3;
const CKF_TOKEN_PRESENT = 1;
const PIN_FLAGS = {
  countLow: pkcs11js.CKF_USER_PIN_COUNT_LOW,
  finalTry: pkcs11js.CKF_USER_PIN_FINAL_TRY,
  locked: pkcs11js.CKF_USER_PIN_LOCKED,
  pinPad: pkcs11js.CKF_PROTECTED_AUTHENTICATION_PATH,
};

describe('native: testp11, the test PKCS#11 module over SoftHSM', function () {
  let fx: NativeFixture;
  let tp: pkcs11js.PKCS11;

  before(function () {
    if (!testp11Available()) {
      if (process.env.CI) throw new Error('native-bindings not built: run npm install with a C compiler');
      this.skip();
    }
    fx = NativeFixture.create(['tp-A', 'tp-B']);
    tp = new pkcs11js.PKCS11();
    tp.load(fx.testp11Path);
    tp.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  });

  after(function () {
    try {
      tp?.C_Finalize();
    } catch {
      /* not initialised */
    }
    fx?.dispose();
  });

  beforeEach(function () {
    writeControl(fx.control, {});
    clearState(fx.control);
  });

  function flagsOf(token: FixtureToken): number {
    return tp.C_GetTokenInfo(token.slot).flags;
  }

  function privateKey(session: Buffer, token: FixtureToken): Buffer {
    tp.C_FindObjectsInit(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_LABEL, value: token.keyLabel },
    ]);
    const [key] = tp.C_FindObjects(session, 2);
    tp.C_FindObjectsFinal(session);
    assert.ok(key, `private key ${token.keyLabel} found`);
    return key;
  }

  /** Signs fresh data with CKM_RSA_PKCS over its DigestInfo (or a hashing mechanism over the data). */
  function signOnce(session: Buffer, token: FixtureToken, mechanism = CKM_RSA_PKCS): { data: Buffer; signature: Buffer } {
    const data = randomBytes(64);
    tp.C_SignInit(session, { mechanism }, privateKey(session, token));
    const input = mechanism === CKM_RSA_PKCS ? sha256DigestInfo(data) : data;
    return { data, signature: tp.C_Sign(session, input, Buffer.alloc(512)) };
  }

  function isLoggedIn(session: Buffer): boolean {
    const state = tp.C_GetSessionInfo(session).state;
    return state === CKS_RO_USER_FUNCTIONS || state === CKS_RW_USER_FUNCTIONS;
  }

  it('forwards: lists the SoftHSM tokens, signs on the token, and node:crypto verifies the signature', function () {
    const labels = tp.C_GetSlotList(true).map((s) => tp.C_GetTokenInfo(s).label.replace(/[\s\0]+$/u, ''));
    assert.ok(labels.includes('tp-A') && labels.includes('tp-B'), `tokens listed: ${labels.join(', ')}`);
    assert.ok(tp.C_GetMechanismList(fx.token('tp-A').slot).includes(CKM_RSA_PKCS));
    const a = fx.token('tp-A');
    const session = tp.C_OpenSession(a.slot, pkcs11js.CKF_SERIAL_SESSION);
    assert.ok(isLoggedIn(session), 'the fixture login is shared with sessions opened through the test module');
    const { data, signature } = signOnce(session, a);
    assert.equal(signature.length, 256);
    assert.ok(verifies(a.publicKey, data, signature));
    const other = signOnce(session, a, CKM_SHA256_RSA_PKCS);
    assert.ok(verifies(a.publicKey, other.data, other.signature));
    tp.C_CloseSession(session);
  });

  it('reports the token flags it is told to, and only those', function () {
    const a = fx.token('tp-A');
    const all = PIN_FLAGS.countLow | PIN_FLAGS.finalTry | PIN_FLAGS.locked | PIN_FLAGS.pinPad;
    assert.equal(flagsOf(a) & all, 0, 'SoftHSM alone sets none of them');
    writeControl(fx.control, { pin_count_low: true, pin_final_try: true, pin_locked: true, protected_auth_path: true });
    assert.equal(flagsOf(a) & all, all);
    writeControl(fx.control, { token_flags_set: ['CKF_USER_PIN_TO_BE_CHANGED'], token_flags_clear: ['CKF_LOGIN_REQUIRED'] });
    assert.ok(flagsOf(a) & pkcs11js.CKF_USER_PIN_TO_BE_CHANGED);
    assert.equal(flagsOf(a) & pkcs11js.CKF_LOGIN_REQUIRED, 0);
    assert.equal(flagsOf(a) & all, 0, 'a rewritten control file replaces the previous settings');
    writeControl(fx.control, { pin_locked: true, token_label: 'tp-B' });
    assert.equal(flagsOf(a) & PIN_FLAGS.locked, 0, 'token_label limits the injection to tp-B');
    assert.ok(flagsOf(fx.token('tp-B')) & PIN_FLAGS.locked);
  });

  it('counts wrong PINs down to a lock that persists across processes; a right PIN resets the count', function () {
    const a = fx.token('tp-A');
    writeControl(fx.control, { max_pin_tries: 3, token_label: 'tp-A' });
    fx.logout('tp-A');
    const session = tp.C_OpenSession(a.slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      assert.equal(ckrOf(() => tp.C_Login(session, pkcs11js.CKU_USER, 'wrong-pin')), 'CKR_PIN_INCORRECT');
      assert.equal(pinTriesLeft(fx.control, a.serial), 2);
      assert.ok(flagsOf(a) & PIN_FLAGS.countLow);
      assert.equal(flagsOf(a) & PIN_FLAGS.finalTry, 0);

      tp.C_Login(session, pkcs11js.CKU_USER, fx.pin);
      assert.equal(pinTriesLeft(fx.control, a.serial), 3, 'a right PIN resets the counter');
      assert.equal(flagsOf(a) & PIN_FLAGS.countLow, 0);
      tp.C_Logout(session);

      assert.equal(ckrOf(() => tp.C_Login(session, pkcs11js.CKU_USER, 'wrong-pin')), 'CKR_PIN_INCORRECT');
      assert.equal(ckrOf(() => tp.C_Login(session, pkcs11js.CKU_USER, 'wrong-pin')), 'CKR_PIN_INCORRECT');
      assert.ok(flagsOf(a) & PIN_FLAGS.finalTry, 'one try left: final try');
      assert.equal(ckrOf(() => tp.C_Login(session, pkcs11js.CKU_USER, 'wrong-pin')), 'CKR_PIN_LOCKED');
      assert.ok(flagsOf(a) & PIN_FLAGS.locked);
      assert.equal(ckrOf(() => tp.C_Login(session, pkcs11js.CKU_USER, fx.pin)), 'CKR_PIN_LOCKED', 'even the right PIN');
      assert.ok(!isLoggedIn(session));
      assert.equal(flagsOf(fx.token('tp-B')) & PIN_FLAGS.locked, 0, 'tp-B is not affected');

      // Another process (pkcs11-tool) through the same control file sees the lock.
      const listing = execFileSync('pkcs11-tool', ['--module', fx.testp11Path, '--list-token-slots'], {
        env: process.env,
        encoding: 'utf8',
      });
      assert.match(listing, /user PIN locked/);

      clearState(fx.control);
      tp.C_Login(session, pkcs11js.CKU_USER, fx.pin);
      assert.ok(isLoggedIn(session));
    } finally {
      tp.C_CloseSession(session);
      fx.relogin('tp-A');
    }
  });

  it('PIN pad: flags the protected authentication path and logs in without a PIN from the application', function () {
    const a = fx.token('tp-A');
    fx.logout('tp-A');
    const session = tp.C_OpenSession(a.slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      assert.ok(ckrOf(() => tp.C_Login(session, pkcs11js.CKU_USER, '')), 'SoftHSM alone refuses an empty PIN');
      writeControl(fx.control, { pinpad: true, pinpad_pin: fx.pin });
      assert.ok(flagsOf(a) & PIN_FLAGS.pinPad);
      tp.C_Login(session, pkcs11js.CKU_USER, ''); // no PIN from the application: the pad supplies it
      assert.ok(isLoggedIn(session));
      const { data, signature } = signOnce(session, a);
      assert.ok(verifies(a.publicKey, data, signature));
    } finally {
      tp.C_CloseSession(session);
      fx.relogin('tp-A');
    }
  });

  it('hides a mechanism from the list and the info, and refuses to sign with it', function () {
    const a = fx.token('tp-A');
    writeControl(fx.control, { hide_mechanisms: ['CKM_RSA_PKCS', 'CKM_SHA1_RSA_PKCS'] });
    const list = tp.C_GetMechanismList(a.slot);
    assert.ok(!list.includes(CKM_RSA_PKCS) && !list.includes(pkcs11js.CKM_SHA1_RSA_PKCS));
    assert.ok(list.includes(CKM_SHA256_RSA_PKCS));
    assert.equal(ckrOf(() => tp.C_GetMechanismInfo(a.slot, CKM_RSA_PKCS)), 'CKR_MECHANISM_INVALID');
    const session = tp.C_OpenSession(a.slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      assert.equal(ckrOf(() => signOnce(session, a)), 'CKR_MECHANISM_INVALID');
      const fallback = signOnce(session, a, CKM_SHA256_RSA_PKCS);
      assert.ok(verifies(a.publicKey, fallback.data, fallback.signature), 'the fallback mechanism still signs');
    } finally {
      tp.C_CloseSession(session);
    }
  });

  it('rejects one digest while listing it, as some SafeNet models do', function () {
    const a = fx.token('tp-A');
    writeControl(fx.control, { reject_sign_mechanisms: ['CKM_SHA512_RSA_PKCS'] });
    assert.ok(tp.C_GetMechanismList(a.slot).includes(CKM_SHA512_RSA_PKCS));
    const session = tp.C_OpenSession(a.slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      assert.equal(ckrOf(() => signOnce(session, a, CKM_SHA512_RSA_PKCS)), 'CKR_MECHANISM_INVALID');
      writeControl(fx.control, { reject_sign_mechanisms: ['CKM_SHA512_RSA_PKCS'], reject_sign_rv: 'CKR_FUNCTION_FAILED' });
      assert.equal(ckrOf(() => signOnce(session, a, CKM_SHA512_RSA_PKCS)), 'CKR_FUNCTION_FAILED');
      const sha256 = signOnce(session, a, CKM_SHA256_RSA_PKCS);
      assert.ok(verifies(a.publicKey, sha256.data, sha256.signature));
    } finally {
      tp.C_CloseSession(session);
    }
  });

  it('removes the token at the Nth C_Sign: signing fails, the slot empties, sessions and login go', function () {
    const a = fx.token('tp-A');
    const b = fx.token('tp-B');
    writeControl(fx.control, { remove_at_sign: 3, token_label: 'tp-A' });
    const session = tp.C_OpenSession(a.slot, pkcs11js.CKF_SERIAL_SESSION);
    const sessionB = tp.C_OpenSession(b.slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      signOnce(session, a);
      signOnce(session, a);
      assert.equal(ckrOf(() => signOnce(session, a)), 'CKR_DEVICE_REMOVED', 'the third signature');
      assert.equal(ckrOf(() => signOnce(session, a)), 'CKR_DEVICE_REMOVED', 'and every one after');

      const present = tp.C_GetSlotList(true).map((s) => s.toString('hex'));
      assert.ok(!present.includes(a.slot.toString('hex')) && present.includes(b.slot.toString('hex')));
      assert.ok(tp.C_GetSlotList(false).some((s) => s.equals(a.slot)), 'the reader (slot) stays');
      assert.equal(tp.C_GetSlotInfo(a.slot).flags & CKF_TOKEN_PRESENT, 0);
      assert.equal(ckrOf(() => tp.C_GetTokenInfo(a.slot)), 'CKR_TOKEN_NOT_PRESENT');
      assert.equal(ckrOf(() => tp.C_OpenSession(a.slot, pkcs11js.CKF_SERIAL_SESSION)), 'CKR_TOKEN_NOT_PRESENT');
      const event = tp.C_WaitForSlotEvent(pkcs11js.CKF_DONT_BLOCK);
      assert.ok(event && event.equals(a.slot), 'a slot event for the removal');
      assert.equal(tp.C_WaitForSlotEvent(pkcs11js.CKF_DONT_BLOCK), null);
      const stillB = signOnce(sessionB, b);
      assert.ok(verifies(b.publicKey, stillB.data, stillB.signature), 'tp-B keeps signing');

      writeControl(fx.control, {}); // put it back
      assert.ok(tp.C_GetSlotList(true).some((s) => s.equals(a.slot)));
      const back = tp.C_WaitForSlotEvent(pkcs11js.CKF_DONT_BLOCK);
      assert.ok(back && back.equals(a.slot), 'a slot event for the insertion');
      assert.equal(ckrOf(() => signOnce(session, a)), 'CKR_SESSION_HANDLE_INVALID', 'old sessions died');
      const fresh = tp.C_OpenSession(a.slot, pkcs11js.CKF_SERIAL_SESSION);
      assert.ok(!isLoggedIn(fresh), 'the login went with the token');
      fx.relogin('tp-A');
      const again = signOnce(fresh, a);
      assert.ok(verifies(a.publicKey, again.data, again.signature));
      tp.C_CloseSession(fresh);
    } finally {
      ckrOf(() => tp.C_CloseSession(session)); // already closed by the removal
      tp.C_CloseSession(sessionB);
    }
  });

  it('answers a removal with the configured rv, and removed=1 is a token never inserted', function () {
    const a = fx.token('tp-A');
    const b = fx.token('tp-B');
    writeControl(fx.control, { remove_at_sign: 1, removed_rv: 'CKR_GENERAL_ERROR', removal_closes_sessions: false });
    const session = tp.C_OpenSession(a.slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      assert.equal(ckrOf(() => signOnce(session, a)), 'CKR_GENERAL_ERROR');
      assert.equal(tp.C_GetSlotList(true).length, 0, 'without token_label or slot, every slot loses its token');
      writeControl(fx.control, { removed: true, token_label: 'tp-B' });
      const present = tp.C_GetSlotList(true);
      assert.ok(present.some((s) => s.equals(a.slot)) && !present.some((s) => s.equals(b.slot)));
      const kept = signOnce(session, a);
      assert.ok(verifies(a.publicKey, kept.data, kept.signature), 'removal_closes_sessions=0 kept the session');
    } finally {
      tp.C_CloseSession(session);
    }
  });
});
