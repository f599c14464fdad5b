#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI lives in src/cli and is compiled to dist/ by `npm run build` (run by `npm install`).
require('../dist/src/cli/main.js').runFromProcess();
