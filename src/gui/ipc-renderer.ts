/**
 * The Electron transport, preload side: one ipcRenderer.invoke per contract method, one channel for events.
 * Bundled into the sandboxed preload: no Node imports.
 */
import { IPC_EVENT_CHANNEL, IPC_PREFIX, type Envelope } from './contract';
import { isEventName, type Transport } from './client';

export interface IpcRendererLike {
  invoke(channel: string, request: unknown): Promise<unknown>;
  on(channel: string, listener: (event: unknown, message: unknown) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, message: unknown) => void): unknown;
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

