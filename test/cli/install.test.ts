import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, vector } from '../helpers/paths';

/**
 * Issue 10, item 20: openctl on the PATH, and the Node versions that install without warnings. The engines check is
 * scripts/check-engines.js (what npm would warn about, read from every installed package.json).
 */
const run = promisify(execFile);
const CHECK = path.join(REPO_ROOT, 'scripts', 'check-engines.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const semver = require('semver') as { minVersion(range: string): { version: string } | null };

interface EngineMismatch {
  node: string;
  package: string;
  requires: string;
  dev: boolean;
}
interface EngineReport {
  engines: string;
  checked: string[];
  packages: number;
  mismatches: EngineMismatch[];
}

async function checkEngines(args: string[]): Promise<{ code: number; report: EngineReport }> {
  try {
    const { stdout } = await run(process.execPath, [CHECK, '--json', ...args], { cwd: REPO_ROOT });
    return { code: 0, report: JSON.parse(stdout) as EngineReport };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? -1, report: JSON.parse(e.stdout ?? '{}') as EngineReport };
  }
}

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; engines: { node: string }; bin: Record<string, string> };
const README = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

describe('install: Node versions and engines (issue 10 item 20)', function () {
  this.timeout(60_000);

  it("the lowest Node that package.json's engines admit installs every dependency without an EBADENGINE warning", async () => {
    const lowest = semver.minVersion(pkg.engines.node)!.version;
    const { code, report } = await checkEngines(['--node', lowest]);
    assert.ok(report.packages > 100, `checked ${report.packages} packages`);
    assert.deepEqual(report.mismatches.map((m) => `${m.package} requires ${m.requires}`), [], `on Node ${lowest}`);
    assert.equal(code, 0);
    // The current LTS lines too, so that a too-wide range in a dependency does not hide behind the minimum.
    const lts = await checkEngines(['--node', '22.12.0', '--node', '24.0.0']);
    assert.deepEqual(lts.report.mismatches, []);
  });

  it('the README names the Node versions and, for Node 20, exactly the packages npm warns about', async () => {
    const { code, report } = await checkEngines(['--node', '20.20.2']);
    assert.equal(code, 1, 'Node 20 is below what Electron 45 asks for');
    const warned = [...new Set(report.mismatches.map((m) => m.package))].sort();
    assert.ok(report.mismatches.every((m) => m.dev), 'only the devDependency (Electron) tree asks for more than Node 20');
    const section = README.slice(README.indexOf('### Node.js versions'), README.indexOf('### Putting openctl on the PATH'));
    assert.ok(section.length > 100, 'README section "Node.js versions"');
    assert.match(section, new RegExp(pkg.engines.node.replace(/[.>=]/g, (c) => `\\${c}`)));
    const named = [...section.matchAll(/`(@?[a-z0-9@./-]+)@\d[^`]*`/g)].map((m) => m[1]!).sort();
    assert.deepEqual(named, warned, 'the README lists the packages that warn on Node 20');
    const prod = await checkEngines(['--node', '20.0.0', '--prod']);
    assert.deepEqual(prod.report.mismatches, [], 'the runtime dependencies (npm install -g of a packed tarball) fit Node 20');
  });

  it('check-engines refuses a bad version with exit 2', async () => {
    const r = await run(process.execPath, [CHECK, '--node', 'twenty'], { cwd: REPO_ROOT }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--node twenty: not a version/);
  });
});

describe('install: openctl on the PATH (npm link / npm install -g . from a checkout)', function () {
  this.timeout(120_000);

  it('runs through the symlinks npm link makes, from any folder', async () => {
    // What `npm link` makes under its prefix: lib/node_modules/openctl -> the checkout, bin/openctl -> its bin script.
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-prefix-'));
    try {
      fs.mkdirSync(path.join(prefix, 'lib', 'node_modules'), { recursive: true });
      fs.mkdirSync(path.join(prefix, 'bin'));
      fs.symlinkSync(REPO_ROOT, path.join(prefix, 'lib', 'node_modules', 'openctl'));
      fs.symlinkSync(path.join('..', 'lib', 'node_modules', 'openctl', pkg.bin.openctl!), path.join(prefix, 'bin', 'openctl'));
      const env = { ...process.env, PATH: `${path.join(prefix, 'bin')}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}/usr/bin:/bin` };
      const version = await run('openctl', ['--version'], { cwd: prefix, env });
      assert.equal(version.stdout.trim(), pkg.version);
      const shown = await run('openctl', ['show', '--summary', vector('ITLFile-sha1.tlv')], { cwd: os.tmpdir(), env });
      assert.match(shown.stdout, /\(ITL\).*\n3 records:/);
      const bin = fs.readFileSync(path.join(REPO_ROOT, pkg.bin.openctl!), 'utf8');
      assert.ok(bin.startsWith('#!/usr/bin/env node\n'), 'a shebang npm can link');
      assert.ok((fs.statSync(path.join(REPO_ROOT, pkg.bin.openctl!)).mode & 0o111) !== 0, 'executable in the checkout');
    } finally {
      fs.rmSync(prefix, { recursive: true, force: true });
    }
  });

  it('npm pack puts the launcher and the compiled CLI in the tarball (npm install -g openctl-*.tgz)', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
    const files = new Set((JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
    for (const needed of [pkg.bin.openctl!, 'dist/src/cli/main.js', 'package.json', 'native-bindings/scripts/install.js']) {
      assert.ok(files.has(needed), `${needed} in the tarball`);
    }
  });
});
