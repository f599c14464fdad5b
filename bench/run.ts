import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { provisionTokens, SOFTHSM_MODULE } from '../src/pkcs11/provision';
import { loadNativeCore, nativeBuildDir, nativeCoreStatus } from '../src/pipeline/native-core';
import type { BatchSummary } from '../src/pipeline';
import { writePhoneConfigs } from './configs';

/**
 * `npm run bench [-- --quick] [-- --files N] [-- --rss-files N] [-- --dir DIR] [-- --keep]`
 *
 * Measures in one run, on this machine: limit A (`openssl speed -multi <cores> rsa2048`), limit B (raw SoftHSM
 * C_Sign/s on all cores, from native-bindings/bench/csign), the I/O alone, `openctl batch sign` files/s with a
 * PEM key, with a SoftHSM key through pkcs11js and through the native core, and peak RSS (10,000 and 100,000
 * files). Prints a table and one JSON line. A benchmark, not a test: it never fails on a number.
 */

interface Args {
  files: number;
  rssFiles: number;
  quick: boolean;
  dir: string;
  keep: boolean;
  opensslSeconds: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { files: 10_000, rssFiles: 100_000, quick: false, dir: os.tmpdir(), keep: false, opensslSeconds: 3 };
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
    else if (a === '--help') {
      console.log('usage: npm run bench -- [--quick] [--files N] [--rss-files N] [--dir DIR] [--keep]');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (args.quick) {
    if (!argv.includes('--files')) args.files = 5_000;
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
  filesPerSecond: number;
  /** Files per second once set up (threads started, token opened, journal written). */
  steadyFilesPerSecond: number;
  wallMs: number;
  maxRssMB: number;
  summary: BatchSummary;
}

/** `openctl batch sign` in a child process of its own (bench/child.js reports its peak RSS). */
function runBatch(label: string, args: string[], env: NodeJS.ProcessEnv, reportFile: string): Promise<BatchRun> {
  log(`${label}...`);
  return new Promise((resolve, reject) => {
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
      if (code !== 0) {
        reject(new Error(`${label}: openctl batch sign exited with ${code}\n${stderr.split('\n').filter((l) => !l.includes('"progress"')).join('\n')}`));
        return;
      }
      const summary = JSON.parse(stdout) as BatchSummary;
      const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as { maxRssKB: number; wallMs: number };
      const steady = summary.elapsedMs > summary.setupMs ? (summary.signed * 1000) / (summary.elapsedMs - summary.setupMs) : 0;
      resolve({ filesPerSecond: summary.filesPerSecond, steadyFilesPerSecond: steady, wallMs: report.wallMs, maxRssMB: report.maxRssKB / 1024, summary });
    });
  });
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
  try {
    log(`${cores} cores; work folder ${root}`);
    const src = path.join(root, 'src');
    log(`making ${args.files} configs (8-16 KB)...`);
    const names = writePhoneConfigs(src, args.files);
    const bundle = makeBundle(root);

    // Every run writes into the same output folder (emptied in between): on some file systems the cost of
    // creating a file depends on where its folder landed, and the I/O bound must be the one the runs meet.
    const out = path.join(root, 'out');
    log('I/O alone (read, write temp, rename, syncfs)...');
    const io = await ioAlone(src, names, out);
    emptyFolder(out);
    log(`limit A: openssl speed -seconds ${args.opensslSeconds} -multi ${cores} rsa2048...`);
    const limitA = opensslSpeed(args.opensslSeconds);
    const pem = await runBatch('batch sign, PEM key', [src, '--out', out, '--signer', bundle], env, report);
    emptyFolder(out);

    log('SoftHSM token...');
    const pin = randomBytes(8).toString('hex');
    const hsmDir = path.join(root, 'softhsm');
    const provisioned = await provisionTokens({
      dir: hsmDir,
      tokens: [{ label: 'bench', keys: [{ label: 'tftp', keyBits: 2048, subject: 'CN=bench-tftp.example.net,O=openctl bench,OU=UC' }] }],
      pin,
      soPin: randomBytes(8).toString('hex'),
    });
    const hsmEnv = { ...env, SOFTHSM2_CONF: provisioned.conf, OPENCTL_PIN: pin, CSIGN_PIN: pin };
    log(`limit B: csign on ${cores} threads...`);
    const limitB = csignSpeed(hsmEnv, 'bench', 'tftp', args.opensslSeconds);
    if (limitB.note) log(limitB.note);
    const tokenArgs = (engine: string) => [src, '--out', out, '--signer', 'pkcs11:token=bench;object=tftp', '--module', SOFTHSM_MODULE, '--engine', engine];
    const pkcs11js = await runBatch('batch sign, SoftHSM through pkcs11js', tokenArgs('pkcs11js'), hsmEnv, report);
    emptyFolder(out);
    const nativeStatus = nativeCoreStatus();
    const native = nativeStatus.available ? await runBatch('batch sign, SoftHSM through the native core', tokenArgs('native'), hsmEnv, report) : undefined;
    if (!native) log(`native core not measured: ${nativeStatus.reason}`);
    fs.rmSync(out, { recursive: true, force: true });

    const rssSizes = args.quick ? { min: 1024, max: 2048 } : {};
    log(`making ${args.rssFiles} configs for the RSS run${args.quick ? ' (1-2 KB: --quick)' : ''}...`);
    const bigSrc = path.join(root, 'src-rss');
    writePhoneConfigs(bigSrc, args.rssFiles, { ...rssSizes, perFolder: 10_000 });
    const big = await runBatch(`batch sign of ${args.rssFiles} files, PEM key (peak RSS)`, [bigSrc, '--out', path.join(root, 'out-rss'), '--signer', bundle], env, report);

    const bound = 1 / (1 / limitA + 1 / io);
    const boundB = limitB.value === undefined ? undefined : 1 / (1 / limitB.value + 1 / io);
    const rows: Array<[string, string, string]> = [
      [`limit A: openssl speed rsa2048, ${cores} processes`, `${fmt(limitA)} sign/s`, ''],
      [`limit B: SoftHSM C_Sign (csign, ${cores} threads)`, limitB.value === undefined ? 'not measured' : `${fmt(limitB.value)} sign/s`, ''],
      [`I/O alone: read + write + rename + syncfs, ${cores} threads`, `${fmt(io)} files/s`, ''],
      ['estimate with this I/O: 1/(1/A + 1/I/O)', `${fmt(bound)} files/s`, ''],
      ['estimate with this I/O: 1/(1/B + 1/I/O)', boundB === undefined ? 'n/a' : `${fmt(boundB)} files/s`, ''],
      ['batch sign, PEM key', `${fmt(pem.filesPerSecond)} files/s (${fmt(pem.steadyFilesPerSecond)} after setup)`, `${fmt(ratio(pem.filesPerSecond, limitA), 2)} x A (target 0.90); ${fmt(ratio(pem.filesPerSecond, bound), 2)} x estimate`],
      ['batch sign, SoftHSM via pkcs11js', `${fmt(pkcs11js.filesPerSecond)} files/s (${fmt(pkcs11js.steadyFilesPerSecond)} after setup)`, `${fmt(ratio(pkcs11js.filesPerSecond, limitB.value), 2)} x B (target 0.90); ${fmt(ratio(pkcs11js.filesPerSecond, boundB), 2)} x estimate`],
      ['batch sign, SoftHSM via native core', native ? `${fmt(native.filesPerSecond)} files/s (${fmt(native.steadyFilesPerSecond)} after setup)` : 'not built', `${fmt(ratio(native?.filesPerSecond, limitB.value), 2)} x B (target 0.90); ${fmt(ratio(native?.filesPerSecond, boundB), 2)} x estimate`],
      [`peak RSS, ${args.files} files (PEM run)`, `${fmt(pem.maxRssMB)} MB`, ''],
      [`peak RSS, ${args.rssFiles} files (PEM run, ${fmt(big.filesPerSecond)} files/s)`, `${fmt(big.maxRssMB)} MB`, 'target <= 256 MB'],
    ];
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), ['measure', 'value', 'ratio'][i].length));
    const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
    console.log(line(['measure', 'value', 'ratio']));
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const r of rows) console.log(line(r));

    const json = {
      bench: 'openctl-batch-sign',
      date: new Date().toISOString(),
      cores,
      files: args.files,
      quick: args.quick,
      limitA_signPerSecond: limitA,
      limitB_signPerSecond: limitB.value ?? null,
      io_filesPerSecond: Math.round(io),
      boundA_filesPerSecond: Math.round(bound),
      boundB_filesPerSecond: boundB === undefined ? null : Math.round(boundB),
      pem_filesPerSecond: Math.round(pem.filesPerSecond),
      pkcs11js_filesPerSecond: Math.round(pkcs11js.filesPerSecond),
      native_filesPerSecond: native ? Math.round(native.filesPerSecond) : null,
      afterSetup_filesPerSecond: {
        pem: Math.round(pem.steadyFilesPerSecond),
        pkcs11js: Math.round(pkcs11js.steadyFilesPerSecond),
        native: native ? Math.round(native.steadyFilesPerSecond) : null,
      },
      ratios: {
        pem_vs_A: round(ratio(pem.filesPerSecond, limitA)),
        pem_vs_bound: round(ratio(pem.filesPerSecond, bound)),
        pkcs11js_vs_B: round(ratio(pkcs11js.filesPerSecond, limitB.value)),
        native_vs_B: round(ratio(native?.filesPerSecond, limitB.value)),
        native_vs_boundB: round(ratio(native?.filesPerSecond, boundB)),
      },
      peakRssMB: { [args.files]: Math.round(pem.maxRssMB), [args.rssFiles]: Math.round(big.maxRssMB) },
      targets: { pem_vs_A: 0.9, softhsm_vs_B: 0.9, peakRssMB_100k: 256 },
      flusher: pem.summary.flusher,
    };
    console.log(JSON.stringify(json));
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
