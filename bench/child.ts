import * as fs from 'node:fs';
import { runCli } from '../src/cli/main';
import { processIO } from '../src/cli/io';

/**
 * `node dist/bench/child.js <openctl args...>`: the CLI in a process of its own, which then reports its exit
 * code and its peak resident set (getrusage maxRSS, every thread included) to the file named by
 * OPENCTL_BENCH_REPORT. The benchmark runs every `openctl batch sign` through this.
 */
const report = process.env.OPENCTL_BENCH_REPORT;
const controller = new AbortController();
process.on('SIGINT', () => controller.abort(new Error('SIGINT')));
const started = process.hrtime.bigint();
runCli(process.argv.slice(2), processIO(), controller.signal).then(
  (code) => {
    const usage = process.resourceUsage();
    if (report) {
      fs.writeFileSync(
        report,
        JSON.stringify({
          code,
          maxRssKB: usage.maxRSS,
          cpuUserMs: usage.userCPUTime / 1000,
          cpuSystemMs: usage.systemCPUTime / 1000,
          wallMs: Number(process.hrtime.bigint() - started) / 1e6,
        }),
      );
    }
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench child: ${String(err)}\n`);
    process.exitCode = 70;
  },
);
