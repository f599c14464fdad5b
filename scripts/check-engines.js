#!/usr/bin/env node
'use strict';
/**
 * Which installed packages would npm warn about (EBADENGINE) on a given Node version? Reads the `engines.node` of
 * every package in package-lock.json from its installed package.json (the lock's copy when it is not installed)
 * and checks it against the versions asked for: by default the lowest Node that openctl's own package.json
 * `engines.node` admits, and the Node running this script.
 *
 *   node scripts/check-engines.js [--node VERSION]... [--prod] [--json]
 *
 * --prod leaves out devDependencies (what `npm install -g openctl-*.tgz` installs). Exit 0 when every package
 * admits every version, 1 otherwise (one line per package and version), 2 on bad usage.
 */
const fs = require('node:fs');
const path = require('node:path');
const semver = require('semver');

const root = path.resolve(__dirname, '..');

function parseArgs(argv) {
  const options = { versions: [], prod: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--prod') options.prod = true;
    else if (a === '--json') options.json = true;
    else if (a === '--node' && argv[i + 1] !== undefined) options.versions.push(argv[++i]);
    else throw new Error(`unknown argument ${a} (usage: check-engines.js [--node VERSION]... [--prod] [--json])`);
  }
  return options;
}

function engineOf(pkg) {
  const engines = pkg && pkg.engines;
  return engines && typeof engines === 'object' && !Array.isArray(engines) && typeof engines.node === 'string' ? engines.node : undefined;
}

/** Every package of the lock file: name, version, its engines.node range, dev or not. */
function lockedPackages() {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const out = [];
  for (const [where, entry] of Object.entries(lock.packages || {})) {
    if (where === '' || entry.link) continue;
    let installed;
    try {
      installed = JSON.parse(fs.readFileSync(path.join(root, where, 'package.json'), 'utf8'));
    } catch {
      installed = undefined; // not installed here (an optional dependency of another platform): trust the lock
    }
    const name = where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    out.push({ name, where, version: (installed && installed.version) || entry.version, range: engineOf(installed) ?? engineOf(entry), dev: Boolean(entry.dev), optional: Boolean(entry.optional) });
  }
  return out;
}

function check(options) {
  const own = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const ownRange = engineOf(own);
  const versions = options.versions.length > 0 ? options.versions : [...new Set([ownRange && semver.minVersion(ownRange)?.version, process.versions.node].filter(Boolean))];
  for (const v of versions) if (!semver.valid(v)) throw new Error(`--node ${v}: not a version such as 22.12.0`);
  const packages = lockedPackages().filter((p) => !(options.prod && p.dev));
  const mismatches = [];
  for (const version of versions) {
    for (const p of packages) {
      if (p.range && !semver.satisfies(version, p.range, { includePrerelease: true })) mismatches.push({ node: version, package: p.name, version: p.version, requires: p.range, dev: p.dev, optional: p.optional });
    }
  }
  return { engines: ownRange ?? null, checked: versions, packages: packages.length, mismatches };
}

function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`check-engines: ${err.message}\n`);
    process.exit(2);
  }
  let result;
  try {
    result = check(options);
  } catch (err) {
    process.stderr.write(`check-engines: ${err.message}\n`);
    process.exit(2);
  }
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`openctl engines.node ${result.engines}; ${result.packages} packages checked against Node ${result.checked.join(', ')}\n`);
    for (const m of result.mismatches) {
      process.stdout.write(`Node ${m.node}: ${m.package}@${m.version} requires node ${m.requires}${m.dev ? ' (devDependency tree)' : ''}\n`);
    }
    if (result.mismatches.length === 0) process.stdout.write('no EBADENGINE warnings expected\n');
  }
  process.exit(result.mismatches.length === 0 ? 0 : 1);
}

if (require.main === module) main();
module.exports = { check };
