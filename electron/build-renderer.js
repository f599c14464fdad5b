#!/usr/bin/env node
'use strict';
/**
 * Builds what tsc does not: the renderer bundle (electron/renderer → dist/electron/renderer: index.html, app.js,
 * app.css) and the sandboxed preload bundle (a sandboxed preload can require only 'electron', so the contract
 * client is bundled into it). Type checking of the renderer is `tsc -p electron/renderer/tsconfig.json`.
 */
const path = require('node:path');
const fs = require('node:fs');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const rendererOut = path.join(root, 'dist', 'electron', 'renderer');
const preloadOut = path.join(root, 'dist', 'electron', 'preload', 'preload.bundle.js');

async function main() {
  fs.mkdirSync(rendererOut, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'renderer', 'main.tsx')],
    outfile: path.join(rendererOut, 'app.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome120'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  fs.copyFileSync(path.join(__dirname, 'renderer', 'index.html'), path.join(rendererOut, 'index.html'));
  fs.copyFileSync(path.join(__dirname, 'renderer', 'styles.css'), path.join(rendererOut, 'app.css'));
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'preload', 'preload.ts')],
    outfile: preloadOut,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: ['node20'],
    external: ['electron'],
    logLevel: 'warning',
  });
}

main().catch((err) => {
  console.error(`build-renderer: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
