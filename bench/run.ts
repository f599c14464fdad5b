import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { provisionTokens, SOFTHSM_MODULE } from '../src/pkcs11/provision';
import { loadNativeCore, nativeBuildDir, nativeCoreStatus } from '../src/pipeline/native-core';
import { PemBackend } from '../src/pipeline/backend';
import { SignedFileTemplate } from '../src/pipeline/signed-template';
import type { BatchSummary } from '../src/pipeline';
import { writePhoneConfigs } from './configs';

/**
 * `npm run bench [-- --quick] [-- --files N] [-- --rss-files N] [-- --rounds N] [-- --dir DIR] [-- --keep]
 *                [-- --readme]`
 *
 * Measures in one run, on this machine: limit A (`openssl speed -multi <cores> rsa2048`), limit B (raw SoftHSM
 * C_Sign/s on all cores, from native-bindings/bench/csign), limit C (the same per-file work as batch sign in plain
 * C, native-bindings/bench/climit, with a PEM key and with the signature on the SoftHSM token), the I/O alone,
 * `openctl batch sign` files/s with a PEM key (native file engine, and the worker threads' JavaScript), with a
 * SoftHSM key through pkcs11js and through the native core, and peak RSS (the run's files and 100,000 files).
 * Limit C and batch sign take turns (`--rounds`, best of each). Prints a table and one JSON line; `--readme`
 * also puts them into README.md between the bench markers. A benchmark, not a test: it never fails on a number.
 */

interface Args {
  files: number;
  rssFiles: number;
  quick: boolean;
  dir: string;
  keep: boolean;
  opensslSeconds: number;
  rounds: number;
  readme: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { files: 15_000, rssFiles: 100_000, quick: false, dir: os.tmpdir(), keep: false, opensslSeconds: 3, rounds: 2, readme: false };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--files') args.files = Number(value());
    else if (a === '--rss-files') args.rssFiles = Number(value());
    else if (a === '--dir') args.dir = value();
    else if (a === '--keep') args.keep = true;
    else if (a === '--rounds') args.rounds = Math.max(1, Number(value()));
    else if (a === '--readme') args.readme = true;
    else if (a === '--help') {
      console.log('usage: npm run bench -- [--quick] [--files N] [--rss-files N] [--rounds N] [--dir DIR] [--keep] [--readme]');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (args.quick) {
    if (!argv.includes('--files')) args.files = 5_000;
    if (!argv.includes('--rounds')) args.rounds = 1;
    args.opensslSeconds = 2;
  }
  return args;
}

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const cores = os.availableParallelism();
const repoRoot = path.resolve(__dirname, '..', '..');
const childScript = path.join(__dirname, 'child.js');

/** Limit A: what OpenSSL itself signs per second with every core. */
function opensslSpeed(seconds: number): number {
  const out = execFileSync('openssl', ['speed', '-seconds', String(seconds), '-multi', String(cores), 'rsa2048'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const line = out.split('\n').find((l) => /^rsa\s+2048 bits/.test(l.trim()));
  if (!line) throw new Error(`openssl speed: no rsa 2048 line in\n${out}`);
  const fields = line.trim().split(/\s+/);
  return Number(fields[fields.length - 2]); // rsa 2048 bits <sign s> <verify s> <sign/s> <verify/s>
}

/** Limit B: raw C_Sign/s of SoftHSM on all cores, from the standalone C program (not openctl's code). */
function csignSpeed(env: NodeJS.ProcessEnv, token: string, key: string, seconds: number): { value?: number; note?: string } {
  const csign = path.join(nativeBuildDir(), 'csign');
  if (!fs.existsSync(csign)) {
    return { note: `limit B not measured: ${csign} is not built (npm install builds native-bindings/ where a compiler exists)` };
  }
  const out = execFileSync(csign, ['--module', SOFTHSM_MODULE, '--token', token, '--key', key, '--threads', String(cores), '--seconds', String(seconds)], {
    encoding: 'utf8',
    env,
  });
  const json = JSON.parse(out.trim().split('\n').pop() as string) as { signaturesPerSecond: number };
  return { value: json.signaturesPerSecond };
}

/** The I/O alone: read each source, write it as a temp file in the output folder, rename; one thread per core. */
async function ioAlone(src: string, names: string[], out: string): Promise<number> {
  fs.mkdirSync(out, { recursive: true });
  const code = `
    const fs = require('node:fs'); const path = require('node:path');
    const { workerData, parentPort } = require('node:worker_threads');
    const { src, out, names, index, threads } = workerData;
    for (let i = index; i < names.length; i += threads) {
      const data = fs.readFileSync(path.join(src, names[i]));
      const target = path.join(out, names[i] + '.sgn');
      const tmp = path.join(out, '.openctl-tmp-' + names[i] + '.sgn.' + index + '-' + i);
      const fd = fs.openSync(tmp, 'wx');
      fs.writeSync(fd, data);
      fs.closeSync(fd);
      fs.renameSync(tmp, target);
    }
    parentPort.postMessage('done');`;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: cores }, (_, index) =>
      new Promise<void>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { src, out, names, index, threads: cores } });
        w.once('message', () => resolve());
        w.once('error', reject);
      }),
    ),
  );
  const core = loadNativeCore();
  if (core) {
    const fd = fs.openSync(out, 'r');
    await core.syncfs(fd);
    fs.closeSync(fd);
  } else {
    execFileSync('sync', ['-f', out]);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return names.length / seconds;
}

