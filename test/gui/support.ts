/**
 * Shared set-up of the GUI tests: the web mode as a real child process (`node bin/openctl.js gui --web --port 0`,
 * its URL read from stdout), Debian's Chromium driven by playwright-core, screenshots into test-results/gui/.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CLI_BIN, REPO_ROOT } from '../helpers/paths';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-results', 'gui');

export interface WebGui {
  url: string;
  port: number;
  origin: string;
  token: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGTERM and wait; resolves to the exit code. */
  stop(): Promise<number | null>;
}

/** Start `openctl gui --web --port 0` and wait for the URL, which must be the first line on stdout. */
export function startWebGui(env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<WebGui> {
  const child = spawn(process.execPath, [CLI_BIN, 'gui', '--web', '--port', '0'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`openctl gui --web printed no URL within ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    const onData = () => {
      const newline = out.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      const url = out.slice(0, newline).trim();
      const parsed = new URL(url);
      resolve({
        url,
        port: Number(parsed.port),
        origin: parsed.origin,
        token: parsed.searchParams.get('token') ?? '',
        child,
        stdout: () => out,
        stderr: () => err,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`openctl gui --web exited (${code}) before printing its URL; stderr: ${err}`));
    });
  });
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Save a screenshot as test-results/gui/NAME.png (the best ones are copied to docs/screenshots/ for the README). */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  // The screens scroll inside the shell: let it grow to the page for a full-page picture, without the status bar
  // (CSSOM, which the page's CSP allows).
  await page.evaluate(`(() => {
    document.querySelector('.toasts')?.style.setProperty('display', 'none');
    document.querySelector('.shell')?.style.setProperty('height', 'auto');
    document.querySelector('.scroll')?.style.setProperty('overflow', 'visible');
  })()`);
  try {
    await page.screenshot({ path: file, fullPage: true });
  } finally {
    await page.evaluate(`(() => {
      document.querySelector('.toasts')?.style.removeProperty('display');
      document.querySelector('.shell')?.style.removeProperty('height');
      document.querySelector('.scroll')?.style.removeProperty('overflow');
    })()`);
  }
  return file;
}

/** An environment for the app's process: the test's SoftHSM, a private data folder, no PIN from the environment. */
export function appEnv(base: NodeJS.ProcessEnv, dataDir: string, modulePath?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, OPENCTL_DATA_DIR: dataDir };
  if (modulePath) env.OPENCTL_PKCS11_MODULE = modulePath;
  for (const key of Object.keys(env)) if (key.startsWith('OPENCTL_PIN')) delete env[key];
  return env;
}

/** The accessible-ish name of the focused element: its aria-label, its label, or its text. */
export function focusedName(page: Page): Promise<string> {
  // Runs in the page; typed by the few DOM members it reads (the tests compile without the DOM library).
  return page.evaluate(() => {
    interface El {
      getAttribute(name: string): string | null;
      textContent: string | null;
      labels?: ArrayLike<{ textContent: string | null }> | null;
    }
    const doc = (globalThis as unknown as { document: { activeElement: El | null; body: El } }).document;
    const el = doc.activeElement;
    if (!el || el === doc.body) return '';
    const aria = el.getAttribute('aria-label');
    if (aria) return aria;
    const labelled = el.labels && el.labels.length > 0 ? el.labels[0]!.textContent : null;
    if (labelled) return labelled.trim();
    return (el.textContent ?? '').trim();
  });
}

/**
 * Press Tab (or Shift+Tab) until the focused element's name matches, as a keyboard user would; fails after
 * `max` presses. Only key presses move the focus.
 */
export async function tabTo(page: Page, match: RegExp | string, options: { max?: number; back?: boolean } = {}): Promise<void> {
  const max = options.max ?? 120;
  const test = (name: string) => (typeof match === 'string' ? name === match : match.test(name));
  const seen: string[] = [];
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press(options.back ? 'Shift+Tab' : 'Tab');
    const name = await focusedName(page);
    if (test(name)) return;
    seen.push(name);
  }
  throw new Error(`no focusable element named ${String(match)} within ${max} Tab presses; saw: ${seen.slice(-15).join(' | ')}`);
}

/** The app in web mode with a Chromium page on it, at the Tokens screen; the page's script errors are collected. */
export interface AppPage {
  gui: WebGui;
  browser: Browser;
  page: Page;
  pageErrors: string[];
  close(): Promise<void>;
}

export async function openApp(env: NodeJS.ProcessEnv): Promise<AppPage> {
  const gui = await startWebGui(env);
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(gui.url);
    await page.getByRole('heading', { level: 2, name: 'Tokens' }).waitFor();
    const opened = browser;
    return { gui, browser: opened, page, pageErrors, close: async () => { await opened.close(); await gui.stop(); } };
  } catch (err) {
    await browser?.close();
    await gui.stop();
    throw err;
  }
}

/** In a describe: after each test, no script error in the page; a failed test leaves a screenshot `PREFIX-title`. */
export function checkPageAfterEach(app: () => AppPage | undefined, prefix: string): void {
  afterEach(function () {
    const opened = app();
    if (!opened) return undefined;
    assert.deepEqual(opened.pageErrors, [], 'no script error in the page');
    if (this.currentTest?.state === 'failed') {
      return screenshot(opened.page, `${prefix}-${(this.currentTest.title ?? '').slice(0, 20).replace(/\W+/g, '-')}`).then(() => undefined);
    }
    return undefined;
  });
}
