import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { runCli } from '../src/cli/main';
import { provisionTokens, SOFTHSM_MODULE } from '../src/pkcs11/provision';
import { nativeBuildDir } from '../src/pipeline/native-core';
import { MessageChannel } from '../src/services/capf/channel';
import { authResponse, CapfCommand, CapfReason, CapfTag, keyGenResponse, phoneResponse, readU8, simpleMessage } from '../src/services/capf/messages';
import { issue, issueCaForKey, pem } from '../test/capf/pki';
import { PassThrough, Readable } from 'node:stream';
import { cpuMs, readAnswer, runLoad, startLimitT } from './tvs-limit';
import { authRequest, encodeMessage, endSession } from '../src/services/capf/messages';

/**
 * `npm run bench:capf [-- --phones N] [-- --concurrency C]`
 *
 * Enrolments per second of `openctl capf serve` (a child process, SQLite store) for N phones (default 2,000)
 * at C at once (default 64), with the issuing CA key in a PEM file and on a SoftHSM token, against the limit
 * measured in the same run: 1 / (1/T + 1/S), where
 *   T = the shared limit-T server of bench/tvs-limit.ts on the same CAPF key (accept, speak first as CAPF does,
 *       read one request, write a fixed answer, close), driven at the same concurrency by the shared load
 *       generator, in rounds just before and just after each CAPF run (their mean is the T of that run);
 *   S = the issuing key's raw signing rate: `openssl speed rsa2048` (one process) for the PEM key, C_Sign on
 *       one thread (native-bindings csign) for the SoftHSM key.
 * The server is single-threaded (TLS and PEM signing share its one thread), hence the harmonic sum.
 * Phone keys (EC P-256, as `--key ec:p256` asks) are made before the clock starts. A benchmark, not a test.
 */

