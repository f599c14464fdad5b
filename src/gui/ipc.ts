/**
 * The Electron transport, main side, generated from the contract by a loop (the preload side is ipc-renderer.ts).
 * Electron itself is not imported here (nothing under src/ imports it): electron/main passes its ipcMain, typed by
 * the few members used.
 */
import { IPC_PREFIX, METHOD_NAMES, type Envelope, type EventName, type GuiApi } from './contract';
import { dispatch } from './dispatch';
import { ExitCode } from '../util/errors';

/** The part of an IpcMainInvokeEvent that the sender check reads. */
export interface InvokeEventLike {
  senderFrame: { url: string } | null;
}

export interface IpcMainLike<E extends InvokeEventLike> {
  handle(channel: string, listener: (event: E, request: unknown) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

/**
 * One ipcMain handler per contract method; every message's sender is checked before its request is even parsed.
 * Returns a function that removes them.
 */
export function registerIpcHandlers<E extends InvokeEventLike>(
  ipcMain: IpcMainLike<E>,
  service: GuiApi,
  isTrustedSender: (event: E) => boolean,
): () => void {
  for (const name of METHOD_NAMES) {
    ipcMain.handle(IPC_PREFIX + name, async (event, request): Promise<Envelope<unknown>> => {
      if (!isTrustedSender(event)) {
        return { ok: false, error: { message: 'refused: the request did not come from the openctl window', code: ExitCode.BadInput } };
      }
      return dispatch(service, name, request);
    });
  }
  return () => {
    for (const name of METHOD_NAMES) ipcMain.removeHandler(IPC_PREFIX + name);
  };
}

/** The message main sends on IPC_EVENT_CHANNEL. */
export function eventMessage(name: EventName, payload: unknown): { name: EventName; payload: unknown } {
  return { name, payload };
}
