/**
 * Electron's main process: owns PKCS#11, files and signing through the GuiService (src/gui), and nothing else.
 * The window is a sandboxed, context-isolated renderer without Node; it reaches the service only through the
 * preload's contract API, and every IPC message's sender is checked. No remote content, no navigation, no new
 * windows, no permissions.
 */
import { app, BrowserWindow, dialog, ipcMain, protocol, session, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { GuiService } from '../../src/gui/service';
import { registerIpcHandlers, eventMessage } from '../../src/gui/ipc';
import { IPC_EVENT_CHANNEL, type RequestOf } from '../../src/gui/contract';
import { CONTENT_SECURITY_POLICY } from '../../src/gui/csp';
import type { FileChoice } from '../../src/gui/types';

const SCHEME = 'app';
const HOST = 'openctl';
const START_URL = `${SCHEME}://${HOST}/index.html`;
const RENDERER_DIR = path.resolve(__dirname, '..', 'renderer');
const PRELOAD = path.resolve(__dirname, '..', 'preload', 'preload.bundle.js');
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

// Must run before `ready`: our pages come from app://openctl, a standard, secure origin of their own.
protocol.registerSchemesAsPrivileged([{ scheme: SCHEME, privileges: { standard: true, secure: true } }]);
app.enableSandbox();
// Started as `electron dist/electron/main/main.js` there is no package.json beside us: name the app, so its data
// folder (demo tokens) is the one web mode uses too (src/gui/paths.ts userDataDir).
app.setName('openctl');
app.setPath('userData', process.env.OPENCTL_DATA_DIR ?? path.join(app.getPath('appData'), 'openctl'));

function isAppUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${SCHEME}:` && parsed.host === HOST;
  } catch {
    return false;
  }
}

/** Only our own top-level page may call the service: not a subframe, not another origin. */
function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame === event.sender.mainFrame && isAppUrl(frame.url);
}

async function serveAppFile(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.host !== HOST) return new Response('not found', { status: 404 });
  let relative: string;
  try {
    relative = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
  } catch {
    return new Response('not found', { status: 404 });
  }
  const file = path.resolve(RENDERER_DIR, relative);
  const type = CONTENT_TYPES[path.extname(file)];
  if (!file.startsWith(RENDERER_DIR + path.sep) || !type) return new Response('not found', { status: 404 });
  try {
    const body = await fs.readFile(file);
    return new Response(body, {
      headers: { 'Content-Type': type, 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff' },
    });
  } catch {
    return new Response('not found', { status: 404 });
  }
}

function lockDown(contents: WebContents): void {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

async function choose(window: BrowserWindow | undefined, request: RequestOf<'chooseFile'>): Promise<FileChoice> {
  const options = { title: request.title, defaultPath: request.defaultPath };
  if (request.kind === 'save') {
    const result = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
    return { path: result.canceled ? undefined : result.filePath };
  }
  const properties: Array<'openFile' | 'openDirectory' | 'createDirectory'> =
    request.kind === 'folder' ? ['openDirectory', 'createDirectory'] : ['openFile'];
  const result = window
    ? await dialog.showOpenDialog(window, { ...options, properties })
    : await dialog.showOpenDialog({ ...options, properties });
  return { path: result.canceled ? undefined : result.filePaths[0] };
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 860,
    minWidth: 900,
    minHeight: 600,
    title: 'openctl',
    show: false,
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      disableBlinkFeatures: 'Auxclick',
      safeDialogs: true,
      spellcheck: false,
      devTools: !app.isPackaged,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(START_URL);
  return window;
}

app.on('web-contents-created', (_event, contents) => lockDown(contents));

app.whenReady().then(async () => {
  const appSession = session.defaultSession;
  appSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  appSession.setPermissionCheckHandler(() => false);
  // No remote content: anything that is not our own app:// page (or devtools) is cancelled.
  appSession.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isAppUrl(details.url) || details.url.startsWith('devtools://');
    callback({ cancel: !allowed });
  });
  protocol.handle(SCHEME, serveAppFile);

  let window: BrowserWindow | undefined;
  const service = new GuiService({
    mode: 'electron',
    version: app.getVersion(),
    dataDir: app.getPath('userData'),
    dialogs: { choose: (request) => choose(window, request) },
  });
  registerIpcHandlers(ipcMain, service, isTrustedSender);
  service.events.subscribe((name, payload) => {
    for (const w of BrowserWindow.getAllWindows()) {
      if (!w.isDestroyed() && isAppUrl(w.webContents.getURL())) w.webContents.send(IPC_EVENT_CHANNEL, eventMessage(name, payload));
    }
  });
  await service.start();
  window = createWindow();

  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) window = createWindow();
  });
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', (event) => {
    event.preventDefault();
    app.removeAllListeners('will-quit');
    void service.close().finally(() => app.exit(0));
  });
}).catch((err: unknown) => {
  dialog.showErrorBox('openctl', `openctl could not start: ${err instanceof Error ? err.message : String(err)}`);
  app.exit(1);
});
