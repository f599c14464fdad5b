import * as path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { out, printJson } from '../io';
import { collect } from '../options';
import { ExitCode, OpenctlError } from '../../util/errors';
import type { PhoneTrust, PhoneFile } from '../../trust';
import { readTvs, type InputSettings } from '../../fetch/inputs';
import { preflightReport, type TvsSource } from '../../fetch/preflight-report';
import { readInput } from '../../util/read-input';

interface PreflightOptions {
  phoneHas: string[];
  tvsKnows: string[];
  tvsCert: string[];
  tvs?: string;
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
    .option('--tvs-cert <cert>', "the TVS service's own certificate: phones reach TVS only if their ITL holds it (repeatable); with --tvs, what authenticates the live TVS: its certificate or an ITL whose TVS records name it", collect, [])
    .option('--tvs <host[:port]>', 'ask this live TVS (openctl tvs serve or CUCM, port 2445 by default) what it vouches for, about every certificate of the lists deployed and held (and of --tvs-knows)')
    .option('--no-sbd', 'phones without Security by Default (7940/7960): no TVS')
    .option('--fleet <dir>', "many phones: one sub-folder per phone or group with its current CTL/ITL (and optional phone.json)")
    .option('--timeout <ms>', 'per-packet timeout for tftp:// and http:// inputs', '2000')
    .option('--json', 'print the verdicts as JSON')
    .action(async (opts: PreflightOptions) => {
      const settings = { cwd: ctx.io.cwd, timeoutMs: parseTimeout(opts.timeout), signal: ctx.signal };
      const askLive: TvsSource | undefined = opts.tvs ? (deploy, phones) => askTvs(opts, settings, deploy, phones) : undefined;
      const report = await preflightReport(
        { deploy: opts.deploy ?? [], phoneHas: opts.phoneHas, tvsKnows: opts.tvsKnows, tvsCert: opts.tvsCert, sbd: opts.sbd, fleet: opts.fleet },
        settings,
        askLive,
      );
      const live = (report.json.tvs ?? {}) as Partial<LiveTvsSummary>;
      if (opts.tvs && live.server && !opts.json) out(ctx.io, `asked TVS ${live.server} about ${live.asked} certificate${live.asked === 1 ? '' : 's'}: it vouches for ${live.trusted}`);
      if (opts.json) printJson(ctx.io, report.json);
      else out(ctx.io, report.text);
      ctx.setExitCode(report.ok ? ExitCode.Ok : ExitCode.Rejected);
    });
}

interface LiveTvsSummary {
  server: string;
  asked: number;
  trusted: number;
}

/** `--tvs HOST`: the live TVS, authenticated by --tvs-cert, asked about every certificate phones could meet. */
async function askTvs(opts: PreflightOptions, settings: InputSettings & { timeoutMs: number }, deploy: PhoneFile[], phones: PhoneTrust[]) {
  const { parseTvsTarget, tvsAnchorsFrom, DEFAULT_DEVICE } = await import('../../services/tvs/client');
  const { askLiveTvs, candidateCertificates } = await import('../../services/tvs/ask');
  const { readInput } = await import('../inputs'); // refuses FIFOs and devices instead of blocking on them
  if (opts.tvsCert.length === 0) {
    throw new OpenctlError('--tvs needs --tvs-cert: the TVS certificate, or an ITL whose TVS record names it (phones authenticate TVS that way)');
  }
  const target = parseTvsTarget(opts.tvs!);
  const anchors = { certificates: [] as Buffer[], source: opts.tvsCert.join(', ') };
  for (const spec of opts.tvsCert) {
    anchors.certificates.push(...tvsAnchorsFrom(await readInput(path.resolve(settings.cwd ?? process.cwd(), spec), 'certificate or ITL'), spec).certificates);
  }
  const extra = (await readTvs(opts.tvsKnows, [], settings)).knows.map((k) => k.certificate);
  const candidates = candidateCertificates(deploy, phones, extra);
  const live = await askLiveTvs(target, anchors, candidates, { deviceName: DEFAULT_DEVICE, timeoutMs: Math.max(settings.timeoutMs, 5000) });
  const summary: LiveTvsSummary = { server: live.server, asked: live.asked, trusted: live.trusted };
  return { tvs: live.model, live: summary };
}

export function parseTimeout(value: string | undefined): number {
  const n = Number(value ?? '2000');
  if (!Number.isInteger(n) || n < 1 || n > 600000) throw new OpenctlError(`--timeout must be milliseconds (1 to 600000), not "${value}"`);
  return n;
}
