import type { Command } from 'commander';
import type { CliContext } from '../context';
import { readParsed, parseKindOption } from '../inputs';
import { buildReport } from '../../inspect/report';
import { renderShowText } from '../render/show-text';
import { printJson, out } from '../io';
import { ExitCode } from '../../util/errors';
import { verdictFor } from './verify-common';
import { collect } from '../options';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('show')
    .description('print a CTL, ITL, .sgn or .enc.sgn file in the layout of CUCM\'s `show ctl`, with its signature verdict')
    .argument('<file>', 'the file to show (kind detected from its content)')
    .option('--kind <kind>', 'ctl or itl: override the detection by header filename')
    .option('--cert <cert>', 'check a signed file against this certificate')
    .option('--trust <list>', 'check a signed file against the TFTP-capable records of this CTL/ITL (repeatable)', collect, [])
    .option('--json', 'print the report as JSON (schema: docs/json.md#show)')
    .action(async (file: string, opts: { kind?: string; cert?: string; trust: string[]; json?: boolean }) => {
      const parsed = await readParsed(file, parseKindOption(opts.kind));
      const verdict = await verdictFor(parsed, { cert: opts.cert, trust: opts.trust });
      const report = buildReport(file, parsed, verdict);
      if (opts.json) printJson(ctx.io, report);
      else out(ctx.io, renderShowText(report));
      // show succeeds whenever the file parses: the verdict is printed, not signalled.
      ctx.setExitCode(ExitCode.Ok);
    });
}
