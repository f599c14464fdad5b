/**
 * The Electron transport, both ends, generated from the contract by a loop. Electron itself is not imported here
 * (nothing under src/ imports it): electron/main passes its ipcMain, electron/preload its ipcRenderer, typed by
 * the few members used.
 */
import { IPC_EVENT_CHANNEL, IPC_PREFIX, METHOD_NAMES, type Envelope, type EventName, type GuiApi } from './contract';
import type { Transport } from './client';
import { isEventName } from './client';
import { dispatch } from './dispatch';
import { ExitCode } from '../util/errors';

/** The part of an IpcMainInvokeEvent that the sender check reads. */
export interface InvokeEventLike {
  senderFrame: { url: string } | null;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, request: unknown) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

export interface IpcRendererLike {
  invoke(channel: string, request: unknown): Promise<unknown>;
  on(channel: string, listener: (event: unknown, message: unknown) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, message: unknown) => void): unknown;
}

/**
 * One ipcMain handler per contract method; every message's sender is checked before its request is even parsed.
 * Returns a function that removes them.
 */
export function registerIpcHandlers(
  ipcMain: IpcMainLike,
  service: GuiApi,
  isTrustedSender: (event: InvokeEventLike) => boolean,
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

/** The preload's transport: invoke per method, one channel for events. */
export function createIpcTransport(ipcRenderer: IpcRendererLike): Transport {
  return {
    call: (name, request) => ipcRenderer.invoke(IPC_PREFIX + name, request) as Promise<Envelope<unknown>>,
    subscribe(listener) {
      const onMessage = (_event: unknown, message: unknown) => {
        const m = message as { name?: unknown; payload?: unknown } | null;
        if (m && isEventName(m.name)) listener(m.name, m.payload);
      };
      ipcRenderer.on(IPC_EVENT_CHANNEL, onMessage);
      return () => {
        ipcRenderer.removeListener(IPC_EVENT_CHANNEL, onMessage);
      };
    },
  };
}

/** The message main sends on IPC_EVENT_CHANNEL. */
export function eventMessage(name: EventName, payload: unknown): { name: EventName; payload: unknown } {
  return { name, payload };
}
