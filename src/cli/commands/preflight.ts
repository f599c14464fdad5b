import type { Command } from 'commander';
import type { CliContext } from '../context';
import { out, printJson } from '../io';
import { collect } from '../options';
import { ExitCode, OpenctlError } from '../../util/errors';
import { preflightReport } from '../../fetch/preflight-report';

interface PreflightOptions {
  phoneHas: string[];
  tvsKnows: string[];
  tvsCert: string[];
  sbd: boolean; // commander's --no-sbd
  deploy?: string[];
  fleet?: string;
  timeout?: string;
  json?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('preflight')
    .description('predict what phones do with new CTL, ITL and config files before a rollout (accepted, accepted via TVS, rejected)')
    .requiredOption('--deploy <files...>', 'the new files (CTL, ITL, configs; folders give their .tlv/.sgn/.xml files), offered in phone download order')
    .option('--phone-has <file>', 'a CTL or ITL the phone holds now: a path, tftp://HOST[:PORT]/NAME or http://HOST:6970/NAME (repeatable; none: a phone that holds nothing)', collect, [])
    .option('--tvs-knows <cert>', "a certificate the cluster's TVS vouches for, optionally ROLE:CERT (repeatable)", collect, [])
    .option('--tvs-cert <cert>', "the TVS service's own certificate: phones reach TVS only if their ITL holds it (repeatable)", collect, [])
    .option('--no-sbd', 'phones without Security by Default (7940/7960): no TVS')
    .option('--fleet <dir>', "many phones: one sub-folder per phone or group with its current CTL/ITL (and optional phone.json)")
    .option('--timeout <ms>', 'per-packet timeout for tftp:// and http:// inputs', '2000')
    .option('--json', 'print the verdicts as JSON')
    .action(async (opts: PreflightOptions) => {
      const settings = { cwd: ctx.io.cwd, timeoutMs: parseTimeout(opts.timeout), signal: ctx.signal };
      const report = await preflightReport(
        { deploy: opts.deploy ?? [], phoneHas: opts.phoneHas, tvsKnows: opts.tvsKnows, tvsCert: opts.tvsCert, sbd: opts.sbd, fleet: opts.fleet },
        settings,
      );
      if (opts.json) printJson(ctx.io, report.json);
      else out(ctx.io, report.text);
      ctx.setExitCode(report.ok ? ExitCode.Ok : ExitCode.Rejected);
    });
}

export function parseTimeout(value: string | undefined): number {
  const n = Number(value ?? '2000');
  if (!Number.isInteger(n) || n < 1 || n > 600000) throw new OpenctlError(`--timeout must be milliseconds (1 to 600000), not "${value}"`);
  return n;
}
