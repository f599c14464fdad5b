/**
 * The preload: exposes the contract's API (generated from src/gui/contract.ts) to the page as `window.openctl`,
 * and nothing else: no ipcRenderer, no Node. Bundled by electron/build-renderer.js, since a sandboxed preload can
 * require only 'electron'.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { createClient } from '../../src/gui/client';
import { createIpcTransport } from '../../src/gui/ipc-renderer';

contextBridge.exposeInMainWorld('openctl', createClient(createIpcTransport(ipcRenderer)));