interface BatchRun {
  /** The library call: files/s from batchSign's start to its end (the summary). */
  filesPerSecond: number;
  /** Files per second once set up (threads started, token opened, journal written). */
  steadyFilesPerSecond: number;
  /** End to end: the process, from spawn to exit, as the parent saw it (node's start included). */
  e2eMs: number;
  maxRssMB: number;
  cpuMs: number;
  summary: BatchSummary;
}

/** `openctl batch sign` in a child process of its own (bench/child.js reports its peak RSS and CPU). */
function runBatch(label: string, args: string[], env: NodeJS.ProcessEnv, reportFile: string): Promise<BatchRun> {
  log(`${label}...`);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [childScript, 'batch', 'sign', ...args, '--json'], {
      cwd: repoRoot,
      env: { ...env, OPENCTL_BENCH_REPORT: reportFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const e2eMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) {
        reject(new Error(`${label}: openctl batch sign exited with ${code}\n${stderr.split('\n').filter((l) => !l.includes('"progress"')).join('\n')}`));
        return;
      }
      const summary = JSON.parse(stdout) as BatchSummary;
      const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as { maxRssKB: number; cpuUserMs: number; cpuSystemMs: number };
      const steady = summary.elapsedMs > summary.setupMs ? (summary.signed * 1000) / (summary.elapsedMs - summary.setupMs) : 0;
      resolve({
        filesPerSecond: summary.filesPerSecond,
        steadyFilesPerSecond: steady,
        e2eMs,
        maxRssMB: report.maxRssKB / 1024,
        cpuMs: report.cpuUserMs + report.cpuSystemMs,
        summary,
      });
    });
  });
}

interface LimitCRun {
  /** From climit's start of work (key loaded, walk) to its last commit, as it reports. */
  filesPerSecond: number;
  /** Spawn to exit, as the parent saw it. */
  e2eMs: number;
  cpuMs: number;
  files: number;
}

/** Builds climit (limit C, needs libcrypto's headers: libssl-dev) into native-bindings/build/bench. */
function buildClimit(): { path?: string; note?: string } {
  const outDir = path.join(nativeBuildDir(), '..', 'bench');
  const target = path.join(outDir, 'climit');
  try {
    fs.mkdirSync(outDir, { recursive: true });
    execFileSync('make', ['-s', '-C', path.join(repoRoot, 'native-bindings', 'bench'), `OUT=${outDir}`, target], { stdio: ['ignore', 'pipe', 'pipe'] });
    return { path: target };
  } catch (err) {
    const why = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim().split('\n').pop();
    return { note: `limit C not measured: cannot build climit (${why}); it needs a C compiler and libssl-dev` };
  }
}

