import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openServiceStore } from '../src/store';
import { TVS_MIGRATIONS, TvsStore } from '../src/store/tvs';
import { decodeVerifyRequest, decodeVerifyResponse, encodeVerifyRequest, encodeVerifyResponse } from '../src/services/tvs/messages';
import { jsonLogger, ServiceMetrics } from '../src/services/common';
import { readAnswer, runLoad, startLimitT, waitForPort, type LoadResult, type RunningServer } from './tvs-limit';

/**
 * `npm run bench:tvs [-- --duration SECONDS] [-- --levels 1,64,512] [-- --rounds 3]`
 *
 * Queries per second and latency (p50/p99, connect to last byte of the answer) of `openctl tvs serve` (a real
 * process: SQLite store of 1,000 certificates, JSON log lines written to a file) at 1, 64 and 512 concurrent
 * phones, against limit T: a bare Node TLS server on the same RSA-2048 key that reads one request and writes a
 * fixed answer, driven by the same load generator in the same run, in rounds that alternate which server goes
 * first. Every phone opens a new TLS connection per query (no session resumption). Targets: >= 0.85 x T at 64; p99 < 1 s at 512; peak RSS <= 200 MB.
 * A benchmark, not a test: it never fails on a number; it prints a table and one JSON line.
 */

function parseArgs(argv: string[]) {
  const args = { durationMs: 4000, levels: [1, 64, 512], rounds: 3 };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--duration') args.durationMs = Number(argv[++i]) * 1000;
    else if (argv[i] === '--levels') args.levels = argv[++i]!.split(',').map(Number);
    else if (argv[i] === '--rounds') args.rounds = Number(argv[++i]);
    else if (argv[i] === '--help') {
      console.log('usage: npm run bench:tvs -- [--duration SECONDS per round (4)] [--levels 1,64,512] [--rounds 3]');
      process.exit(0);
    } else throw new Error(`unknown option ${argv[i]}`);
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-bench-tvs-'));
  try {
    const keyFile = path.join(dir, 'tvs.key');
    const certFile = path.join(dir, 'tvs.crt');
    const appKey = path.join(dir, 'app.key');
    const appCert = path.join(dir, 'app.crt');
    const req = (key: string, cert: string, cn: string) =>
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', `/CN=${cn}/O=openctl bench`, '-days', '30'], { stdio: 'ignore' });
    req(keyFile, certFile, 'tvs.bench.example');
    req(appKey, appCert, 'app.bench.example');
    const keyPem = fs.readFileSync(keyFile, 'utf8');
    const certPem = fs.readFileSync(certFile, 'utf8');
    const signer = path.join(dir, 'tvs.pem');
    fs.writeFileSync(signer, keyPem + certPem, { mode: 0o600 });
    const app = Buffer.from(new X509Certificate(fs.readFileSync(appCert)).raw);

    // A store of realistic size: the certificate asked about among 1,000 others.
    const dbFile = path.join(dir, 'tvs.db');
    const db = await openServiceStore(dbFile, [TVS_MIGRATIONS]);
    const store = new TvsStore(db);
    const filler = Array.from({ length: 1000 }, (_, i) => ({ certificate: randomBytes(900), serial: i.toString(16), subject: `CN=filler-${i}`, issuer: 'CN=bench', roles: [7], ttl: 3600 }));
    await store.put([...filler, { certificate: app, serial: '01', subject: 'CN=app.bench.example', issuer: 'CN=app.bench.example', roles: [1, 7], ttl: 3600 }]);
    await db.close();

    const request = encodeVerifyRequest({ session: 0x11223344, deviceName: 'CP-8845-SEP0011223344AA', certificate: app });
    const expected = encodeVerifyResponse({ session: 0x11223344, trusted: true, roles: [1, 7], ttl: 3600 });
    const complete = (b: Buffer) => b.length >= 10 && b.length >= 10 + b.readUInt16BE(8);
    const conversation = async (socket: import('node:tls').TLSSocket) => {
      socket.write(request);
      const answer = await readAnswer(socket, complete);
      const r = decodeVerifyResponse(answer);
      if (!r.trusted || r.ttl !== 3600) throw new Error('wrong answer');
    };

    const workUs = await serviceWorkMicros(dbFile, request);
    const limitT = await startLimitT({ keyPem, certPem, answer: expected, framing: { lengthOffset: 8, lengthBytes: 2, headerLength: 10 } });
    const logFile = path.join(dir, 'tvs.log');
    const logFd = fs.openSync(logFile, 'w');
    const cli = path.join(__dirname, '..', '..', 'bin', 'openctl.js');
    const child = spawn(process.execPath, [cli, 'tvs', 'serve', '--db', dbFile, '--signer', signer, '--listen', '127.0.0.1:0', '--max-connections', '4096'], {
      stdio: ['ignore', 'pipe', logFd],
    });
    const tvs: RunningServer = await waitForPort(child);

    type Measured = LoadResult & { cpuMsPerQuery: number };
    // One pass of load on a server, with the CPU time its process spent per answer (less moved than q/s by the
    // machine's other load).
    const measure = async (server: RunningServer, level: number, durationMs: number, warmupMs: number) => {
      const before = server.cpuMs() ?? 0;
      const r = await runLoad({ port: server.port, concurrency: level, durationMs, warmupMs, conversation });
      return { ...r, cpuMs: (server.cpuMs() ?? 0) - before };
    };
    // Both servers JIT-warm before anything counts.
    await measure(limitT, 8, 2000, 0);
    await measure(tvs, 8, 2000, 0);
    const rows: Array<{ level: number; t: Measured; tvs: Measured }> = [];
    for (const level of args.levels) {
      // Rounds alternate which server goes first, so that neither always runs on a quieter machine; the level's
      // numbers are the rounds together.
      const passes: Record<'t' | 'tvs', Array<LoadResult & { cpuMs: number }>> = { t: [], tvs: [] };
      for (let round = 0; round < args.rounds; round += 1) {
        const order: Array<['t' | 'tvs', RunningServer]> = round % 2 === 0 ? [['t', limitT], ['tvs', tvs]] : [['tvs', tvs], ['t', limitT]];
        // At 512 phones the first answers take a while: a longer warm-up, so that the window sees the steady state.
        for (const [name, server] of order) passes[name].push(await measure(server, level, args.durationMs, Math.max(500, level * 4)));
      }
      const combine = (list: Array<LoadResult & { cpuMs: number }>): Measured => {
        const completed = list.reduce((n, r) => n + r.completed, 0);
        const errors = list.reduce((n, r) => n + r.errors, 0);
        const cpu = list.reduce((n, r) => n + r.cpuMs, 0);
        return {
          concurrency: level,
          completed,
          errors,
          qps: completed / ((args.durationMs * list.length) / 1000),
          // Percentiles of the rounds' percentiles would be wrong; the worst round's p99 and the median round's p50
          // (rounds with no answer at all count as errors, not as latencies).
          p50Ms: median(list.map((r) => r.p50Ms).filter(Number.isFinite)),
          p99Ms: worst(list.map((r) => r.p99Ms)),
          maxMs: worst(list.map((r) => r.maxMs)),
          cpuMsPerQuery: cpu / Math.max(1, completed + errors),
        };
      };
      const t = combine(passes.t);
      const s = combine(passes.tvs);
      rows.push({ level, t, tvs: s });
      process.stderr.write(`level ${level}: limit T ${t.qps.toFixed(0)} q/s, tvs ${s.qps.toFixed(0)} q/s\n`);
    }
    const rss = tvs.peakRss();
    const limitRss = limitT.peakRss();
    await tvs.stop();
    await limitT.stop();
    fs.closeSync(logFd);
    const logLines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"event":"request"')).length;

    const cpu = os.cpus();
    console.log(`\nopenctl tvs serve vs limit T (bare Node TLS, same RSA-2048 key), ${cpu.length} x ${cpu[0]?.model ?? 'CPU'}, node ${process.version}, ${args.rounds} rounds of ${args.durationMs / 1000} s per level and server`);
    console.log('| phones | limit T q/s | T p50 ms | T p99 ms | tvs q/s | tvs p50 ms | tvs p99 ms | tvs / T | CPU ms/query T / tvs | errors T / tvs |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(
        `| ${r.level} | ${r.t.qps.toFixed(0)} | ${r.t.p50Ms.toFixed(1)} | ${r.t.p99Ms.toFixed(1)} | ${r.tvs.qps.toFixed(0)} | ${r.tvs.p50Ms.toFixed(1)} | ${r.tvs.p99Ms.toFixed(1)} | ${(r.tvs.qps / r.t.qps).toFixed(2)} | ${r.t.cpuMsPerQuery.toFixed(2)} / ${r.tvs.cpuMsPerQuery.toFixed(2)} | ${r.t.errors} / ${r.tvs.errors} |`,
      );
    }
    const mb = (b: number | undefined) => (b === undefined ? 'n/a' : `${(b / 1048576).toFixed(0)} MB`);
    console.log(`the service's own work per request, in process (decode, SHA-256, store lookup, encode, JSON line, metrics): ${workUs.toFixed(1)} µs of CPU`);
    console.log(`peak RSS: tvs serve ${mb(rss)}, limit T ${mb(limitRss)}; request log lines written: ${logLines}`);
    const at64 = rows.find((r) => r.level === 64);
    const at512 = rows.find((r) => r.level === 512);
    console.log(
      `targets: >= 0.85 x T at 64: ${at64 ? (at64.tvs.qps / at64.t.qps).toFixed(2) : 'n/a'}; p99 < 1000 ms at 512: ${at512 ? at512.tvs.p99Ms.toFixed(0) : 'n/a'} ms; peak RSS <= 200 MB: ${mb(rss)}`,
    );
    console.log(
      JSON.stringify({
        bench: 'tvs',
        commit: gitCommit(),
        cpus: cpu.length,
        durationMs: args.durationMs,
        levels: rows.map((r) => ({ phones: r.level, limitT: r.t, tvs: r.tvs, ratio: r.tvs.qps / r.t.qps })),
        serviceWorkMicros: workUs,
        peakRssBytes: rss,
        limitTPeakRssBytes: limitRss,
        logLines,
        storeSha256: createHash('sha256').update(fs.readFileSync(dbFile)).digest('hex').slice(0, 12),
      }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time of what the server does per request besides TLS, measured in this process over 20,000 requests. */
async function serviceWorkMicros(dbFile: string, request: Buffer): Promise<number> {
  const db = await openServiceStore(dbFile, [TVS_MIGRATIONS]);
  const store = new TvsStore(db);
  const sink = fs.createWriteStream('/dev/null');
  const log = jsonLogger(sink);
  const metrics = new ServiceMetrics('openctl_bench');
  const once = async () => {
    const r = decodeVerifyRequest(request);
    const sha256 = createHash('sha256').update(r.certificate).digest('hex');
    const v = await store.lookup(sha256);
    encodeVerifyResponse(v ? { session: r.session, trusted: true, roles: v.roles, ttl: v.ttl } : { session: r.session, trusted: false });
    metrics.connections.inc({ result: 'answered' });
    metrics.requests.inc({ verdict: 'trusted' });
    metrics.duration.observe({ verdict: 'trusted' }, 0.001);
    log.log('request', { peer: '10.0.0.1:50000', device: r.deviceName, session: r.session, sha256, verdict: 'trusted', roles: ['CCM'], ttl: 3600, ms: 1.5 });
  };
  for (let i = 0; i < 2000; i += 1) await once(); // warm-up
  const n = 20_000;
  const before = process.cpuUsage();
  for (let i = 0; i < n; i += 1) await once();
  const used = process.cpuUsage(before);
  log.flush();
  sink.end();
  await db.close();
  return (used.user + used.system) / n;
}

function worst(values: number[]): number {
  const finite = values.filter(Number.isFinite);
  return finite.length ? Math.max(...finite) : NaN;
}

function median(values: number[]): number {
  const sorted = values.sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)]! : NaN;
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
