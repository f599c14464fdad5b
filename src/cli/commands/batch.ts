import { MAX_LINE_CHARS, safeText } from '../../util/safe-text';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { SingleBar } from 'cli-progress';
import type { Signer } from '../../crypto/signer';
import { isPkcs11Uri } from '../../pkcs11/uri';
import { batchSign, type BatchSigner } from '../../pipeline/batch-sign';
import { BatchEvents, type BatchSummary } from '../../pipeline/events';
import type { ItlSummary } from '../../pipeline/batch-itl';
import type { TokenEngine } from '../../pipeline/token-backend';
import { ExitCode, OpenctlError } from '../../util/errors';
import type { CliContext } from '../context';
import type { CliIO } from '../io';
import { log, out } from '../io';
import { collect, parseDigest, parseTimestamp } from '../options';

/**
 * What only some runs need, loaded when they need it: the cluster schema (ajv), `batch itl`, and the PKCS#11
 * layer cost about 60 ms of CPU to load, which a `batch sign` with a PEM key never uses.
 */
const lazy = {
  cluster: () => require('../../cluster') as typeof import('../../cluster'),
  batchItl: () => require('../../pipeline/batch-itl') as typeof import('../../pipeline/batch-itl'),
  tokenBackend: () => require('../../pipeline/token-backend') as typeof import('../../pipeline/token-backend'),
  signerSpec: () => require('../signer-spec') as typeof import('../signer-spec'),
};

interface BatchSignCliOptions {
  out: string;
  signer: string[];
  digest?: string;
  jobs?: string;
  include: string[];
  exclude: string[];
  encryptWith?: string;
  trust: string[];
  timestamp?: string;
  resume?: boolean;
  incremental?: boolean;
  prune?: boolean;
  force?: boolean;
  json?: boolean;
  wait?: boolean;
  module: string[];
  engine?: string;
}