/** The constant part of the .sgn header for climit: 2-byte length of the version element, it, the signer elements. */
async function writeTemplate(file: string, identity: { certificate: Uint8Array; keyBits: number; description: string }): Promise<void> {
  const template = await SignedFileTemplate.derive(identity, 'sha1');
  if (!template) throw new Error('no header template for this certificate');
  const parts = template.parts();
  const length = Buffer.alloc(2);
  length.writeUInt16BE(parts.versionElement.length);
  fs.writeFileSync(file, Buffer.concat([length, parts.versionElement, parts.signerElements]));
}

function runClimit(label: string, climit: string, args: string[], env: NodeJS.ProcessEnv): Promise<LimitCRun> {
  log(`${label}...`);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(climit, ['--threads', String(cores), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const e2eMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) {
        reject(new Error(`${label}: climit exited with ${code}: ${stderr.trim()}`));
        return;
      }
      const r = JSON.parse(stdout.trim().split('\n').pop() as string) as { filesPerSecond: number; cpuUserMs: number; cpuSystemMs: number; files: number };
      resolve({ filesPerSecond: r.filesPerSecond, e2eMs, cpuMs: r.cpuUserMs + r.cpuSystemMs, files: r.files });
    });
  });
}

const best = <T>(runs: T[], score: (r: T) => number): T | undefined => runs.reduce<T | undefined>((a, r) => (a === undefined || score(r) > score(a) ? r : a), undefined);

/** The bench's block of README.md, between its markers. */
function updateReadme(block: string): void {
  const file = path.join(repoRoot, 'README.md');
  const text = fs.readFileSync(file, 'utf8');
  const begin = '<!-- bench:begin (generated by `npm run bench -- --readme`) -->';
  const end = '<!-- bench:end -->';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`README.md has no ${begin} ... ${end} block`);
  fs.writeFileSync(file, `${text.slice(0, a + begin.length)}\n${block}\n${text.slice(b)}`);
}

function gitDescribe(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    return dirty ? `${sha} + uncommitted changes` : sha;
  } catch {
    return 'unknown';
  }
}

