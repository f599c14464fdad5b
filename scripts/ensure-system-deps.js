#!/usr/bin/env node
'use strict';
/**
 * Makes sure the system packages openctl's demo (`npm start`) and tests (`npm test`, with --test) need are present,
 * so that the README's quick start stays two commands. As root with apt-get (CI, containers, fresh VMs) it installs
 * what is missing; elsewhere it names the missing packages in one line. It never reinstalls what is there.
 * For `npm start` nothing here is fatal: hardware tokens need no SoftHSM.
 */
const { existsSync } = require('node:fs');
const { spawnSync } = require('node:child_process');

const forTests = process.argv.includes('--test');
const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const SOFTHSM = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
  '/opt/homebrew/lib/softhsm/libsofthsm2.so',
];

if (process.platform !== 'linux') process.exit(0); // macOS/Windows: the README says what to install

const want = [];
if (!SOFTHSM.some((p) => existsSync(p))) want.push('softhsm2');
if (forTests) {
  if (!onPath('chromium') && !onPath('chromium-browser')) want.push('chromium');
  if (!onPath('pkcs11-tool')) want.push('opensc');
  if (!onPath('openssl')) want.push('openssl');
  if (!onPath('gcc') || !onPath('make')) want.push('build-essential');
  if (!onPath('python3')) want.push('python3');
  // The TVS/CAPF store tests start their own PostgreSQL server from the package's binaries.
  const pgRoot = '/usr/lib/postgresql';
  const hasPg = existsSync(pgRoot) && require('node:fs').readdirSync(pgRoot).some((v) => existsSync(`${pgRoot}/${v}/bin/initdb`));
  if (!hasPg && !onPath('initdb')) want.push('postgresql');
}
if (want.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && onPath('apt-get')) {
  console.error(`openctl: installing ${want.join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  const install = update.status === 0 && spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...want], { stdio: 'ignore', env });
  if (install && install.status === 0) process.exit(0);
  console.error(`openctl: could not install ${want.join(' ')}`);
  process.exit(forTests ? 1 : 0);
}
console.error(`openctl: missing system packages: ${want.join(' ')} (sudo apt-get install ${want.join(' ')})`);
process.exit(forTests ? 1 : 0);
