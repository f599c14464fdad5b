import { Worker } from 'node:worker_threads';

/**
 * Runs in a worker thread: its own pkcs11js instance opens the same library (dlopen shares the loaded
 * instance, so the session and the login are the process's), then waits in C_Login for the PIN pad.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const pkcs11js = require(workerData.pkcs11js);
const lib = new pkcs11js.PKCS11();
try {
  lib.load(workerData.modulePath);
  lib.C_Login(Buffer.from(workerData.session), workerData.userType, '');
  parentPort.postMessage({ rv: 0 });
} catch (err) {
  parentPort.postMessage({ rv: typeof err.code === 'number' && err.code !== 0 ? err.code : -1, message: String(err && err.message) });
}
`;

/**
 * C_Login on a protected authentication path (PIN pad), off the main thread: the person may take many
 * seconds on the pad, and the event loop (a GUI's main process, a watcher's events) must go on meanwhile.
 * Resolves to the CK_RV, or rejects when the worker could not run at all.
 */
export function loginOnPinPad(modulePath: string, session: Buffer, userType: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { pkcs11js: require.resolve('pkcs11js'), modulePath, session: Buffer.from(session), userType },
    });
    let settled = false;
    worker.once('message', (message: { rv: number; message?: string }) => {
      settled = true;
      if (message.rv === -1) reject(new Error(`PIN pad login failed: ${message.message}`));
      else resolve(message.rv);
    });
    worker.once('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the PIN pad login thread ended (exit ${code})`));
    });
  });
}
