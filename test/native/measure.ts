/**
 * Measures RSA-2048 signatures/s on one fresh SoftHSM token, for the native core's report (a measurement, not a
 * test: `npm run build && node dist/test/native/measure.js [--seconds S]`):
 *   - pkcs11js, a plain C_SignInit + C_Sign loop on the main thread (one session);
 *   - pkcs11js, C_SignAsync with one request in flight per session (one session per core);
 *   - the native core: batches of 256 over one session per core;
 *   - csign, the standalone C loop (the benchmark's limit B), one session per core.
 * Prints a table and one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pkcs11js from 'pkcs11js';
import { loadNativeCore, nativeBuildDir } from '../../src/pipeline/native-core';
import { NativeFixture, sha256DigestInfo, verifies } from './fixture';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 3;
const cores = os.availableParallelism();

function privateKey(lib: pkcs11js.PKCS11, session: Buffer, label: string): Buffer {
  lib.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_LABEL, value: label },
  ]);
  const [key] = lib.C_FindObjects(session, 1);
  lib.C_FindObjectsFinal(session);
  return key;
}

function pkcs11jsLoop(fx: NativeFixture): number {
  const t = fx.tokens[0];
  const lib = fx.softhsm;
  const session = lib.C_OpenSession(t.slot, pkcs11js.CKF_SERIAL_SESSION);
  const key = privateKey(lib, session, t.keyLabel);
  const input = sha256DigestInfo(randomBytes(32));
  const out = Buffer.alloc(256);
  let count = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  while (performance.now() < end) {
    lib.C_SignInit(session, { mechanism: pkcs11js.CKM_RSA_PKCS }, key);
    lib.C_Sign(session, input, out);
    count++;
  }
  const rate = count / ((performance.now() - started) / 1000);
  lib.C_CloseSession(session);
  return rate;
}

async function pkcs11jsAsync(fx: NativeFixture): Promise<number> {
  const t = fx.tokens[0];
  const lib = fx.softhsm;
  const input = sha256DigestInfo(randomBytes(32));
  const sessions = Array.from({ length: cores }, () => lib.C_OpenSession(t.slot, pkcs11js.CKF_SERIAL_SESSION));
  const key = privateKey(lib, sessions[0], t.keyLabel);
  let count = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    sessions.map(async (session) => {
      while (performance.now() < end) {
        lib.C_SignInit(session, { mechanism: pkcs11js.CKM_RSA_PKCS }, key);
        await lib.C_SignAsync(session, input, Buffer.alloc(256));
        count++;
      }
    }),
  );
  const rate = count / ((performance.now() - started) / 1000);
  sessions.forEach((s) => lib.C_CloseSession(s));
  return rate;
}

async function nativeCore(fx: NativeFixture): Promise<number> {
  const core = loadNativeCore();
  if (!core) throw new Error('native core not built');
  const t = fx.tokens[0];
  const pool = await core.NativeSignerPool.open({ modulePath: fx.softhsmPath, slotId: t.slot, keyLabel: t.keyLabel, sessions: cores });
  const data = Array.from({ length: 256 }, () => randomBytes(32));
  const batch = data.map(sha256DigestInfo);
  const first = await pool.signBatch(batch);
  if (!first.every((sig, i) => verifies(t.publicKey, data[i], sig))) throw new Error('a native signature does not verify');
  let count = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  while (performance.now() < end) count += (await pool.signBatch(batch)).length;
  const rate = count / ((performance.now() - started) / 1000);
  await pool.close();
  return rate;
}

function csign(fx: NativeFixture): number {
  const t = fx.tokens[0];
  const out = execFileSync(
    path.join(nativeBuildDir(), 'csign'),
    ['--module', fx.softhsmPath, '--token', t.label, '--key', t.keyLabel, '--threads', String(cores), '--seconds', String(seconds)],
    { env: { ...process.env, CSIGN_PIN: fx.pin }, encoding: 'utf8' },
  );
  return (JSON.parse(out) as { signaturesPerSecond: number }).signaturesPerSecond;
}

async function main(): Promise<void> {
  const fx = NativeFixture.create(['measure']);
  try {
    const results = {
      cores,
      seconds,
      pkcs11jsSyncLoop: pkcs11jsLoop(fx),
      pkcs11jsAsyncPerCore: await pkcs11jsAsync(fx),
      nativeCore: await nativeCore(fx),
      csign: csign(fx),
    };
    const rows: [string, number][] = [
      ['pkcs11js C_Sign loop (1 session, main thread)', results.pkcs11jsSyncLoop],
      [`pkcs11js C_SignAsync (${cores} sessions)`, results.pkcs11jsAsyncPerCore],
      [`native core, batches of 256 (${cores} sessions)`, results.nativeCore],
      [`csign, limit B (${cores} threads)`, results.csign],
    ];
    for (const [name, rate] of rows) {
      console.log(`${name.padEnd(52)} ${rate.toFixed(0).padStart(7)} sig/s  ${((rate / results.csign) * 100).toFixed(0).padStart(4)}% of csign`);
    }
    console.log(JSON.stringify(results));
  } finally {
    fx.dispose();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