export function register(program: Command, ctx: CliContext): void {
  const batch = program.command('batch').description('sign whole folders of TFTP files, and one ITL per TFTP server');
  const debug = () => program.opts<{ debug?: boolean }>().debug ?? false;

  batch
    .command('sign')
    .description('sign every file under SRC_DIR into OUT_DIR as NAME.sgn (resumable; see the README, "Batch signing")')
    .argument('<src>', 'folder of files to sign (sub-folders kept)')
    .requiredOption('--out <dir>', 'output folder (its .openctl/ holds the journal, manifest and audit log)')
    .option('--signer <signer>', 'PEM file with key and certificate, or a pkcs11: URI; repeat for several tokens holding the same key', collect, [])
    .option('--digest <alg>', "sha1 (default), sha256 or sha512 (the cluster's TFTP File Signature Algorithm)")
    .option('--jobs <n>', 'worker threads (default: one per core)')
    .option('--include <glob>', 'sign only matching files (a glob without "/" matches the name at any depth); repeatable', collect, [])
    .option('--exclude <glob>', 'skip matching files; repeatable', collect, [])
    .option('--encrypt-with <dir>', 'phone certificates (SEP<MAC>.pem, or by CN): those configs become NAME.enc.sgn + stub NAME.sgn')
    .option('--trust <file>', 'CTL or ITL that must list the signer as TFTP-capable (else nothing is signed, exit 1); repeatable', collect, [])
    .option('--timestamp <unix>', 'header timestamp of every file (default: the start of the job)')
    .option('--resume', 'finish the interrupted batch in OUT_DIR without signing its completed files again')
    .option('--incremental', 'sign again only the sources whose SHA-256 changed since the manifest')
    .option('--prune', 'remove outputs (listed in the manifest) whose source is gone')
    .option('--force', 'sign into an OUT_DIR that already holds files (outputs of the same name are replaced)')
    .option('--json', 'JSON progress lines on stderr, the summary as JSON on stdout')
    .option('--no-wait', 'fail (exit 3) instead of asking to insert a token that is not present')
    .option('--module <path>', 'PKCS#11 module for pkcs11: signers; repeatable', collect, [])
    .option('--engine <engine>', 'token signing engine: auto (default: native core when built), native, or pkcs11js')
    .action(async (src: string, opts: BatchSignCliOptions) => {
      const hash = parseDigest(opts.digest);
      const timestamp = parseTimestamp(opts.timestamp);
      const jobs = parseJobs(opts.jobs);
      const engine = parseEngine(opts.engine);
      const resolve = (p: string) => path.resolve(ctx.io.cwd, p);
      const signer = await batchSigner(opts, ctx, engine, debug());
      const events = new BatchEvents();
      const stopProgress = opts.json ? jsonProgress(ctx.io, events) : ctx.io.stderr.isTTY ? progressBar(ctx.io, events) : quietProgress(ctx.io, events);
      let summary: BatchSummary;
      try {
        summary = await batchSign({
          source: resolve(src),
          out: resolve(opts.out),
          signer,
          digest: hash,
          jobs,
          include: opts.include,
          exclude: opts.exclude,
          encryptWith: opts.encryptWith ? resolve(opts.encryptWith) : undefined,
          trust: opts.trust.map(resolve),
          timestamp,
          resume: opts.resume,
          incremental: opts.incremental,
          prune: opts.prune,
          force: opts.force,
          signal: ctx.signal,
          events,
        });
      } finally {
        stopProgress();
        if ('backend' in signer) await signer.backend.close();
      }
      if (opts.json) out(ctx.io, JSON.stringify(summary, null, 2));
      else printSummary(ctx.io, summary);
      ctx.setExitCode(summary.exitCode);
    });

  batch
    .command('itl')
    .description("write one ITL per TFTP server of a cluster file: OUT_DIR/<server>/ITLFile.tlv, signed by the server's itlSigner")
    .requiredOption('--cluster <file>', 'cluster file (JSON, see schemas/cluster.schema.json)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--rollback', 'write the rollback ITL (empty TVS and TFTP sections: phones then accept any config and any new ITL)')
    .option('--timestamp <unix>', 'header timestamp (default: now)')
    .option('--force', 'replace the ITLFile.tlv files already in OUT_DIR (without it, nothing is written when one exists)')
    .option('--json', 'print the summary as JSON')
    .option('--no-wait', 'fail (exit 3) instead of asking to insert a token that is not present')
    .option('--module <path>', 'PKCS#11 module for pkcs11: signers; repeatable', collect, [])
    .action(async (opts: { cluster: string; out: string; rollback?: boolean; timestamp?: string; force?: boolean; json?: boolean; wait?: boolean; module: string[] }) => {
      const { openSigner, loadCertificateSpec } = lazy.signerSpec();
      const cluster = await lazy.cluster().loadClusterFile(path.resolve(ctx.io.cwd, opts.cluster));
      const specOptions = {
        io: ctx.io,
        interactive: Boolean(ctx.io.stdin.isTTY && ctx.io.stderr.isTTY),
        noWait: opts.wait === false,
        debug: debug(),
        modules: opts.module,
        signal: ctx.signal,
      };
      const summary: ItlSummary = await lazy.batchItl().batchItl({
        cluster,
        out: path.resolve(ctx.io.cwd, opts.out),
        rollback: opts.rollback,
        force: opts.force,
        timestamp: parseTimestamp(opts.timestamp),
        openSigner: (spec) => openSigner(spec, specOptions),
        loadCertificate: (spec) => loadCertificateSpec(spec, specOptions),
        signal: ctx.signal,
        onWarning: (message) => log(ctx.io, `openctl: warning: ${message}`),
      });
      if (opts.json) {
        out(ctx.io, JSON.stringify(summary, null, 2));
      } else {
        for (const w of summary.written) out(ctx.io, `wrote ${w.file} (${w.records} records, ${w.bytes} bytes, signed by ${w.signer})`);
        for (const f of summary.failures) log(ctx.io, `openctl: ${f.problem}`);
        if (summary.rollback && summary.written.length) {
          log(ctx.io, 'openctl: note: rollback ITLs make phones accept any config and any new ITL: replace them once the phones have them');
        }
      }
      ctx.setExitCode(summary.exitCode);
    });
}

async function batchSigner(opts: BatchSignCliOptions, ctx: CliContext, engine: TokenEngine, debug: boolean): Promise<BatchSigner> {
  const specs = opts.signer;
  if (specs.length === 0) throw new OpenctlError('a signer is needed: --signer SIGNER (a PEM file with key and certificate, or a pkcs11: URI)');
  const tokens = specs.filter(isPkcs11Uri);
  if (tokens.length === 0) {
    if (specs.length > 1) throw new OpenctlError('give one PEM --signer (several --signer are for tokens holding the same key)');
    return { pem: path.resolve(ctx.io.cwd, specs[0]) };
  }
  if (tokens.length !== specs.length) throw new OpenctlError('--signer: do not mix PEM files and pkcs11: URIs in one batch');
  const { openSigner } = lazy.signerSpec();
  const signers: Signer[] = [];
  try {
    for (const spec of specs) {
      signers.push(
        await openSigner(spec, {
          io: ctx.io,
          interactive: Boolean(ctx.io.stdin.isTTY && ctx.io.stderr.isTTY),
          noWait: opts.wait === false,
          debug,
          modules: opts.module,
          signal: ctx.signal,
        }),
      );
    }
    return { backend: await lazy.tokenBackend().openTokenBackend(signers, { engine }) };
  } catch (err) {
    for (const s of signers) await s.close?.().catch(() => undefined);
    throw err;
  }
}

function parseJobs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 256) throw new OpenctlError(`--jobs must be a number from 1 to 256, not "${value}"`);
  return Number(value);
}

