import { createClient, type GuiClient } from '../../src/gui/client';
import { createWebTransport } from './web-transport';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in web mode. */
    openctl?: GuiClient;
  }
}

/** The contract's API: the preload's in Electron, the HTTP bridge in a browser. Both are generated from the contract. */
export function connectApi(): GuiClient {
  return window.openctl ?? createClient(createWebTransport());
}
