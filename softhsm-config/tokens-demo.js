#!/usr/bin/env node
'use strict';
// `npm run tokens:demo [-- --dir DIR]`: two SoftHSM demo tokens, eToken-A and eToken-B, made through the
// PKCS#11 API (no PIN on any command line), each with an RSA-2048 key generated on the token and a self-signed
// SAST certificate under the same CKA_ID. Prints the SOFTHSM2_CONF to use. Demo PINs: user 1234, SO 12345678.
// The same module (dist/src/pkcs11/provision.js) and the same default folder as the GUI's "Use demo tokens".
const path = require('node:path');

function usage(code) {
  process.stderr.write('usage: npm run tokens:demo [-- --dir DIR]\n');
  process.exit(code);
}

function parseArgs(argv) {
  let dir;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--dir' && argv[i + 1]) dir = argv[++i];
    else if (arg.startsWith('--dir=')) dir = arg.slice('--dir='.length);
    else if (arg === '--help' || arg === '-h') usage(0);
    else usage(2);
  }
  return { dir };
}

process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
});

async function main() {
  let provision;
  try {
    provision = require('../dist/src/pkcs11/provision.js');
  } catch {
    process.stderr.write('tokens:demo: openctl is not built yet: run `npm run build` first\n');
    process.exit(2);
  }
  const { dir: given } = parseArgs(process.argv.slice(2));
  const dir = path.resolve(given ?? provision.defaultDemoDir());
  const result = await provision.provisionDemoTokens({ dir });
  process.stdout.write(`Demo tokens in ${dir} (user PIN ${provision.DEMO_PIN}, SO PIN ${provision.DEMO_SO_PIN}: demo only)\n`);
  for (const token of result.tokens) {
    const what = token.created ? `created, RSA-2048 key and SAST certificate under id ${token.keys[0].id}` : 'already there, left as it was';
    process.stdout.write(`  ${token.label}  serial ${token.serial}  ${what}\n`);
  }
  process.stdout.write(
    `\nPoint SoftHSM at them, then use openctl:\n` +
      provision.demoCliUsage(dir, result.modulePath).map((line) => `  ${line}\n`).join('') +
      `\n${provision.DEMO_GUI_USAGE}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`tokens:demo: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(err && typeof err.exitCode === 'number' ? err.exitCode : 1);
});
