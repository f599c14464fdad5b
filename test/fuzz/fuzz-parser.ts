/**
 * Mutation fuzzer for the codec: `npm run fuzz [-- --count N --seed S]`.
 * Mutates the interop vectors (bit flips, byte overwrites, length-field rewrites, truncations, splices,
 * insertions) and runs each input through parseFile, the show report and signature verification.
 * A crash is any exception that is not a FormatError; a hang is an input that takes longer than 2 s
 * (a watchdog thread reports the input and exits). Prints crashes, hangs and inputs per second.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseFile } from '../../src/formats';
import { buildReport } from '../../src/inspect/report';
import { verifyTrustListSelf } from '../../src/crypto/verify';
import { FormatError, OpenctlError } from '../../src/util/errors';
import { certificateInfo } from '../../src/crypto/certificate';
import { certificateRanges, mutateCertificate, type CertRange } from './cert-mutations';
import { VECTORS } from '../helpers/paths';

interface Options {
  count: number;
  seed: number;
  saveDir: string;
}

function parseArgs(argv: string[]): Options {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    count: Number(get('--count') ?? 100_000),
    seed: Number(get('--seed') ?? Date.now() % 2 ** 31),
    saveDir: get('--save') ?? path.join(process.cwd(), 'fuzz-findings'),
  };
}

/** Small deterministic PRNG (mulberry32), so a finding can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function corpus(): Buffer[] {
  const files: Buffer[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(tlv|sgn)$/.test(entry.name)) files.push(fs.readFileSync(full));
    }
  };
  walk(VECTORS);
  return files;
}

function mutate(seedInput: Buffer, others: Buffer[], rand: () => number): Buffer {
  const buf = Buffer.from(seedInput);
  const pick = (n: number) => Math.floor(rand() * n);
  const rounds = 1 + pick(4);
  let out = buf;
  for (let i = 0; i < rounds; i += 1) {
    switch (pick(7)) {
      case 0: // bit flip
        if (out.length) out[pick(out.length)] ^= 1 << pick(8);
        break;
      case 1: // interesting byte
        if (out.length) out[pick(out.length)] = [0, 1, 0x0d, 0x7f, 0x80, 0xff][pick(6)];
        break;
      case 2: // rewrite a 2-byte length with an edge value
        if (out.length > 3) out.writeUInt16BE([0, 1, 2, 3, 0xffff, 0x8000, out.length, out.length - 3][pick(8)] & 0xffff, pick(out.length - 2));
        break;
      case 3: // truncate
        out = out.subarray(0, pick(out.length + 1));
        break;
      case 4: {
        // splice in a piece of another vector
        const other = others[pick(others.length)];
        const start = pick(other.length);
        const piece = other.subarray(start, start + pick(64));
        const at = pick(out.length + 1);
        out = Buffer.concat([out.subarray(0, at), piece, out.subarray(at)]);
        break;
      }
      case 5: {
        // delete a run
        const at = pick(out.length + 1);
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + pick(32))]);
        break;
      }
      default: {
        // duplicate a run (repeated elements, records)
        const at = pick(out.length + 1);
        const run = out.subarray(at, at + pick(200));
        out = Buffer.concat([out.subarray(0, at), run, out.subarray(at)]);
      }
    }
  }
  return out;
}

function exercise(input: Buffer): void {
  try {
    const parsed = parseFile(input);
    const verdict = parsed.kind === 'ctl' || parsed.kind === 'itl' ? verifyTrustListSelf(parsed) : undefined;
    buildReport('fuzz', parsed, verdict);
    // The certificate readers of preflight and diff (certificateInfo over every record), which show's report
    // leaves to the trust evaluation.
    if (parsed.kind === 'ctl' || parsed.kind === 'itl') {
      for (const record of parsed.records) {
        if (!record.certificate) continue;
        try {
          certificateInfo(record.certificate);
        } catch (err) {
          if (!(err instanceof OpenctlError)) throw err; // "not a valid certificate" is an answer, not a crash
        }
      }
    }
  } catch (err) {
    if (err instanceof FormatError) return;
    throw err;
  }
}

/** Every input of a run, in order: the same seed replays the same inputs (used to save a hang's input). */
function* inputs(files: Buffer[], seed: number): Generator<Buffer> {
  const rand = rng(seed);
  const ranges = new Map<Buffer, CertRange[]>();
  const rangesOf = (file: Buffer) => {
    if (!ranges.has(file)) {
      try {
        ranges.set(file, certificateRanges(file));
      } catch {
        ranges.set(file, []);
      }
    }
    return ranges.get(file)!;
  };
  for (;;) {
    const file = files[Math.floor(rand() * files.length)];
    // One input in four is mutated inside an embedded certificate, framing intact (see cert-mutations.ts).
    const certs = rangesOf(file);
    yield certs.length > 0 && rand() < 0.25 ? mutateCertificate(file, certs, rand) : mutate(file, files, rand);
  }
}

