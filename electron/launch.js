#!/usr/bin/env node
'use strict';
/**
 * `npm start`: the desktop app where Electron's binary is installed, otherwise the same app served to a browser on
 * 127.0.0.1 (its URL is printed). Both are `openctl gui`, which makes that choice; extra arguments pass through
 * (e.g. `npm start -- --web --port 8080`).
 */
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(cli) || !fs.existsSync(path.join(root, 'dist', 'electron', 'renderer', 'app.js'))) {
  console.error('openctl: the app is not built yet: run `npm run build` (npm install does it)');
  process.exit(2);
}
process.argv = [process.argv[0], path.join(root, 'bin', 'openctl.js'), 'gui', ...process.argv.slice(2)];
require(cli).runFromProcess();
