import * as path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { out, printJson } from '../io';
import { collect } from '../options';
import { ExitCode, OpenctlError } from '../../util/errors';
import { preflight, preflightFleet, renderFleet, renderPreflight, type PhoneTrust, type TvsModel, type PhoneFile } from '../../trust';
import { readFleet, readPhoneFiles, readPhoneTrust, readTvs, type InputSettings } from '../../fetch/inputs';

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
      if (opts.fleet && opts.phoneHas.length > 0) {
        throw new OpenctlError('give either --fleet or --phone-has, not both (a fleet folder says what each group holds)');
      }
      const deploy = await readPhoneFiles(opts.deploy ?? [], settings);
      if (deploy.length === 0) throw new OpenctlError('--deploy: no files to check (a folder contributes its .tlv, .sgn and .xml files)');
      let live: LiveTvsSummary | undefined;
      let tvs: TvsModel;
      const groups = opts.fleet ? await readFleet(opts.fleet, opts.sbd, settings) : undefined;
      const phone: PhoneTrust | undefined = groups ? undefined : await readPhoneTrust(opts.phoneHas, opts.sbd, settings);
      if (opts.tvs) {
        ({ tvs, live } = await askTvs(opts, settings, deploy, groups ? groups.map((g) => g.phone) : [phone!]));
      } else {
        tvs = await readTvs(opts.tvsKnows, opts.tvsCert, settings);
      }
      if (live && !opts.json) out(ctx.io, `asked TVS ${live.server} about ${live.asked} certificate${live.asked === 1 ? '' : 's'}: it vouches for ${live.trusted}`);

      if (groups) {
        const fleet = preflightFleet(groups, deploy, tvs);
        if (opts.json) {
          printJson(ctx.io, {
            ok: fleet.ok,
            groups: fleet.groups.map((g) => ({ name: g.name, phones: g.phones, ok: g.result.ok, before: g.result.before, files: g.result.verdicts, after: g.result.after })),
            perFile: fleet.perFile,
            groupsRejecting: fleet.groupsRejecting,
            phonesRejecting: fleet.phonesRejecting,
            ...(live ? { tvs: live } : {}),
          });
        } else {
          out(ctx.io, renderFleet(fleet));
        }
        ctx.setExitCode(fleet.ok ? ExitCode.Ok : ExitCode.Rejected);
        return;
      }

      const result = preflight(phone!, deploy, tvs);
      if (opts.json) {
        printJson(ctx.io, { ok: result.ok, before: result.before, tvs: { knows: tvs.knows.length, serviceCertificates: tvs.serviceCertificates?.length ?? 0, ...live }, files: result.verdicts, after: result.after });
      } else {
        out(ctx.io, renderPreflight(result, tvs));
      }
      ctx.setExitCode(result.ok ? ExitCode.Ok : ExitCode.Rejected);
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
  const { readInput } = await import('./tvs'); // refuses FIFOs and devices instead of blocking on them
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
