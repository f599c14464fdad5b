import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { log, out } from '../io';
import { ExitCode, OpenctlError } from '../../util/errors';
import { GuiService } from '../../gui/service';
import { startWebServer } from '../../gui/web-server';
import { PACKAGE_ROOT, RENDERER_DIR, findElectronBinary, rendererBuilt, userDataDir } from '../../gui/paths';

const VERSION: string = (require('../../../../package.json') as { version: string }).version;

interface GuiOptions {
  web?: boolean;
  port: string;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('gui')
    .description('open the desktop app (Electron); with --web, serve it to a browser on 127.0.0.1 and print its URL')
    .option('--web', 'serve the app on 127.0.0.1 instead of opening a window (headless hosts, SSH tunnels)')
    .option('--port <n>', 'with --web: the port (0 picks a free one)', '0')
    .action(async (opts: GuiOptions) => {
      const port = parsePort(opts.port);
      if (!rendererBuilt()) throw new OpenctlError(`${RENDERER_DIR}: the app is not built: run npm run build`);
      const electron = opts.web ? undefined : findElectronBinary();
      if (electron) {
        ctx.setExitCode(await runElectron(electron, ctx));
        return;
      }
      if (!opts.web) log(ctx.io, 'openctl gui: Electron is not installed here; serving the app to a browser instead');
      await serveWeb(port, ctx);
    });
}

function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new OpenctlError(`--port must be 0 to 65535, not "${value}"`);
  return Number(value);
}

/** Serve until SIGINT/SIGTERM; the URL (with its session token) is the only line on stdout. */
async function serveWeb(port: number, ctx: CliContext): Promise<void> {
  const service = new GuiService({ mode: 'web', version: VERSION, dataDir: userDataDir(ctx.io.env), env: ctx.io.env });
  await service.start();
  let server;
  try {
    server = await startWebServer({ service, events: service.events, rendererDir: RENDERER_DIR, port });
  } catch (err) {
    await service.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new OpenctlError(`cannot listen on 127.0.0.1:${port}: ${code === 'EADDRINUSE' ? 'the port is in use' : String(err)}`);
  }
  out(ctx.io, server.url);
  log(ctx.io, `openctl gui: serving on 127.0.0.1:${server.port} only (open the URL above; Ctrl-C stops)`);
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  await service.close();
  ctx.setExitCode(ExitCode.Ok);
}

function runElectron(binary: string, ctx: CliContext): Promise<number> {
  const main = path.join(PACKAGE_ROOT, 'dist', 'electron', 'main', 'main.js');
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [main], { stdio: 'inherit', env: ctx.io.env });
    const stop = () => child.kill('SIGTERM');
    ctx.signal.addEventListener('abort', stop, { once: true });
    child.once('error', (err) => reject(new OpenctlError(`cannot start Electron (${binary}): ${err.message}`)));
    child.once('exit', (code) => {
      ctx.signal.removeEventListener('abort', stop);
      resolve(code ?? ExitCode.Ok);
    });
  });
}
