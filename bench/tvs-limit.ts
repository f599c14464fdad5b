import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';

/**
 * Limit T and the load generator, shared by the service benchmarks (`npm run bench:tvs`, and CAPF's).
 *
 * Limit T is a bare Node TLS server on the same key and certificate as the service: it accepts, reads one
 * request (by the protocol's framing, nothing decoded), writes a fixed answer and closes; optionally it speaks
 * first (CAPF). It runs in its own process, like the service, and the same load generator drives both in the
 * same run, so that the ratio says what the service's own work costs on this machine at that moment.
 */

export interface LimitTOptions {
  keyPem: string;
  certPem: string;
  /** The fixed answer. */
  answer: Buffer;
  /** Bytes the server writes first (CAPF's auth request); none for TVS. */
  speakFirst?: Buffer;
  /** Offset and size of the big-endian body length in the header, and the header's length (TVS: 8, 2, 10). */
  framing: { lengthOffset: number; lengthBytes: 1 | 2 | 4; headerLength: number };
  /** Default TLSv1.2, like the services. */
  minVersion?: tls.SecureVersion;
}

export interface RunningServer {
  port: number;
  pid: number;
  /** Peak resident set of the process so far (VmHWM), bytes; undefined where /proc is not available. */
  peakRss(): number | undefined;
  /** CPU time used so far, ms. */
  cpuMs(): number | undefined;
  stop(): Promise<void>;
}

/** Start limit T in a child process. */
export function startLimitT(options: LimitTOptions): Promise<RunningServer> {
  const child = spawn(process.execPath, [path.join(__dirname, 'tvs-limit-server.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin!.end(
    JSON.stringify({ ...options, answer: options.answer.toString('base64'), speakFirst: options.speakFirst?.toString('base64') }),
  );
  return waitForPort(child, /^listening on 127\.0\.0\.1:(\d+)$/m);
}

/** Wait for a child's `listening on 127.0.0.1:PORT` line (the same line `openctl tvs serve` prints). */
export function waitForPort(child: ChildProcess, pattern = /^listening on 127\.0\.0\.1:(\d+)$/m): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    let text = '';
    const exited = (code: number | null) => reject(new Error(`server exited (${code}) before listening: ${text}`));
    child.once('exit', exited);
    child.stdout!.on('data', (c: Buffer) => {
      text += c.toString();
      const m = pattern.exec(text);
      if (m) {
        child.off('exit', exited);
        resolve({
          port: Number(m[1]),
          pid: child.pid!,
          peakRss: () => peakRss(child.pid!),
          cpuMs: () => cpuMs(child.pid!),
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}

/** CPU time (user + system) a process has used so far, in ms; undefined where /proc is not available. */
/** CPU time (user + system) of a process, or of one of its threads (`tid`; the main thread's is the pid). */
export function cpuMs(pid: number, tid?: number): number | undefined {
  try {
    const fields = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

export function peakRss(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface LoadOptions {
  port: number;
  concurrency: number;
  durationMs: number;
  warmupMs?: number;
  /** One phone's conversation on a fresh TLS connection; resolves when the answer is complete. */
  conversation(socket: tls.TLSSocket): Promise<void>;
  timeoutMs?: number;
}

export interface LoadResult {
  concurrency: number;
  completed: number;
  errors: number;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * `concurrency` phones, each in a loop: new TLS connection (no session resumption: every phone is a new
 * client), one conversation, close. Counts the conversations that end inside the measured window (after the
 * warm-up), and their latency from the connect to the last byte of the answer.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const warmupMs = options.warmupMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + options.durationMs;
  const latencies: number[] = [];
  let errors = 0;
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const socket = tls.connect({ host: '127.0.0.1', port: options.port, rejectUnauthorized: false });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('timeout'));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('secureConnect', () => {
        options.conversation(socket).then(
          () => {
            clearTimeout(timer);
            socket.destroy();
            resolve(performance.now() - t0);
          },
          (err: unknown) => {
            clearTimeout(timer);
            socket.destroy();
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
      });
    });
  // Conversations are counted by when they END: inside the window, whenever they began (at 512 phones on a
  // slow machine one conversation can outlast a short window).
  const phone = async () => {
    while (performance.now() < end) {
      try {
        const ms = await once();
        const now = performance.now();
        if (now >= measureFrom && now <= end) latencies.push(ms);
      } catch {
        const now = performance.now();
        if (now >= measureFrom && now <= end) errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, phone));
  latencies.sort((a, b) => a - b);
  const pct = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! : NaN);
  return {
    concurrency: options.concurrency,
    completed: latencies.length,
    errors,
    qps: latencies.length / (options.durationMs / 1000),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    maxMs: latencies.length ? latencies[latencies.length - 1]! : NaN,
  };
}

/** Read until `complete(buffer)` says a whole answer is there (or the server closes: then it must be complete). */
export function readAnswer(socket: tls.TLSSocket, complete: (b: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const check = () => {
      const all = Buffer.concat(parts, size);
      if (complete(all)) {
        cleanup();
        resolve(all);
        return true;
      }
      return false;
    };
    const onData = (c: Buffer) => {
      parts.push(c);
      size += c.length;
      check();
    };
    const onEnd = () => {
      if (!check()) {
        cleanup();
        reject(new Error(`connection closed after ${size} bytes, answer incomplete`));
      }
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
  });
}
