import * as path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { out, printJson } from '../io';
import { collect, parseDigest, parseTimestamp } from '../options';
import { openSigner, loadCertificateSpec } from '../signer-spec';
import { ExitCode } from '../../util/errors';
import { registerRecover } from './plan-recover';
import {
  CERT_KINDS,
  MOVE_METHODS,
  PLAN_FIELDS,
  buildPlan,
  checkPlan,
  fileHoldsKey,
  planJson,
  renderPlan,
  writePlan,
  type PlanCommonRequest,
  type PlanInputHost,
  type PlanRequest,
} from '../../plan';

interface CommonOpts {
  config: string[];
  itl?: string;
  ctl?: string;
  itlSigner?: string;
  ctlSigner?: string;
  configSigner?: string;
  digest?: string;
  sbd: boolean;
  timestamp?: string;
  out?: string;
  force?: boolean;
  json?: boolean;
  wait?: boolean;
}

interface RegenerateOpts extends CommonOpts {
  cert: string[];
  order?: string;
  newCapf?: string;
  newTvs?: string;
  newCallmanager?: string;
  newTftp?: string;
  newItlrecovery?: string;
}

interface MoveOpts extends CommonOpts {
  method: string;
  fromItl?: string;
  fromCtl?: string;
  fromItlSigner?: string;
  toItl?: string;
  toCtl?: string;
  toCtlSigner?: string;
  toConfigSigner?: string;
}

interface ReimageOpts extends CommonOpts {
  newTftp?: string;
  newItlSigner?: string;
  newTvs?: string;
  newCapf?: string;
  withoutRollback?: boolean;
}

interface RollbackOpts extends CommonOpts {
  nextItlSigner?: string;
  nextConfigSigner?: string;
}

/** The CLI's side of a plan request: keys are signer strings, opened with the CLI's PIN prompts, named by option. */
function cliHost(ctx: CliContext, debug: boolean, noWait: boolean): PlanInputHost<string> {
  return {
    cwd: ctx.io.cwd,
    signal: ctx.signal,
    name: (field) => PLAN_FIELDS[field].option,
    describe: (spec) => spec,
    openSigner: (spec) =>
      openSigner(spec, {
        io: ctx.io,
        interactive: Boolean(ctx.io.stdin.isTTY && ctx.io.stderr.isTTY),
        noWait,
        debug,
        signal: ctx.signal,
      }),
    holdsKey: async (spec, mustSign) => (spec.startsWith('pkcs11:') ? mustSign : fileHoldsKey(path.resolve(ctx.io.cwd, spec))),
    loadCertificate: (spec) => loadCertificateSpec(spec, { io: ctx.io, interactive: false, debug }),
  };
}

function commonRequest(opts: CommonOpts): PlanCommonRequest {
  return { configs: opts.config, digest: parseDigest(opts.digest), sbd: opts.sbd, timestamp: parseTimestamp(opts.timestamp) };
}

function currentRequest(opts: CommonOpts) {
  return { ...commonRequest(opts), itl: opts.itl, ctl: opts.ctl, itlSigner: opts.itlSigner, ctlSigner: opts.ctlSigner, configSigner: opts.configSigner };
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'a plain config to sign at every step (repeatable; default: a sample SEP000000000000.cnf.xml)', collect, [])
    .option('--digest <alg>', 'config signature digest: sha1 (default), sha256 or sha512')
    .option('--no-sbd', 'check for phones without Security by Default (7940/7960): no TVS')
    .option('--timestamp <unix>', 'header timestamp of step 1 (later steps add a second each)')
    .option('--out <dir>', 'write the plan folder here (steps 01-..., 02-..., plan.json, PLAN.txt); without it, only check')
    .option('--force', 'replace an earlier plan folder')
    .option('--no-wait', 'fail (exit 3) instead of asking to insert a token that is not present')
    .option('--json', 'print plan.json instead of the text plan');
}

async function run(request: PlanRequest<string>, opts: CommonOpts, ctx: CliContext, debug: boolean): Promise<void> {
  const plan = await buildPlan(request, cliHost(ctx, debug, opts.wait === false));
  const check = checkPlan(plan);
  const outDir = opts.out ? path.resolve(ctx.io.cwd, opts.out) : undefined;
  if (check.ok && outDir) await writePlan(plan, check, outDir, { force: opts.force });
  if (opts.json) printJson(ctx.io, { ...planJson(plan, check), written: check.ok && outDir ? outDir : null });
  else out(ctx.io, renderPlan(plan, check, check.ok ? outDir : undefined).replace(/\nresult: every step passes preflight$/, '\nresult: every step passes preflight (check only: give --out to write the files)'));
  ctx.setExitCode(check.ok ? ExitCode.Ok : ExitCode.Rejected);
}

