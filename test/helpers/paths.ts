import * as path from 'node:path';
import * as fs from 'node:fs';

/** The repository root, found from the compiled test's location (dist/test/...) or, failing that, the cwd. */
function findRepoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if (JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'openctl') return dir;
      } catch {
        /* keep walking */
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

export const REPO_ROOT = findRepoRoot();
export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');
export const VECTORS = path.join(FIXTURES, 'vectors');
export const CLI_BIN = path.join(REPO_ROOT, 'bin', 'openctl.js');

export function vector(...parts: string[]): string {
  return path.join(VECTORS, ...parts);
}
