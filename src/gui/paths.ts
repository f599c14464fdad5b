import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The package root, from this file's compiled place (dist/src/gui) or its source place (src/gui). */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', ...(path.basename(path.resolve(__dirname, '..', '..')) === 'dist' ? ['..'] : []));

/** The built renderer (electron/build-renderer.js writes it). */
export const RENDERER_DIR = path.join(PACKAGE_ROOT, 'dist', 'electron', 'renderer');

/** Electron's binary when the electron package downloaded it here (the package alone is not enough). */
export function findElectronBinary(root: string = PACKAGE_ROOT): string | undefined {
  const pkgDir = path.join(root, 'node_modules', 'electron');
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  try {
    const relative = fs.readFileSync(path.join(pkgDir, 'path.txt'), 'utf8').trim();
    const binary = override ? path.join(override, relative) : path.join(pkgDir, 'dist', relative);
    return fs.existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

/** The user's data folder for openctl (demo tokens live here), as Electron's app.getPath('userData') would be. */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.OPENCTL_DATA_DIR) return env.OPENCTL_DATA_DIR;
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'openctl');
  if (platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'openctl');
  return path.join(env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'openctl');
}

export function rendererBuilt(dir: string = RENDERER_DIR): boolean {
  return fs.existsSync(path.join(dir, 'index.html')) && fs.existsSync(path.join(dir, 'app.js'));
}

/**
 * Where outputs are suggested before the person has chosen a folder: their Documents folder when it exists
 * (XDG_DOCUMENTS_DIR on Linux), else their home folder; never the folder the app was started from.
 */
export function documentsFolder(home: string, platform: NodeJS.Platform, env: NodeJS.ProcessEnv = process.env): string {
  const xdg = platform === 'linux' ? env.XDG_DOCUMENTS_DIR?.replace(/^\$HOME/, home) : undefined;
  for (const candidate of [xdg, path.join(home, 'Documents')]) {
    if (candidate && fs.existsSync(candidate) && fs.statSync(candidate).isDirectory()) return candidate;
  }
  return home;
}