interface Args {
  phones: number;
  concurrency: number;
  seconds: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { phones: 2000, concurrency: 64, seconds: 4 };
  for (let i = 0; i < argv.length; i += 1) {
    const v = () => Number(argv[++i]);
    if (argv[i] === '--phones') args.phones = v();
    else if (argv[i] === '--concurrency') args.concurrency = v();
    else if (argv[i] === '--seconds') args.seconds = v();
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return args;
}

const log = (line: string) => process.stderr.write(`bench:capf: ${line}\n`);
const repoRoot = path.resolve(__dirname, '..', '..');

/** Run N jobs, C at a time; returns jobs/s over the whole run. */
async function drive(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<{ perSecond: number; seconds: number; failures: number }> {
  let next = 0;
  let failures = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      try {
        await job(i);
      } catch (err) {
        failures += 1;
        if (failures <= 3) log(`job ${i} failed: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: (n - failures) / seconds, seconds, failures };
}

/** The load generator's connection: the same TLS client for limit T and for CAPF. */
function connect(port: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(socket)); // as runLoad connects
    socket.once('error', reject);
  });
}

/** One phone enrolment, the phone's side kept to the protocol (no files written: the load generator stays light). */
async function phone(port: number, device: string, spki: Buffer): Promise<void> {
  const socket = await connect(port);
  try {
    const channel = new MessageChannel(socket);
    for (;;) {
      const m = await channel.read(30_000, 'the server');
      if (m.command === CapfCommand.AuthRequest) await channel.send(authResponse(m.session, { device }));
      else if (m.command === CapfCommand.KeyGenRequest) {
        await channel.send(simpleMessage(CapfCommand.InProgress, m.session));
        await channel.send(keyGenResponse(m.session, spki));
      } else if (m.command === CapfCommand.StoreCertRequest) await channel.send(phoneResponse(CapfCommand.StoreCertResponse, m.session, CapfReason.Done));
      else if (m.command === CapfCommand.EndSession) {
        const reason = readU8(m, CapfTag.Reason);
        if (reason !== CapfReason.Done) throw new Error(`${device}: ended with reason ${reason}`);
        return;
      } else throw new Error(`${device}: unexpected command ${m.command}`);
    }
  } finally {
    socket.destroy();
  }
}

function spawnChild(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; stderr: () => string }> {
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    if (err.length > 1 << 20) err = err.slice(-(1 << 19));
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const match = ready.exec(out);
      if (match) resolve({ child, match, stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function opensslSign(seconds: number): number {
  const out = execFileSync('openssl', ['speed', '-seconds', String(seconds), 'rsa2048'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const line = out.split('\n').find((l) => /^rsa\s+2048 bits/.test(l.trim()));
  if (!line) throw new Error(`openssl speed: no rsa 2048 line in\n${out}`);
  const fields = line.trim().split(/\s+/);
  return Number(fields[fields.length - 2]);
}

function csignOneThread(env: NodeJS.ProcessEnv, token: string, key: string, seconds: number): number {
  const csign = path.join(nativeBuildDir(), 'csign');
  if (!fs.existsSync(csign)) throw new Error(`${csign} is not built (npm run build:native)`);
  const out = execFileSync(csign, ['--module', SOFTHSM_MODULE, '--token', token, '--key', key, '--threads', '1', '--seconds', String(seconds)], { encoding: 'utf8', env });
  return (JSON.parse(out.trim().split('\n').pop() as string) as { signaturesPerSecond: number }).signaturesPerSecond;
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  const err: Buffer[] = [];
  const stderr = new PassThrough();
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await runCli(args, { stdout: new PassThrough(), stderr, stdin: Readable.from([]), env: { ...process.env, ...env }, cwd: process.cwd() });
  if (code !== 0) throw new Error(`openctl ${args.join(' ')}: exit ${code}: ${Buffer.concat(err).toString()}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-bench-capf-'));
  const cores = os.availableParallelism();
  try {
    log(`PKI, SoftHSM token, ${args.phones} phone keys (before any clock)...`);
    const root = await issue({ subject: 'CN=bench root,O=openctl bench', ca: true });
    const issuing = await issue({ subject: 'CN=bench issuing CA,O=openctl bench,OU=Voice,C=FR', ca: true, issuer: root });
    const capfTls = await issue({ subject: 'CN=bench CAPF,O=openctl bench' });
    const issuerPem = (await issuing.write(dir, 'issuing')).bundle;
    const capfPem = (await capfTls.write(dir, 'capf')).bundle;
    const hsm = await provisionTokens({ dir: path.join(dir, 'hsm'), tokens: [{ label: 'bench-ca', keys: [{ keyBits: 2048, label: 'ca', subject: 'CN=bench token,O=openctl bench' }] }], pin: '1234', soPin: '12345678' });
    const hsmEnv = { SOFTHSM2_CONF: hsm.conf, OPENCTL_PIN: '1234' };
    const tokenSpki = new X509Certificate(hsm.tokens[0]!.keys[0]!.certificate!).publicKey.export({ type: 'spki', format: 'der' });
    const tokenCaDer = await issueCaForKey(root, tokenSpki, 'CN=bench token CA,O=openctl bench,OU=Voice,C=FR');
    const tokenCaFile = path.join(dir, 'token-ca.crt');
    fs.writeFileSync(tokenCaFile, pem('CERTIFICATE', tokenCaDer));
    const spkis = Array.from({ length: args.phones }, () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }));
    const warmup = Math.min(200, args.phones);

    const capfKeyPem = capfTls.keyPem;
    const limitServer = await startLimitT({
      keyPem: capfKeyPem,
      certPem: capfTls.certPem,
      speakFirst: encodeMessage(authRequest(1)),
      answer: encodeMessage(endSession(1, 1)),
      framing: { lengthOffset: 6, lengthBytes: 2, headerLength: 8 },
    });
    const tCpu: number[] = [];
    const tGenCpu: number[] = [];
    const measureT = async () => {
      let conversations = 0;
      const cpu0 = cpuMs(limitServer.pid);
      const own0 = process.cpuUsage();
      const r = await runLoad({
        port: limitServer.port,
        concurrency: args.concurrency,
        durationMs: args.seconds * 1000,
        warmupMs: 1000,
        conversation: async (socket) => {
          await readAnswer(socket, (b) => b.length >= 8 && b.length >= 8 + b.readUInt16BE(6));
          socket.write(encodeMessage(authResponse(1, { device: 'SEP000000000000' })));
          await readAnswer(socket, (b) => b.length >= 8 && b.length >= 8 + b.readUInt16BE(6));
          conversations += 1;
        },
      });
      const cpu1 = cpuMs(limitServer.pid);
      const own = process.cpuUsage(own0);
      if (cpu0 !== undefined && cpu1 !== undefined && conversations > 0) tCpu.push((cpu1 - cpu0) / conversations);
      if (conversations > 0) tGenCpu.push((own.user + own.system) / 1000 / conversations);
      return r.qps;
    };
    const tRounds: number[] = [await measureT()];
    log(`limit T round: ${tRounds[0]!.toFixed(0)} conn/s`);

    log(`S: openssl speed rsa2048 (one process, ${args.seconds} s); C_Sign on one thread (csign)...`);
    const sPem = opensslSign(args.seconds);
    const sToken = csignOneThread(hsmEnv, 'bench-ca', 'ca', args.seconds);

    const runs: Array<{ ca: string; s: number; t: number; limit: number; rate: number; seconds: number; failures: number; cpuPerEnrolment: number; mainCpuPerEnrolment: number; generatorCpu: number }> = [];
    for (const ca of ['pem', 'softhsm'] as const) {
      const db = path.join(dir, `capf-${ca}.db`);
      const out = path.join(dir, `out-${ca}`);
      fs.mkdirSync(out);
      const names = Array.from({ length: args.phones + warmup }, (_, i) => `SEP${(0x100000000000 + i).toString(16).toUpperCase().slice(-12)}`);
      const csv = path.join(dir, `devices-${ca}.csv`);
      fs.writeFileSync(csv, ['device,op,auth,key', ...names.map((n) => `${n},install,none,ec:p256`)].join('\n'));
      await cli(['capf', 'device', 'add', '--db', db, '--from-csv', csv]);
      const issuerArgs = ca === 'pem' ? ['--issuer', issuerPem] : ['--issuer', 'pkcs11:token=bench-ca', '--issuer-cert', tokenCaFile];
      const server = await spawnChild(
        [...(process.env.CAPF_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CAPF_BENCH_PROFILE}`] : []), path.join(repoRoot, 'bin', 'openctl.js'), 'capf', 'serve', '--listen', '127.0.0.1:0', '--db', db, '--signer', capfPem, ...issuerArgs, '--out', out, '--max-sessions', String(Math.max(256, args.concurrency * 2))],
        ca === 'softhsm' ? { ...hsmEnv, OPENCTL_PKCS11_MODULE: SOFTHSM_MODULE } : {},
        /listening on 127\.0\.0\.1:(\d+)/,
      );
      const port = Number(server.match[1]);
      log(`${ca} CA: warm-up ${warmup}, then ${args.phones} enrolments at ${args.concurrency}...`);
      await drive(warmup, args.concurrency, (i) => phone(port, names[args.phones + i]!, spkis[i % spkis.length]!));
      const cpu0 = cpuMs(server.child.pid!);
      const main0 = cpuMs(server.child.pid!, server.child.pid!);
      const own0 = process.cpuUsage();
      const result = await drive(args.phones, args.concurrency, (i) => phone(port, names[i]!, spkis[i]!));
      const cpu1 = cpuMs(server.child.pid!);
      const main1 = cpuMs(server.child.pid!, server.child.pid!);
      const own = process.cpuUsage(own0);
      const generatorCpu = (own.user + own.system) / 1000 / args.phones;
      const cpuPerEnrolment = cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / (args.phones - result.failures) : NaN;
      // The event loop's own thread (TLS, the protocol, the LSC's ASN.1, SQLite statements): what one process
      // cannot spread; the rest is libuv's pool (signatures, file and WAL fsyncs, C_Sign) and V8's GC threads.
      const mainCpuPerEnrolment = main0 !== undefined && main1 !== undefined ? (main1 - main0) / (args.phones - result.failures) : NaN;
      await stop(server.child);
      const written = fs.readdirSync(out).filter((f) => f.endsWith('.pem')).length;
      if (written !== args.phones + warmup - result.failures) log(`${ca}: ${written} LSC files written, expected ${args.phones + warmup - result.failures}`);
      tRounds.push(await measureT());
      log(`limit T round: ${tRounds[tRounds.length - 1]!.toFixed(0)} conn/s`);
      const t = (tRounds[tRounds.length - 2]! + tRounds[tRounds.length - 1]!) / 2;
      const s = ca === 'pem' ? sPem : sToken;
      const limit = 1 / (1 / t + 1 / s);
      runs.push({ ca, s, t, limit, rate: result.perSecond, seconds: result.seconds, failures: result.failures, cpuPerEnrolment, mainCpuPerEnrolment, generatorCpu });
    }

    const fmt = (n: number) => n.toFixed(0);
    const lines = [
      `openctl capf serve: ${args.phones} phones (EC P-256 keys made beforehand), ${args.concurrency} at once, SQLite store, ${cores} cores, node ${process.version}`,
      '',
      `| measure | value |`,
      `|---|---|`,
      `| T: limit-T server (bench/tvs-limit.ts), same key, ${args.concurrency} at once, rounds before/after each run | ${tRounds.map(fmt).join(', ')} conn/s |`,
      `| S (PEM): openssl speed rsa2048, one process | ${fmt(sPem)} sign/s |`,
      `| S (SoftHSM): C_Sign, one thread | ${fmt(sToken)} sign/s |`,
      '',
      `| CPU of limit T's process per conversation | ${tCpu.map((c) => c.toFixed(2)).join(', ')} ms |`,
      `| load generator CPU per limit-T conversation | ${tGenCpu.map((c) => c.toFixed(2)).join(', ')} ms |`,
      '',
      `| issuing CA | T (mean of its rounds) | limit 1/(1/T+1/S) | enrolments/s | ratio | server CPU per enrolment | of which its main thread | load generator CPU per enrolment | failures |`,
      `|---|---|---|---|---|---|---|---|---|`,
      ...runs.map((r) => `| ${r.ca === 'pem' ? 'PEM (RSA 2048)' : 'SoftHSM (RSA 2048)'} | ${fmt(r.t)}/s | ${fmt(r.limit)}/s | ${fmt(r.rate)}/s (${r.seconds.toFixed(1)} s) | ${(r.rate / r.limit).toFixed(2)}x | ${r.cpuPerEnrolment.toFixed(2)} ms | ${r.mainCpuPerEnrolment.toFixed(2)} ms (${((100 * r.mainCpuPerEnrolment) / r.cpuPerEnrolment).toFixed(0)}%) | ${r.generatorCpu.toFixed(2)} ms | ${r.failures} |`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    await limitServer.stop();
    process.stdout.write(`${JSON.stringify({ bench: 'capf', phones: args.phones, concurrency: args.concurrency, tRounds, tCpu, tGenCpu, sPem, sToken, runs })}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:capf: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
