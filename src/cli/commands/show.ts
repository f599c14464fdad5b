import type { Command } from 'commander';
import type { CliContext } from '../context';
import { readParsedSpec, parseKindOption } from '../inputs';
import { buildReport } from '../../inspect/report';
import { renderShowText } from '../render/show-text';
import { printJson, out } from '../io';
import { ExitCode } from '../../util/errors';
import { verdictFor } from './verify-common';
import { collect, parseFetchTimeout } from '../options';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('show')
    .description('print a CTL, ITL, .sgn, .enc.sgn or firmware file in the layout of CUCM\'s `show ctl`, with its signature verdict')
    .argument('<file>', 'the file to show (path or tftp:// / http:// URL; kind detected from its content)')
    .option('--kind <kind>', 'ctl or itl: override the detection by header filename')
    .option('--cert <cert>', 'check a signed file against this certificate')
    .option('--trust <list>', 'check a signed file against the TFTP-capable records of this CTL/ITL (path or URL; repeatable)', collect, [])
    .option('--summary', 'one line per record with its certificate\'s expiry (as the Windows CTL Client lists them), then the verdict')
    .option('--timeout <ms>', 'per-packet timeout for URL inputs', '2000')
    .option('--json', 'print the report as JSON (schema: docs/json.md#show)')
    .action(async (file: string, opts: { kind?: string; cert?: string; trust: string[]; summary?: boolean; timeout?: string; json?: boolean }) => {
      const url = { timeoutMs: parseFetchTimeout(opts.timeout), signal: ctx.signal };
      const parsed = await readParsedSpec(file, parseKindOption(opts.kind), url);
      const verdict = await verdictFor(parsed, { cert: opts.cert, trust: opts.trust, url });
      const report = buildReport(file, parsed, verdict);
      // Certificates are decoded (for their expiry) only for the summary and JSON, and that code loads only then:
      // the `show ctl` layout hashes certificates and must stay fast on a 1,000-record list.
      const summary =
        (opts.summary || opts.json) && (parsed.kind === 'ctl' || parsed.kind === 'itl')
          ? (await import('../../inspect/summary')).summarizeRecords(parsed, report.verdict.signerRecord === undefined ? undefined : report.verdict.signerRecord - 1)
          : undefined;
      if (opts.json) printJson(ctx.io, summary ? { ...report, summary } : report);
      else if (opts.summary) out(ctx.io, (await import('../render/show-summary')).renderShowSummary(report, summary));
      else out(ctx.io, renderShowText(report));
      // show succeeds whenever the file parses: the verdict is printed, not signalled.
      ctx.setExitCode(ExitCode.Ok);
    });
}
