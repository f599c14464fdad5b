#!/usr/bin/env node
'use strict';
/**
 * Runs Electronegativity's checks on a folder and prints the findings as JSON, offline: its CLI fetches
 * translations and Electron's release list from the internet, so this wrapper loads the bundled English strings
 * instead and leaves out the one check that needs the release list (AvailableSecurityFixesGlobalCheck: we pin
 * Electron in package.json and update it with npm like any dependency).
 * Usage: node tools/electronegativity/scan.js DIR ELECTRON_VERSION
 */
const path = require('node:path');

const pkgDir = path.dirname(require.resolve('@doyensec/electronegativity/package.json'));
const i18nModule = path.join(pkgDir, 'dist', 'locales', 'i18n.js');
const i18n = require(require.resolve('i18n', { paths: [pkgDir] }));
require.cache[i18nModule] = {
  id: i18nModule,
  filename: i18nModule,
  loaded: true,
  exports: () => {
    i18n.configure({
      locales: ['en-US'],
      defaultLocale: 'en-US',
      directory: path.dirname(i18nModule),
      updateFiles: false,
      objectNotation: true,
      register: global,
    });
    i18n.setLocale('en-US');
    return Promise.resolve();
  },
};

const run = require('@doyensec/electronegativity');

async function main() {
  const [input, electronVersion] = process.argv.slice(2);
  if (!input || !electronVersion) {
    console.error('usage: scan.js DIR ELECTRON_VERSION');
    process.exit(2);
  }
  const result = await run({
    input: path.resolve(input),
    isRelative: true,
    electronVersionOverride: electronVersion,
    excludeFromScan: ['availablesecurityfixesglobalcheck'],
    customScan: [],
    parserPlugins: [],
  });
  const findings = result.issues.map((issue) => ({
    id: issue.id,
    severity: issue.severity.name,
    confidence: issue.confidence.name,
    file: issue.file,
    line: issue.location && issue.location.line,
    sample: issue.sample,
    description: issue.description,
    manualReview: Boolean(issue.manualReview),
  }));
  process.stdout.write(
    `${JSON.stringify({ checks: result.globalChecks + result.atomicChecks, errors: result.errors.map((e) => `${e.file}: ${e.message}`), findings }, null, 2)}\n`,
  );
}

main().catch((err) => {
  console.error(`electronegativity: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