function parseEngine(value: string | undefined): TokenEngine {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'native' || value === 'pkcs11js') return value;
  throw new OpenctlError(`--engine must be auto, native or pkcs11js, not "${value}"`);
}

/** A TTY progress bar on stderr: files, files/s, ETA, failures. */
function progressBar(io: CliIO, events: BatchEvents): () => void {
  // Loaded here: --json runs (scripts, the benchmark) never draw a bar, and cli-progress takes ~20 ms to load.
  const { SingleBar: Bar } = require('cli-progress') as typeof import('cli-progress');
  const bar: SingleBar = new Bar({
    stream: io.stderr,
    format: ' {bar} {value}/{totalText} files | {speed} files/s | ETA {etaText} | {failed} failed',
    hideCursor: true,
    clearOnComplete: false,
    fps: 5,
  });
  let started = false;
  let total: number | undefined;
  const eta = (seconds: number | undefined) =>
    seconds === undefined ? '?' : seconds >= 3600 ? `${(seconds / 3600).toFixed(1)}h` : seconds >= 60 ? `${Math.round(seconds / 60)}m` : `${Math.ceil(seconds)}s`;
  events.on('start', (s) => {
    // The total comes from a counting walk a moment later; until then the bar is empty and says "?".
    bar.start(1, 0, { speed: '0', failed: 0, totalText: '?', etaText: '?' });
    started = true;
    bar.update(s.alreadyDone);
  });
  events.on('total', (n) => {
    total = n;
    bar.setTotal(Math.max(1, n));
    bar.update({ totalText: String(n) });
  });
  events.on('progress', (p) => bar.update(p.done, { speed: p.filesPerSecond.toFixed(0), failed: p.failed, etaText: eta(p.etaSeconds) }));
  events.on('end', (s) => {
    if (started) bar.update(s.alreadyDone + s.signed + s.kept + s.failed, { failed: s.failed, etaText: '0s', totalText: String(total ?? s.total) });
  });
  events.on('warning', (message) => io.stderr.write(`\nopenctl: warning: ${safeText(message, MAX_LINE_CHARS)}\n`));
  return () => {
    if (started) bar.stop();
  };
}

/** `--json`: one JSON line per progress tick (at most one a second) and per warning, on stderr. */
function jsonProgress(io: CliIO, events: BatchEvents): () => void {
  let last = 0;
  events.on('start', (s) => log(io, JSON.stringify({ event: 'start', ...s })));
  events.on('total', (total) => log(io, JSON.stringify({ event: 'total', total })));
  events.on('progress', (p) => {
    const now = Date.now();
    if (now - last < 1000) return;
    last = now;
    log(io, JSON.stringify({ event: 'progress', ...p, filesPerSecond: Math.round(p.filesPerSecond) }));
  });
  events.on('problem', (f) => log(io, JSON.stringify({ event: f.status, source: f.source, problem: f.problem })));
  events.on('warning', (message) => log(io, JSON.stringify({ event: 'warning', message })));
  return () => undefined;
}

/** Not a TTY and no --json: warnings only; the summary says the rest. */
function quietProgress(io: CliIO, events: BatchEvents): () => void {
  events.on('warning', (message) => log(io, `openctl: warning: ${message}`));
  return () => undefined;
}

function printSummary(io: CliIO, s: BatchSummary): void {
  const seconds = (s.elapsedMs / 1000).toFixed(1);
  for (const f of s.failures.slice(0, 50)) log(io, `openctl: ${f.source}: ${f.problem}`);
  if (s.failures.length > 50) log(io, `openctl: ... and ${s.failures.length - 50} more failures (see the manifest)`);
  for (const f of s.skippedFiles.slice(0, 50)) log(io, `openctl: ${f.source}: ${f.problem}`);
  const parts = [`signed ${s.signed}`, s.kept ? `kept ${s.kept} unchanged` : '', s.failed ? `failed ${s.failed}` : '', s.skipped ? `skipped ${s.skipped} (not regular files)` : '', s.alreadyDone ? `${s.alreadyDone} done before the resume` : '', s.pruned ? `pruned ${s.pruned}` : '']
    .filter(Boolean)
    .join(', ');
  out(io, `${parts} in ${seconds} s (${s.filesPerSecond.toFixed(0)} files/s, ${s.jobs} workers, ${s.backend})`);
  if (s.stopped) {
    const why = s.stopped === 'interrupted' ? 'interrupted' : s.stopped;
    log(io, why.includes('--resume') ? `openctl: stopped: ${why}` : `openctl: stopped: ${why}; the journal keeps the finished files: run the same command with --resume to finish`);
  } else if (s.manifest) {
    out(io, `manifest: ${s.manifest}`);
  }
  if (s.exitCode === ExitCode.Rejected && s.failed > 0) log(io, `openctl: ${s.failed} file(s) failed: the others are signed`);
}
