import type { Command } from 'commander';
import type { CliContext } from '../context';
import { out, printJson } from '../io';
import { collect } from '../options';
import { loadCertificateSpec } from '../signer-spec';
import { ExitCode, OpenctlError } from '../../util/errors';
import { readPhoneFiles, readPhoneTrust, readTvs } from '../../fetch/inputs';
import { planRecovery, renderRecovery, type HeldKey } from '../../plan/recover';
import { parseTimeout } from './preflight';

interface RecoverOptions {
  phoneHas: string[];
  have: string[];
  serves: string[];
  tvsKnows: string[];
  tvsCert: string[];
  sbd: boolean;
  timeout?: string;
  json?: boolean;
}

/** `openctl plan recover`: phones already reject the current CTL or ITL; what can still be signed, or the manual steps. */
export function registerRecover(plan: Command, ctx: CliContext, debug: () => boolean): void {
  plan
    .command('recover')
    .description('phones reject the current ITL or CTL: what you can still sign that they accept (ITLRecovery, a SAST token), or how to delete the trust list on the phones')
    .requiredOption('--phone-has <file>', 'the CTL and/or ITL the phones hold (path or tftp:// / http:// URL; repeatable)', collect, [])
    .option('--have <cert>', 'a key you still hold: its certificate, PEM with key, or pkcs11: URI (repeatable; read without a PIN)', collect, [])
    .option('--serves <files...>', 'what the TFTP server serves now, which phones reject (files or folders)')
    .option('--tvs-knows <cert>', "a certificate the cluster's TVS vouches for, optionally ROLE:CERT (repeatable)", collect, [])
    .option('--tvs-cert <cert>', "the TVS service's own certificate (repeatable)", collect, [])
    .option('--no-sbd', 'phones without Security by Default (7940/7960): no TVS')
    .option('--timeout <ms>', 'per-packet timeout for URL inputs', '2000')
    .option('--json', 'print the recovery report as JSON')
    .action(async (opts: RecoverOptions) => {
      const settings = { cwd: ctx.io.cwd, timeoutMs: parseTimeout(opts.timeout), signal: ctx.signal };
      if (opts.phoneHas.length === 0) throw new OpenctlError('--phone-has: name the CTL and/or ITL the phones hold');
      const phone = await readPhoneTrust(opts.phoneHas, opts.sbd, settings);
      const have: HeldKey[] = [];
      for (const spec of opts.have) {
        have.push({ source: spec, certificate: await loadCertificateSpec(spec, { io: ctx.io, interactive: false, debug: debug(), signal: ctx.signal }) });
      }
      const serves = opts.serves?.length ? await readPhoneFiles(opts.serves, settings) : undefined;
      const tvs = await readTvs(opts.tvsKnows, opts.tvsCert, settings);
      const report = planRecovery({ phone, have, tvs, serves });
      if (opts.json) printJson(ctx.io, report);
      else out(ctx.io, renderRecovery(report));
      ctx.setExitCode(report.lockedOut ? ExitCode.Rejected : ExitCode.Ok);
    });
}
