/**
 * The renderer-side API, generated from the contract over any transport: the Electron preload (ipcRenderer.invoke)
 * or the web bridge (fetch). Bundled into the renderer and the preload: no Node or Electron imports here.
 */
import { EVENT_NAMES, METHOD_NAMES, type Envelope, type EventName, type GuiApi, type MethodName } from './contract';
import type { GuiEvents } from './types';

/** How a transport moves one call and subscribes to the event stream. */
export interface Transport {
  call(name: MethodName, request: unknown): Promise<Envelope<unknown>>;
  subscribe(listener: (name: EventName, payload: unknown) => void): () => void;
}

/** A failed call: `message` is one line for a person; `code` follows the CLI's exit codes (3 = token problem). */
export class GuiCallError extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
    this.name = 'GuiCallError';
  }
}

export interface GuiClient extends GuiApi {
  on<E extends EventName>(name: E, listener: (payload: GuiEvents[E]) => void): () => void;
}

export function createClient(transport: Transport): GuiClient {
  const api: Record<string, unknown> = {};
  for (const name of METHOD_NAMES) {
    api[name] = async (request: unknown) => {
      const envelope = await transport.call(name, request ?? {});
      if (envelope.ok) return envelope.value;
      throw new GuiCallError(envelope.error.message, envelope.error.code);
    };
  }
  api.on = <E extends EventName>(name: E, listener: (payload: GuiEvents[E]) => void) =>
    transport.subscribe((event, payload) => {
      if (event === name) listener(payload as GuiEvents[E]);
    });
  return api as unknown as GuiClient;
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && (EVENT_NAMES as readonly string[]).includes(name);
}