function inputAt(files: Buffer[], seed: number, index: number): Buffer {
  const gen = inputs(files, seed);
  for (let i = 0; i < index; i += 1) gen.next();
  return gen.next().value as Buffer;
}

interface WorkerData extends Options {
  progress: SharedArrayBuffer;
}

function fuzzWorker(options: WorkerData): void {
  const files = corpus();
  const progress = new Int32Array(options.progress);
  let crashes = 0;
  const gen = inputs(files, options.seed);
  const start = process.hrtime.bigint();
  for (let i = 0; i < options.count; i += 1) {
    const input = gen.next().value as Buffer;
    Atomics.store(progress, 0, i);
    try {
      exercise(input);
    } catch (err) {
      crashes += 1;
      parentPort!.postMessage({ type: 'crash', index: i, input, message: (err as Error).stack ?? String(err) });
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  parentPort!.postMessage({ type: 'done', count: options.count, crashes, seconds });
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  const progress = new SharedArrayBuffer(4);
  const worker = new Worker(__filename, { workerData: { ...options, progress } });
  const seen = new Int32Array(progress);
  const crashes: Array<{ index: number; message: string }> = [];
  const save = (name: string, input: Uint8Array) => {
    fs.mkdirSync(options.saveDir, { recursive: true });
    fs.writeFileSync(path.join(options.saveDir, name), input);
  };
  let last = -1;
  let since = Date.now();
  const watchdog = setInterval(() => {
    const index = Atomics.load(seen, 0);
    if (index !== last) {
      last = index;
      since = Date.now();
    } else if (Date.now() - since > 2000) {
      void worker.terminate();
      save(`hang-${options.seed}-${index}.bin`, inputAt(corpus(), options.seed, index));
      console.log(`fuzz: HANG at input ${index} (seed ${options.seed}), saved in ${options.saveDir}`);
      console.log(JSON.stringify({ result: 'hang', seed: options.seed, index }));
      process.exit(1);
    }
  }, 250);
  worker.on('message', (m: { type: string; index: number; input: Uint8Array; message: string; count: number; crashes: number; seconds: number }) => {
    if (m.type === 'crash') {
      crashes.push({ index: m.index, message: m.message.split('\n')[0] });
      save(`crash-${options.seed}-${m.index}.bin`, m.input);
    } else if (m.type === 'done') {
      clearInterval(watchdog);
      const summary = { inputs: m.count, crashes: m.crashes, hangs: 0, seconds: Number(m.seconds.toFixed(2)), inputsPerSecond: Math.round(m.count / m.seconds), seed: options.seed };
      console.log(`fuzz: ${summary.inputs} inputs, ${summary.crashes} crashes, 0 hangs, ${summary.inputsPerSecond} inputs/s (seed ${summary.seed})`);
      for (const c of crashes.slice(0, 10)) console.log(`  crash at input ${c.index}: ${c.message}`);
      console.log(JSON.stringify(summary));
      process.exitCode = m.crashes ? 1 : 0;
    }
  });
  worker.on('error', (err) => {
    console.error(`fuzz worker died: ${err.message}`);
    process.exit(1);
  });
}

if (isMainThread) main();
else fuzzWorker(workerData as WorkerData);
