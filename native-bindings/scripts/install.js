#!/usr/bin/env node
'use strict';
/*
 * The package's npm "install" hook: builds native-bindings/ (the N-API signing core, the test PKCS#11 module and
 * csign) with node-gyp. It never fails the install: without a compiler, headers or node-gyp it prints one line and
 * exits 0, and openctl signs through pkcs11js instead (src/pipeline/native-core.ts finds no addon).
 *
 *   OPENCTL_SKIP_NATIVE=1   skip the build
 *   OPENCTL_NATIVE_STRICT=1 exit 1 when the build fails (CI that must have the native core)
 * The full compiler output goes to native-bindings/build-native.log.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dir = path.resolve(__dirname, '..');
const logFile = path.join(dir, 'build-native.log');
const products = ['openctl_native.node', 'openctl_files.node', 'libopenctl-testp11.so', 'csign'];
const rel = path.relative(process.cwd(), dir) || '.';

function done(ok, line) {
  console.log(`openctl: ${line}`);
  process.exit(ok || process.env.OPENCTL_NATIVE_STRICT !== '1' ? 0 : 1);
}

/** npm's own node-gyp: npm hands its path to lifecycle scripts; otherwise look where npm keeps it. */
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [dir, process.cwd()] }));
  } catch {
    /* not a dependency: fine */
  }
  if (process.env.npm_execpath) {
    candidates.push(path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => c && fs.existsSync(c));
}

/** Headers installed with this very node (distribution packages) spare node-gyp a download. */
function localNodeDir() {
  if (process.env.npm_config_nodedir) return undefined;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const versionFile = path.join(prefix, 'include', 'node', 'node_version.h');
  if (!fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi')) || !fs.existsSync(versionFile)) return undefined;
  const text = fs.readFileSync(versionFile, 'utf8');
  const part = (name) => (text.match(new RegExp(`#define NODE_${name}_VERSION (\\d+)`)) || [])[1];
  return `v${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}` === process.version ? prefix : undefined;
}

function hasCompiler() {
  const cc = process.env.CC || 'cc';
  return spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0;
}

if (process.env.OPENCTL_SKIP_NATIVE === '1') done(true, 'native core not built (OPENCTL_SKIP_NATIVE=1): signing uses pkcs11js');
if (!hasCompiler()) done(false, 'native core not built (no C compiler found): signing uses pkcs11js');
const nodeGyp = findNodeGyp();
if (!nodeGyp) done(false, 'native core not built (node-gyp not found): signing uses pkcs11js');

const args = [nodeGyp, 'rebuild', '--jobs', 'max'];
const nodedir = localNodeDir();
if (nodedir) args.push(`--nodedir=${nodedir}`);
const result = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
fs.writeFileSync(logFile, `${args.join(' ')}\n${result.stdout || ''}${result.stderr || ''}${result.error ? String(result.error) : ''}\n`);
const missing = products.filter((p) => !fs.existsSync(path.join(dir, 'build', 'Release', p)));
if (result.status !== 0 || missing.length > 0) {
  const why = result.status !== 0 ? `node-gyp exited ${result.status}` : `missing ${missing.join(', ')}`;
  done(false, `native core not built (${why}, see ${path.join(rel, 'build-native.log')}): signing uses pkcs11js`);
}
done(true, `native core built (${path.join(rel, 'build', 'Release')}: ${products.join(', ')})`);
