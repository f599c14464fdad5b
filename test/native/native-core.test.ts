import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes, verify } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pkcs11js from 'pkcs11js';
import { REPO_ROOT } from '../helpers/paths';
import { writeControl } from '../helpers/testp11';
import {
  loadNativeCore,
  NativeBatchSigner,
  NativeCoreError,
  NativeSignError,
  type NativeCore,
  type NativeSignerPool,
} from '../../src/pipeline/native-core';
import { NativeFixture, sha256DigestInfo, verifies } from './fixture';

const NATIVE_CORE_JS = path.join(REPO_ROOT, 'dist', 'src', 'pipeline', 'native-core.js');

function inputs(count: number): { data: Buffer[]; digestInfos: Buffer[] } {
  const data = Array.from({ length: count }, () => randomBytes(48));
  return { data, digestInfos: data.map(sha256DigestInfo) };
}

describe('native: the N-API batch signing core', function () {
  let core: NativeCore;
  let fx: NativeFixture;
  const tp = new pkcs11js.PKCS11();
  const open: NativeSignerPool[] = [];

  before(function () {
    const loaded = loadNativeCore();
    if (!loaded) {
      if (process.env.CI) throw new Error('native-bindings not built: run npm install with a C compiler');
      this.skip();
    }
    core = loaded;
    fx = NativeFixture.create(['nc-A', 'nc-B']);
    // The application's own view of the test module: initialised and logged in once, as pkcs11js would be.
    tp.load(fx.testp11Path);
    tp.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  });

  async function openPool(options: Partial<Parameters<NativeCore['NativeSignerPool']['open']>[0]> = {}) {
    const a = fx.token('nc-A');
    const pool = await core.NativeSignerPool.open({
      modulePath: fx.softhsmPath,
      tokenLabel: a.label,
      keyLabel: a.keyLabel,
      sessions: 2,
      ...options,
    });
    open.push(pool);
    return pool;
  }

  beforeEach(function () {
    writeControl(fx.control, {});
  });

  afterEach(async function () {
    await Promise.all(open.splice(0).map((p) => p.close()));
  });

  after(function () {
    try {
      tp.C_Finalize();
    } catch {
      /* not initialised */
    }
    fx?.dispose();
  });

  it('returns undefined, without throwing, when the addon is missing or disabled', function () {
    const probe = `const m = require(${JSON.stringify(NATIVE_CORE_JS)});
      process.stdout.write(JSON.stringify({ core: m.loadNativeCore() === undefined, reason: m.nativeCoreStatus().reason }));`;
    const missing = JSON.parse(
      execFileSync(process.execPath, ['-e', probe], {
        env: { ...process.env, OPENCTL_NATIVE_ADDON: path.join(fx.dir, 'nowhere', 'openctl_native.node') },
        encoding: 'utf8',
      }),
    );
    assert.deepEqual(missing.core, true);
    assert.match(missing.reason, /not built/);
    const disabled = JSON.parse(
      execFileSync(process.execPath, ['-e', probe], { env: { ...process.env, OPENCTL_NATIVE: '0' }, encoding: 'utf8' }),
    );
    assert.equal(disabled.core, true);
    assert.match(disabled.reason, /OPENCTL_NATIVE=0/);
  });

  it('signs a batch of 1,000 DigestInfos over 2 sessions, every signature verifying', async function () {
    const a = fx.token('nc-A');
    const pool = await openPool();
    assert.equal(pool.sessions, 2);
    assert.equal(pool.keyBits, 2048);
    assert.equal(pool.tokenSerial, a.serial);
    assert.equal(pool.slotId, a.slotId);
    const batch = inputs(1000);
    const signatures = await pool.signBatch(batch.digestInfos);
    assert.equal(signatures.length, 1000);
    signatures.forEach((sig, i) => assert.ok(verifies(a.publicKey, batch.data[i], sig), `signature ${i} verifies`));

    // The same batch as one concatenated buffer and its lengths.
    const again = await pool.signBatch({ data: Buffer.concat(batch.digestInfos), lengths: batch.digestInfos.map((d) => d.length) });
    again.forEach((sig, i) => assert.ok(sig.equals(signatures[i]), `PKCS#1 v1.5 is deterministic: item ${i}`));
  });

  it('signs with a hashing mechanism, by slot id and key id, through the test module', async function () {
    const b = fx.token('nc-B');
    const pool = await openPool({ modulePath: fx.testp11Path, slotId: b.slot, tokenLabel: undefined, keyLabel: undefined, keyId: b.keyId });
    assert.equal(pool.tokenLabel, 'nc-B');
    const data = Array.from({ length: 20 }, () => randomBytes(300));
    const signatures = await pool.signBatch(data, 'CKM_SHA256_RSA_PKCS');
    signatures.forEach((sig, i) => assert.ok(verify('sha256', data[i], b.publicKey, sig)));
  });

  it('rejects opening with the CK_RV name: no token, no login, no key; a PIN option logs in', async function () {
    await assert.rejects(openPool({ tokenLabel: 'no-such-token' }), (err: NativeCoreError) => {
      assert.ok(err instanceof NativeCoreError);
      assert.equal(err.code, 'CKR_TOKEN_NOT_PRESENT');
      assert.equal(err.exitCode, 3);
      assert.match(err.message, /no token present with label 'no-such-token'/);
      return true;
    });
    await assert.rejects(openPool({ keyLabel: 'no-such-key' }), { code: 'CKR_KEY_HANDLE_INVALID' });
    fx.logout('nc-A');
    try {
      await assert.rejects(openPool(), (err: NativeCoreError) => err.code === 'CKR_USER_NOT_LOGGED_IN' && /not logged in/.test(err.message));
      await assert.rejects(openPool({ pin: 'wrong-pin' }), { code: 'CKR_PIN_INCORRECT', functionName: 'C_Login' });
      const pool = await openPool({ pin: fx.pin });
      const batch = inputs(4);
      (await pool.signBatch(batch.digestInfos)).forEach((sig, i) => assert.ok(verifies(fx.token('nc-A').publicKey, batch.data[i], sig)));
    } finally {
      fx.relogin('nc-A');
    }
    await assert.rejects(openPool({ modulePath: path.join(fx.dir, 'missing.so') }), /cannot load PKCS#11 module/);
  });

  it('reports a refused mechanism for every item, with the rv name', async function () {
    const pool = await openPool({ modulePath: fx.testp11Path });
    writeControl(fx.control, { hide_mechanisms: ['CKM_RSA_PKCS'] });
    await assert.rejects(pool.signBatch(inputs(10).digestInfos), (err: NativeSignError) => {
      assert.ok(err instanceof NativeSignError);
      assert.equal(err.code, 'CKR_MECHANISM_INVALID');
      assert.equal(err.failures.length, 10);
      assert.match(err.message, /CKR_MECHANISM_INVALID for 10 of 10 items/);
      return true;
    });
  });

  it('a token removed in the middle of a batch: which items failed, and the others verify', async function () {
    const a = fx.token('nc-A');
    const pool = await openPool({ modulePath: fx.testp11Path });
    writeControl(fx.control, { remove_at_sign: 300, token_label: 'nc-A' });
    const batch = inputs(1000);
    const err = await pool.signBatch(batch.digestInfos).then(
      () => assert.fail('the batch should fail'),
      (e: unknown) => e as NativeSignError,
    );
    assert.ok(err instanceof NativeSignError);
    assert.equal(err.code, 'CKR_DEVICE_REMOVED');
    assert.equal(err.exitCode, 3);
    assert.equal(err.failures.length, 701, 'the 300th C_Sign and every one after it failed');
    const failed = new Set(err.failures.map((f) => f.index));
    let good = 0;
    err.signatures.forEach((sig, i) => {
      if (failed.has(i)) assert.equal(sig, undefined);
      else {
        assert.ok(sig && verifies(a.publicKey, batch.data[i], sig), `item ${i} verifies`);
        good++;
      }
    });
    assert.equal(good, 299);
    assert.ok(err.failures.every((f) => f.code === 'CKR_DEVICE_REMOVED'));
    writeControl(fx.control, {});
    fx.relogin('nc-A');
  });

  it('keeps the event loop responsive during a batch', async function () {
    const pool = await openPool({ modulePath: fx.testp11Path });
    writeControl(fx.control, { sign_delay_ms: 40 }); // 20 items over 2 sessions: at least 400 ms of signing
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const pending = pool.signBatch(inputs(20).digestInfos);
      const ticksAtStart = ticks;
      await pending;
      assert.ok(ticks - ticksAtStart >= 10, `the interval kept ticking while the batch ran (${ticks - ticksAtStart} ticks)`);
    } finally {
      clearInterval(timer);
    }
  });

  it('close() ends its own sessions only: the login and the module stay for the rest of the process', async function () {
    const a = fx.token('nc-A');
    const pool = await openPool();
    await pool.signBatch(inputs(2).digestInfos);
    await Promise.all([pool.close(), pool.close()]);
    await assert.rejects(pool.signBatch(inputs(1).digestInfos), { code: 'ERR_POOL_CLOSED' });
    const session = fx.softhsm.C_OpenSession(a.slot, pkcs11js.CKF_SERIAL_SESSION);
    assert.equal(fx.softhsm.C_GetSessionInfo(session).state, 1 /* CKS_RO_USER_FUNCTIONS */, 'still logged in');
    fx.softhsm.C_CloseSession(session);
    const reopened = await openPool();
    assert.equal((await reopened.signBatch(inputs(1).digestInfos)).length, 1);
  });

  it('two tokens sign at once, and NativeBatchSigner gathers single sign() calls into batches', async function () {
    const a = fx.token('nc-A');
    const b = fx.token('nc-B');
    const poolA = await openPool();
    const poolB = await openPool({ tokenLabel: b.label, keyLabel: b.keyLabel });
    const both = inputs(200);
    const [sigA, sigB] = await Promise.all([poolA.signBatch(both.digestInfos), poolB.signBatch(both.digestInfos)]);
    sigA.forEach((sig, i) => assert.ok(verifies(a.publicKey, both.data[i], sig)));
    sigB.forEach((sig, i) => assert.ok(verifies(b.publicKey, both.data[i], sig)));

    const signer = new NativeBatchSigner(poolA, { certificate: Buffer.alloc(0), maxBatch: 64 });
    assert.equal(signer.tokenSerial, a.serial);
    const data = Array.from({ length: 150 }, () => randomBytes(32));
    const signatures = await Promise.all(data.map((d) => signer.sign(createHash('sha256').update(d).digest(), 'sha256')));
    signatures.forEach((sig, i) => assert.ok(verifies(a.publicKey, data[i], sig)));
  });

  it('syncfs(fd) resolves for an open file and rejects with the errno code for a closed one', async function () {
    const file = path.join(fx.dir, 'durable.bin');
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, randomBytes(4096));
    await core.syncfs(fd);
    fs.closeSync(fd);
    await assert.rejects(core.syncfs(fd), { code: 'EBADF' });
  });

  it('a process that exits with a pool open, even in the middle of a batch, exits cleanly', function () {
    const a = fx.token('nc-A');
    for (const mode of ['idle', 'busy']) {
      const script = `
        const { loadNativeCore } = require(${JSON.stringify(NATIVE_CORE_JS)});
        const { randomBytes } = require('node:crypto');
        (async () => {
          const pool = await loadNativeCore().NativeSignerPool.open({ modulePath: process.env.MODULE,
            tokenLabel: ${JSON.stringify(a.label)}, keyLabel: ${JSON.stringify(a.keyLabel)}, sessions: 2,
            pin: process.env.TEST_PIN });
          const items = Array.from({ length: 400 }, () => Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), randomBytes(32)]));
          if (process.env.MODE === 'busy') { pool.signBatch(items).catch(() => {}); setTimeout(() => process.exit(0), 50); }
          else { await pool.signBatch(items.slice(0, 4)); console.log('signed'); }
        })().catch((e) => { console.error(e.message); process.exit(2); });`;
      const run = spawnSync(process.execPath, ['-e', script], {
        env: { ...process.env, MODULE: fx.softhsmPath, TEST_PIN: fx.pin, MODE: mode },
        encoding: 'utf8',
        timeout: 30000,
      });
      assert.equal(run.status, 0, `${mode}: exit status ${run.status} signal ${run.signal} ${run.stderr}`);
    }
  });
});