function fileSystemOf(dir: string): string {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Remove what a run wrote, keeping the folder itself (and so where the file system placed it). */
function emptyFolder(dir: string): void {
  for (const entry of fs.readdirSync(dir)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
}

function makeBundle(dir: string): string {
  const key = path.join(dir, 'bench-key.pem');
  const cert = path.join(dir, 'bench-cert.pem');
  execFileSync('openssl', ['genrsa', '-out', key, '2048'], { stdio: 'ignore' });
  execFileSync('openssl', ['req', '-new', '-x509', '-key', key, '-out', cert, '-days', '3650', '-subj', '/CN=bench-tftp.example.net/O=openctl bench/OU=UC'], {
    stdio: 'ignore',
  });
  const bundle = path.join(dir, 'bench-signer.pem');
  fs.writeFileSync(bundle, fs.readFileSync(key, 'utf8') + fs.readFileSync(cert, 'utf8'), { mode: 0o600 });
  return bundle;
}

const fmt = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(digits));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? undefined : a / b);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = fs.mkdtempSync(path.join(args.dir, 'openctl-bench-'));
  const report = path.join(root, 'child-report.json');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('OPENCTL_')) delete env[k];
  const command = `node dist/bench/run.js ${process.argv.slice(2).join(' ')}`.trim();
  const loadAtStart = os.loadavg().map((l) => Math.round(l * 100) / 100);
  try {
    log(`${cores} cores; work folder ${root} (${fileSystemOf(root)})`);
    const src = path.join(root, 'src');
    log(`making ${args.files} configs (8-16 KB)...`);
    const names = writePhoneConfigs(src, args.files);
    const bundle = makeBundle(root);
    const climit = buildClimit();
    if (climit.note) log(climit.note);
    const pemTemplate = path.join(root, 'template-pem.bin');
    await writeTemplate(pemTemplate, await PemBackend.load(bundle));

    // Every run writes into the same output folder (emptied in between): on some file systems the cost of
    // creating a file depends on where its folder landed, and every variant must meet the same one.
    const out = path.join(root, 'out');
    log('I/O alone (read, write temp, rename, syncfs)...');
    const io = await ioAlone(src, names, out);
    emptyFolder(out);
    log(`limit A: openssl speed -seconds ${args.opensslSeconds} -multi ${cores} rsa2048...`);
    const limitA = opensslSpeed(args.opensslSeconds);

    // Limit C and batch sign take turns, so that a neighbour's load falls on both alike; the best of each counts.
    const cPem: LimitCRun[] = [];
    const pemRuns: BatchRun[] = [];
    for (let round = 1; round <= args.rounds; round += 1) {
      if (climit.path) {
        cPem.push(await runClimit(`limit C, PEM key (round ${round})`, climit.path, ['--src', src, '--out', out, '--template', pemTemplate, '--pem', bundle], env));
        emptyFolder(out);
      }
      pemRuns.push(await runBatch(`batch sign, PEM key (round ${round})`, [src, '--out', out, '--signer', bundle], env, report));
      emptyFolder(out);
    }
    const pemWorkers = await runBatch('batch sign, PEM key, worker threads (OPENCTL_NATIVE_FILES=0)', [src, '--out', out, '--signer', bundle], { ...env, OPENCTL_NATIVE_FILES: '0' }, report);
    emptyFolder(out);

    log('SoftHSM token...');
    const pin = randomBytes(8).toString('hex');
    const hsmDir = path.join(root, 'softhsm');
    const subject = 'CN=bench-tftp.example.net,O=openctl bench,OU=UC';
    const provisioned = await provisionTokens({
      dir: hsmDir,
      tokens: [{ label: 'bench', keys: [{ label: 'tftp', keyBits: 2048, subject }] }],
      pin,
      soPin: randomBytes(8).toString('hex'),
    });
    const hsmEnv = { ...env, SOFTHSM2_CONF: provisioned.conf, OPENCTL_PIN: pin, CSIGN_PIN: pin };
    const tokenTemplate = path.join(root, 'template-token.bin');
    const tokenCert = provisioned.tokens[0].keys[0].certificate as Buffer;
    await writeTemplate(tokenTemplate, { certificate: tokenCert, keyBits: 2048, description: 'bench token' });
    log(`limit B: csign on ${cores} threads...`);
    const limitB = csignSpeed(hsmEnv, 'bench', 'tftp', args.opensslSeconds);
    if (limitB.note) log(limitB.note);
    const tokenArgs = (engine: string) => [src, '--out', out, '--signer', 'pkcs11:token=bench;object=tftp', '--module', SOFTHSM_MODULE, '--engine', engine];
    const nativeStatus = nativeCoreStatus();
    if (!nativeStatus.available) log(`native core not measured: ${nativeStatus.reason}`);
    const cToken: LimitCRun[] = [];
    const nativeRuns: BatchRun[] = [];
    for (let round = 1; round <= args.rounds; round += 1) {
      if (climit.path) {
        const cArgs = ['--src', src, '--out', out, '--template', tokenTemplate, '--module', SOFTHSM_MODULE, '--token', 'bench', '--key', 'tftp'];
        cToken.push(await runClimit(`limit C with the token (round ${round})`, climit.path, cArgs, hsmEnv));
        emptyFolder(out);
      }
      if (nativeStatus.available) {
        nativeRuns.push(await runBatch(`batch sign, SoftHSM through the native core (round ${round})`, tokenArgs('native'), hsmEnv, report));
        emptyFolder(out);
      }
    }
    const pkcs11js = await runBatch('batch sign, SoftHSM through pkcs11js', tokenArgs('pkcs11js'), hsmEnv, report);
    fs.rmSync(out, { recursive: true, force: true });

    const rssSizes = args.quick ? { min: 1024, max: 2048 } : {};
    log(`making ${args.rssFiles} configs for the RSS run${args.quick ? ' (1-2 KB: --quick)' : ''}...`);
    const bigSrc = path.join(root, 'src-rss');
    writePhoneConfigs(bigSrc, args.rssFiles, { ...rssSizes, perFolder: 10_000 });
    const big = await runBatch(`batch sign of ${args.rssFiles} files, PEM key (peak RSS)`, [bigSrc, '--out', path.join(root, 'out-rss'), '--signer', bundle], env, report);

    const pem = best(pemRuns, (r) => r.filesPerSecond) as BatchRun;
    const pemE2e = best(pemRuns, (r) => -r.e2eMs) as BatchRun;
    const native = best(nativeRuns, (r) => r.filesPerSecond);
    const limitC = best(cPem, (r) => r.filesPerSecond);
    const limitCE2e = best(cPem, (r) => -r.e2eMs);
    const limitCToken = best(cToken, (r) => r.filesPerSecond);
    const files = args.files;
    const e2e = (ms: number | undefined) => (ms === undefined ? undefined : (files * 1000) / ms);
    const perFile = (ms: number | undefined) => (ms === undefined ? undefined : (ms * 1000) / files);
    // CPU per file does not depend on what else runs on the machine: the lowest of each (a busy machine adds some).
    const pemCpu = best(pemRuns, (r) => -r.cpuMs);
    const limitCCpu = best(cPem, (r) => -r.cpuMs);
    const nativeCpu = best(nativeRuns, (r) => -r.cpuMs);
    const limitCTokenCpu = best(cToken, (r) => -r.cpuMs);
    const c = limitC?.filesPerSecond;
    const ct = limitCToken?.filesPerSecond;
    const rows: Array<[string, string, string]> = [
      [`limit A: openssl speed rsa2048, ${cores} processes`, `${fmt(limitA)} sign/s`, ''],
      [`limit B: SoftHSM C_Sign (csign, ${cores} threads)`, limitB.value === undefined ? 'not measured' : `${fmt(limitB.value)} sign/s`, ''],
      [`limit C: batch sign's work in C (climit, PEM key, ${cores} threads)`, c === undefined ? 'not measured' : `${fmt(c)} files/s`, `${fmt(ratio(c, limitA), 2)} x A`],
      [`limit C with the token (climit, C_Sign on SoftHSM)`, ct === undefined ? 'not measured' : `${fmt(ct)} files/s`, `${fmt(ratio(ct, limitB.value), 2)} x B`],
      [`I/O alone: read + write + rename + syncfs, ${cores} threads`, `${fmt(io)} files/s`, ''],
      ['batch sign, PEM key, native file engine (library call)', `${fmt(pem.filesPerSecond)} files/s`, `${fmt(ratio(pem.filesPerSecond, c), 2)} x C (target 0.90); ${fmt(ratio(pem.filesPerSecond, limitA), 2)} x A`],
      [`batch sign, PEM key, end to end (CLI process, ${files} files)`, `${fmt(e2e(pemE2e.e2eMs))} files/s (C: ${fmt(e2e(limitCE2e?.e2eMs))})`, `${fmt(ratio(e2e(pemE2e.e2eMs), e2e(limitCE2e?.e2eMs)), 2)} x C end to end (target 0.90)`],
      ['batch sign, PEM key, worker threads (no native engine)', `${fmt(pemWorkers.filesPerSecond)} files/s`, `${fmt(ratio(pemWorkers.filesPerSecond, c), 2)} x C`],
      ['batch sign, SoftHSM via native core', native ? `${fmt(native.filesPerSecond)} files/s` : 'not built', `${fmt(ratio(native?.filesPerSecond, ct), 2)} x C with token (target 0.90); ${fmt(ratio(native?.filesPerSecond, limitB.value), 2)} x B`],
      ['batch sign, SoftHSM via pkcs11js', `${fmt(pkcs11js.filesPerSecond)} files/s`, `${fmt(ratio(pkcs11js.filesPerSecond, ct), 2)} x C with token; ${fmt(ratio(pkcs11js.filesPerSecond, limitB.value), 2)} x B`],
      ['CPU per file, PEM key (whole process, every thread)', `${fmt(perFile(pemCpu?.cpuMs))} µs (limit C: ${fmt(perFile(limitCCpu?.cpuMs))} µs)`, `${fmt(ratio(limitCCpu?.cpuMs, pemCpu?.cpuMs), 2)} (C's CPU / ours)`],
      ['CPU per file, SoftHSM via native core', `${fmt(perFile(nativeCpu?.cpuMs))} µs (limit C with token: ${fmt(perFile(limitCTokenCpu?.cpuMs))} µs)`, `${fmt(ratio(limitCTokenCpu?.cpuMs, nativeCpu?.cpuMs), 2)} (C's CPU / ours)`],
      [`peak RSS, ${files} files (PEM run)`, `${fmt(pem.maxRssMB)} MB`, ''],
      [`peak RSS, ${args.rssFiles} files (PEM run, ${fmt(big.filesPerSecond)} files/s)`, `${fmt(big.maxRssMB)} MB`, 'target <= 256 MB'],
    ];
    // Each round's own ratio (limit C and batch sign ran one after the other): when a neighbour's load comes and
    // goes between rounds, the best-of ratio above compares a quiet round with a loaded one; these say so.
    const paired = (ours: number[], theirs: number[]) => ours.slice(0, theirs.length).map((o, i) => round(ratio(o, theirs[i])));
    const pairedPem = paired(pemRuns.map((r) => r.filesPerSecond), cPem.map((r) => r.filesPerSecond));
    const pairedNative = paired(nativeRuns.map((r) => r.filesPerSecond), cToken.map((r) => r.filesPerSecond));
    // End to end, per round: limit C's spawn-to-exit time over ours (the same files, one after the other).
    const pairedE2e = paired(cPem.map((r) => r.e2eMs), pemRuns.map((r) => r.e2eMs));
    const perRound = (values: Array<number | null>) => (values.length > 1 ? `; per round ${values.map((v) => fmt(v ?? undefined, 2)).join(', ')}` : '');
    rows[5][2] = rows[5][2].replace(' (target 0.90)', ` (target 0.90)${perRound(pairedPem)}`);
    rows[6][2] = rows[6][2].replace(' (target 0.90)', ` (target 0.90)${perRound(pairedE2e)}`);
    rows[8][2] = rows[8][2].replace(' (target 0.90)', ` (target 0.90)${perRound(pairedNative)}`);
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), ['measure', 'value', 'ratio'][i].length));
    const line = (r: readonly string[]) => `| ${r.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
    const table = [line(['measure', 'value', 'ratio']), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');

    const json = {
      bench: 'openctl-batch-sign',
      date: new Date().toISOString(),
      commit: gitDescribe(),
      cores,
      files,
      rounds: args.rounds,
      fileSystem: fileSystemOf(root),
      quick: args.quick,
      limitA_signPerSecond: limitA,
      limitB_signPerSecond: limitB.value ?? null,
      limitC_filesPerSecond: c === undefined ? null : Math.round(c),
      limitC_e2e_filesPerSecond: limitCE2e ? Math.round(e2e(limitCE2e.e2eMs) as number) : null,
      limitCToken_filesPerSecond: ct === undefined ? null : Math.round(ct),
      io_filesPerSecond: Math.round(io),
      pem_filesPerSecond: Math.round(pem.filesPerSecond),
      pem_e2e_filesPerSecond: Math.round(e2e(pemE2e.e2eMs) as number),
      pemWorkers_filesPerSecond: Math.round(pemWorkers.filesPerSecond),
      native_filesPerSecond: native ? Math.round(native.filesPerSecond) : null,
      pkcs11js_filesPerSecond: Math.round(pkcs11js.filesPerSecond),
      fileEngine: { pem: pem.summary.fileEngine, pemWorkers: pemWorkers.summary.fileEngine, native: native?.summary.fileEngine ?? null },
      cpuPerFileMicros: {
        pem: pemCpu ? Math.round(perFile(pemCpu.cpuMs) as number) : null,
        limitC: limitCCpu ? Math.round(perFile(limitCCpu.cpuMs) as number) : null,
        native: nativeCpu ? Math.round(perFile(nativeCpu.cpuMs) as number) : null,
        limitCToken: limitCTokenCpu ? Math.round(perFile(limitCTokenCpu.cpuMs) as number) : null,
      },
      ratios: {
        pem_vs_C: round(ratio(pem.filesPerSecond, c)),
        pem_e2e_vs_C_e2e: round(ratio(e2e(pemE2e.e2eMs), e2e(limitCE2e?.e2eMs))),
        pemWorkers_vs_C: round(ratio(pemWorkers.filesPerSecond, c)),
        native_vs_CToken: round(ratio(native?.filesPerSecond, ct)),
        pkcs11js_vs_CToken: round(ratio(pkcs11js.filesPerSecond, ct)),
        pem_vs_A: round(ratio(pem.filesPerSecond, limitA)),
        native_vs_B: round(ratio(native?.filesPerSecond, limitB.value)),
        C_vs_A: round(ratio(c, limitA)),
        cpu_C_over_pem: round(ratio(limitCCpu?.cpuMs, pemCpu?.cpuMs)),
        cpu_CToken_over_native: round(ratio(limitCTokenCpu?.cpuMs, nativeCpu?.cpuMs)),
      },
      pairedRatios: { pem_vs_C: pairedPem, pem_e2e_vs_C_e2e: pairedE2e, native_vs_CToken: pairedNative },
      loadAverage: { start: loadAtStart, end: os.loadavg().map((l) => Math.round(l * 100) / 100) },
      runs: {
        limitC: cPem.map((r) => Math.round(r.filesPerSecond)),
        pem: pemRuns.map((r) => Math.round(r.filesPerSecond)),
        limitCToken: cToken.map((r) => Math.round(r.filesPerSecond)),
        native: nativeRuns.map((r) => Math.round(r.filesPerSecond)),
      },
      peakRssMB: { [files]: Math.round(pem.maxRssMB), [args.rssFiles]: Math.round(big.maxRssMB) },
      targets: { pem_vs_C: 0.9, pem_e2e_vs_C_e2e: 0.9, native_vs_CToken: 0.9, peakRssMB_100k: 256 },
      flusher: pem.summary.flusher,
    };
    console.log(table);
    console.log(JSON.stringify(json));
    if (args.readme) {
      updateReadme(
        [
          `\`${command}\` on ${json.date.slice(0, 16).replace('T', ' ')} UTC, commit ${json.commit}, ${cores} cores, work folder on ${json.fileSystem}, ` +
            `best of ${args.rounds} alternating round${args.rounds > 1 ? 's' : ''} for limit C and batch sign ` +
            `(load average ${json.loadAverage.start[0]} at the start, ${json.loadAverage.end[0]} at the end):`,
          '',
          table,
          '',
          '```json',
          JSON.stringify(json),
          '```',
        ].join('\n'),
      );
      log('README.md updated');
    }
  } finally {
    if (args.keep) log(`kept ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  }
}

function round(x: number | undefined): number | null {
  return x === undefined ? null : Math.round(x * 1000) / 1000;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
