import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers/paths';

const TOOL_DIR = path.join(REPO_ROOT, 'tools', 'electronegativity');

interface Finding {
  id: string;
  severity: string;
  confidence: string;
  file: string;
  line?: number;
  description: string;
}

/** Electronegativity lives in its own install folder (its old dependency tree must not mix with ours). */
function ensureTool(): void {
  if (fs.existsSync(path.join(TOOL_DIR, 'node_modules', '@doyensec', 'electronegativity'))) return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: TOOL_DIR, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`cannot install electronegativity in ${TOOL_DIR}: ${result.stderr}`);
}

describe('gui: Electron security static check (electronegativity)', function () {
  this.timeout(240_000);
  let findings: Finding[];
  let checks: number;

  before(() => {
    ensureTool();
    const electronVersion = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string }).version;
    const out = execFileSync(process.execPath, [path.join(TOOL_DIR, 'scan.js'), path.join(REPO_ROOT, 'electron'), electronVersion], { encoding: 'utf8' });
    const parsed = JSON.parse(out) as { checks: number; errors: string[]; findings: Finding[] };
    assert.deepEqual(parsed.errors, [], 'every file parsed');
    findings = parsed.findings;
    checks = parsed.checks;
  });

  it('ran its checks over main, preload and renderer', () => {
    assert.ok(checks >= 30, `${checks} checks`);
  });

  it('finds nothing of HIGH (or CRITICAL) severity', () => {
    const high = findings.filter((f) => f.severity === 'HIGH' || f.severity === 'CRITICAL');
    assert.deepEqual(high.map((f) => `${f.id} ${f.file}:${f.line} ${f.description}`), []);
  });

  it('the main process states the window\'s security settings and guards explicitly', () => {
    const main = fs.readFileSync(path.join(REPO_ROOT, 'electron', 'main', 'main.ts'), 'utf8');
    for (const setting of ['contextIsolation: true', 'sandbox: true', 'nodeIntegration: false', 'webSecurity: true', 'webviewTag: false', 'allowRunningInsecureContent: false']) {
      assert.ok(main.includes(setting), setting);
    }
    assert.match(main, /setWindowOpenHandler\(\(\) => \(\{ action: 'deny' \}\)\)/);
    assert.match(main, /'will-navigate', \(event\) => event\.preventDefault\(\)/);
    assert.match(main, /registerIpcHandlers\(ipcMain, service, isTrustedSender\)/);
    assert.match(main, /setPermissionRequestHandler/);
    assert.doesNotMatch(main, /nodeIntegration: true|contextIsolation: false|sandbox: false|webSecurity: false/);
  });
});