export function register(program: Command, ctx: CliContext): void {
  const debug = () => program.opts<{ debug?: boolean }>().debug ?? false;
  const plan = program
    .command('plan')
    .description('procedures as checked, ordered file sets: every step is preflighted, and a plan that would lock phones out is refused');

  addCommon(
    plan
      .command('regenerate')
      .description('regenerate certificates (capf, tvs, callmanager, tftp, itlrecovery): TFTP last, never CallManager and TVS together while CallManager signs the ITL')
      .requiredOption('--cert <kind>', `a certificate to regenerate: ${CERT_KINDS.join('|')} (repeatable)`, collect, [])
      .option('--itl <file>', 'the ITL phones hold now (path or tftp:// / http:// URL)')
      .option('--ctl <file>', 'the CTL phones hold now (mixed mode)')
      .option('--itl-signer <signer>', 'the key that signs the ITL now (ITLRecovery, or the TFTP node\'s CallManager before 12.0)')
      .option('--ctl-signer <signer>', 'a SAST token (or key) of the current CTL')
      .option('--config-signer <signer>', 'the key that signs configs now (the TFTP node\'s CallManager)')
      .option('--new-capf <cert>', 'the regenerated CAPF certificate')
      .option('--new-tvs <cert>', 'the regenerated TVS certificate')
      .option('--new-callmanager <signer>', 'the regenerated CallManager certificate (with its key when it signs the ITL or configs)')
      .option('--new-tftp <signer>', 'the regenerated TFTP node certificate, with its key')
      .option('--new-itlrecovery <signer>', 'the regenerated ITLRecovery certificate, with its key')
      .option('--order <steps>', 'steps in order, "," between steps and "+" within one, e.g. "tvs,callmanager" (default: one per step, TFTP last)'),
  ).action((opts: RegenerateOpts) =>
    run(
      {
        procedure: 'regenerate',
        ...currentRequest(opts),
        certs: opts.cert,
        newCerts: { capf: opts.newCapf, tvs: opts.newTvs, callmanager: opts.newCallmanager, tftp: opts.newTftp, itlrecovery: opts.newItlrecovery },
        order: opts.order,
      },
      opts,
      ctx,
      debug(),
    ),
  );

  addCommon(
    plan
      .command('move-cluster')
      .description('move phones to another cluster: via the rollback ITL, the other cluster\'s certificates in TVS, or shared SAST tokens')
      .requiredOption('--method <method>', `${MOVE_METHODS.join('|')}`)
      .option('--from-itl <file>', 'the ITL the phones hold now (cluster A)')
      .option('--from-ctl <file>', 'the CTL the phones hold now (cluster A, mixed mode)')
      .option('--from-itl-signer <signer>', 'cluster A\'s ITL signer (method rollback)')
      .option('--to-itl <file>', 'the ITL cluster B serves')
      .option('--to-ctl <file>', 'the CTL cluster B serves')
      .option('--to-ctl-signer <signer>', 'a SAST token cluster A\'s CTL lists, to sign B\'s CTL (method shared-sast)')
      .option('--to-config-signer <signer>', 'the key that signs cluster B\'s configs'),
  ).action((opts: MoveOpts) =>
    run(
      {
        procedure: 'move-cluster',
        ...commonRequest(opts),
        method: opts.method,
        fromItl: opts.fromItl,
        fromCtl: opts.fromCtl,
        fromItlSigner: opts.fromItlSigner,
        toItl: opts.toItl,
        toCtl: opts.toCtl,
        toCtlSigner: opts.toCtlSigner,
        toConfigSigner: opts.toConfigSigner,
      },
      opts,
      ctx,
      debug(),
    ),
  );

  addCommon(
    plan
      .command('reimage')
      .description('re-image a TFTP server (a new TFTP key): behind the rollback ITL, or with --without-rollback relying on TVS')
      .option('--itl <file>', 'the ITL phones hold now')
      .option('--ctl <file>', 'the CTL phones hold now (mixed mode)')
      .option('--itl-signer <signer>', 'the key that signs the ITL now')
      .option('--ctl-signer <signer>', 'a SAST token (or key) of the current CTL')
      .option('--config-signer <signer>', 'the key that signs configs now (the TFTP node\'s CallManager)')
      .option('--new-tftp <signer>', 'the re-imaged server\'s new CallManager certificate and key')
      .option('--new-itl-signer <signer>', 'a new ITLRecovery certificate and key (publisher re-imaged without its backup)')
      .option('--new-tvs <cert>', 'the re-imaged server\'s new TVS certificate')
      .option('--new-capf <cert>', 'the re-imaged server\'s new CAPF certificate')
      .option('--without-rollback', 'do not serve the rollback ITL first (phones rely on TVS)'),
  ).action((opts: ReimageOpts) =>
    run(
      {
        procedure: 'reimage',
        ...currentRequest(opts),
        newTftp: opts.newTftp,
        newItlSigner: opts.newItlSigner,
        newTvs: opts.newTvs,
        newCapf: opts.newCapf,
        withoutRollback: opts.withoutRollback,
      },
      opts,
      ctx,
      debug(),
    ),
  );

  addCommon(
    plan
      .command('rollback')
      .description('serve the rollback ITL (phones then accept any config and any new ITL), roll back, and optionally a new ITL')
      .option('--itl <file>', 'the ITL phones hold now')
      .option('--ctl <file>', 'the CTL phones hold now (mixed mode)')
      .option('--itl-signer <signer>', 'the key that signs the ITL now (it signs the rollback ITL)')
      .option('--ctl-signer <signer>', 'a SAST token (or key) of the current CTL')
      .option('--config-signer <signer>', 'the key that signs configs now')
      .option('--next-itl-signer <signer>', 'the key that signs the ITL after the rollback (adds a third step)')
      .option('--next-config-signer <signer>', 'the key that signs configs after the rollback'),
  ).action((opts: RollbackOpts) =>
    run({ procedure: 'rollback', ...currentRequest(opts), nextItlSigner: opts.nextItlSigner, nextConfigSigner: opts.nextConfigSigner }, opts, ctx, debug()),
  );

  registerRecover(plan, ctx, debug);
}
