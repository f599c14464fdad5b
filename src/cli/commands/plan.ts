import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { out, printJson } from '../io';
import { collect, parseDigest, parseTimestamp } from '../options';
import { openSigner, loadCertificateSpec } from '../signer-spec';
import { ExitCode, OpenctlError } from '../../util/errors';
import type { Signer } from '../../crypto/signer';
import type { TrustList } from '../../formats/model';
import { readPhoneFile } from '../../fetch/inputs';
import {
  CERT_KINDS,
  MOVE_METHODS,
  SAMPLE_CONFIG,
  checkPlan,
  parseOrder,
  planJson,
  planMoveCluster,
  planReimage,
  planRegenerate,
  planRollback,
  renderPlan,
  writePlan,
  type CertKind,
  type CommonInputs,
  type ConfigSource,
  type ListInput,
  type MoveMethod,
  type NewCertificate,
  type Plan,
  type SignedListInput,
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

/** Signers opened for one command, closed when it ends (tokens log out). */
class SignerBag {
  private readonly opened: Signer[] = [];
  constructor(private readonly ctx: CliContext, private readonly debug: () => boolean, private readonly noWait: () => boolean) {}

  async signer(spec: string): Promise<Signer> {
    const s = await openSigner(spec, {
      io: this.ctx.io,
      interactive: Boolean(this.ctx.io.stdin.isTTY && this.ctx.io.stderr.isTTY),
      noWait: this.noWait(),
      debug: this.debug(),
      signal: this.ctx.signal,
    });
    this.opened.push(s);
    return s;
  }

  /** A new certificate: with its key when the file holds one (or a pkcs11: URI and `withKey`), else the certificate only. */
  async newCert(spec: string, option: string, withKey: boolean): Promise<NewCertificate> {
    const source = `${option} ${spec}`;
    const hasKey = spec.startsWith('pkcs11:') ? withKey : await fileHoldsKey(path.resolve(this.ctx.io.cwd, spec));
    if (hasKey) {
      const signer = await this.signer(spec);
      return { certificate: Buffer.from(signer.certificate), signer, source };
    }
    const certificate = await loadCertificateSpec(spec, { io: this.ctx.io, interactive: false, debug: this.debug() });
    return { certificate, source };
  }

  async close(): Promise<void> {
    for (const s of this.opened.splice(0)) await s.close?.().catch(() => undefined);
  }
}

async function fileHoldsKey(file: string): Promise<boolean> {
  try {
    return /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(await fs.readFile(file, 'latin1'));
  } catch {
    return false; // the certificate loader names the file in its error
  }
}

async function readList(spec: string, option: string, kind: 'ctl' | 'itl', ctx: CliContext): Promise<ListInput> {
  const f = await readPhoneFile(spec, { cwd: ctx.io.cwd, signal: ctx.signal });
  const list = f.parsed;
  if (!list || (list.kind !== 'ctl' && list.kind !== 'itl')) throw new OpenctlError(`${option} ${spec}: not a CTL or ITL`);
  if (list.kind !== kind) throw new OpenctlError(`${option} ${spec}: is an ${list.kind.toUpperCase()}, not an ${kind.toUpperCase()}`);
  // Phones know a list by its header filename (ITLFile.tlv), whatever the local file is called.
  return { name: list.header.filename || f.name, list: list as TrustList, source: `${option} ${spec}` };
}

async function readConfigs(specs: string[], ctx: CliContext): Promise<ConfigSource[]> {
  if (specs.length === 0) return [SAMPLE_CONFIG];
  const configs: ConfigSource[] = [];
  for (const spec of specs) {
    const file = path.resolve(ctx.io.cwd, spec);
    const body = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new OpenctlError(`${spec}: cannot read: ${err.code === 'ENOENT' ? 'no such file' : err.code}`);
    });
    if (/\.sgn$/i.test(spec) || (body[0] === 1 && body[1] === 0 && body[2] === 2)) {
      throw new OpenctlError(`--config ${spec}: give the plain config (the plan signs it at every step), not a signed file`);
    }
    configs.push({ name: path.basename(file), body });
  }
  return configs;
}

/** What phones hold now and the keys that sign it: the named inputs regenerate, reimage and rollback share. */
async function currentInputs(
  opts: CommonOpts,
  bag: SignerBag,
  ctx: CliContext,
  why: { itlSigner: string; ctlSigner: string; configSigner: string },
) {
  const itl = await readList(required(opts.itl, '--itl', 'the ITL the phones hold now'), '--itl', 'itl', ctx);
  const ctl = opts.ctl ? await readList(opts.ctl, '--ctl', 'ctl', ctx) : undefined;
  const itlSigner = required(opts.itlSigner, '--itl-signer', why.itlSigner);
  const configSigner = required(opts.configSigner, '--config-signer', why.configSigner);
  const signed = async (list: ListInput, option: string, spec: string): Promise<SignedListInput> => ({
    ...list,
    signer: await bag.signer(spec),
    signerSource: `${option} ${spec}`,
  });
  return {
    ...commonInputs(opts, await readConfigs(opts.config, ctx)),
    itl: await signed(itl, '--itl-signer', itlSigner),
    ctl: ctl ? await signed(ctl, '--ctl-signer', required(opts.ctlSigner, '--ctl-signer', why.ctlSigner)) : undefined,
    configSigner: await bag.signer(configSigner),
    configSignerSource: `--config-signer ${configSigner}`,
  };
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

const NEW_OPTION: Record<CertKind, keyof RegenerateOpts> = {
  capf: 'newCapf',
  tvs: 'newTvs',
  callmanager: 'newCallmanager',
  tftp: 'newTftp',
  itlrecovery: 'newItlrecovery',
};

function commonInputs(opts: CommonOpts, configs: ConfigSource[]): CommonInputs {
  return {
    configs,
    configHash: parseDigest(opts.digest),
    sbd: opts.sbd,
    timestamp: parseTimestamp(opts.timestamp) ?? Math.floor(Date.now() / 1000),
  };
}

function required<T>(value: T | undefined, option: string, why: string): T {
  if (value === undefined || value === '') throw new OpenctlError(`${option} is required: ${why}`);
  return value;
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

async function finish(plan: Plan, opts: CommonOpts, ctx: CliContext): Promise<void> {
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
  ).action(async (opts: RegenerateOpts) => {
    const bag = new SignerBag(ctx, debug, () => opts.wait === false);
    try {
      const certs = [...new Set(opts.cert)].map((c) => {
        const k = c.toLowerCase();
        if (!(CERT_KINDS as readonly string[]).includes(k)) throw new OpenctlError(`--cert ${c}: expected one of ${CERT_KINDS.join(', ')}`);
        return k as CertKind;
      });
      const current = await currentInputs(opts, bag, ctx, {
        itlSigner: 'the plan re-signs the ITL at every step',
        ctlSigner: 'with --ctl, the plan re-signs the CTL at every step',
        configSigner: 'the plan signs the configs at every step',
      });
      const newCerts: Partial<Record<CertKind, NewCertificate>> = {};
      for (const kind of certs) {
        const spec = opts[NEW_OPTION[kind]] as string | undefined;
        if (!spec) throw new OpenctlError(`--cert ${kind}: give the new certificate with --new-${kind}`);
        newCerts[kind] = await bag.newCert(spec, `--new-${kind}`, kind !== 'capf' && kind !== 'tvs');
      }
      const p = await planRegenerate({
        ...current,
        certs,
        newCerts,
        order: opts.order ? parseOrder(opts.order, certs) : undefined,
      });
      await finish(p, opts, ctx);
    } finally {
      await bag.close();
    }
  });

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
  ).action(async (opts: MoveOpts) => {
    const bag = new SignerBag(ctx, debug, () => opts.wait === false);
    try {
      const method = opts.method.toLowerCase();
      if (!(MOVE_METHODS as readonly string[]).includes(method)) throw new OpenctlError(`--method ${opts.method}: expected one of ${MOVE_METHODS.join(', ')}`);
      const fromItl = await readList(required(opts.fromItl, '--from-itl', 'the ITL the phones hold now'), '--from-itl', 'itl', ctx);
      const fromCtl = opts.fromCtl ? await readList(opts.fromCtl, '--from-ctl', 'ctl', ctx) : undefined;
      const toItl = await readList(required(opts.toItl, '--to-itl', 'the ITL cluster B serves'), '--to-itl', 'itl', ctx);
      const toCtl = opts.toCtl ? await readList(opts.toCtl, '--to-ctl', 'ctl', ctx) : undefined;
      const toConfigSigner = required(opts.toConfigSigner, '--to-config-signer', "the plan signs cluster B's configs");
      const p = await planMoveCluster({
        ...commonInputs(opts, await readConfigs(opts.config, ctx)),
        method: method as MoveMethod,
        fromItl,
        fromCtl,
        fromItlSigner: opts.fromItlSigner ? await bag.signer(opts.fromItlSigner) : undefined,
        fromItlSignerSource: opts.fromItlSigner ? `--from-itl-signer ${opts.fromItlSigner}` : undefined,
        toItl,
        toCtl,
        toCtlSigner: opts.toCtlSigner ? await bag.signer(opts.toCtlSigner) : undefined,
        toConfigSigner: await bag.signer(toConfigSigner),
      });
      await finish(p, opts, ctx);
    } finally {
      await bag.close();
    }
  });

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
  ).action(async (opts: ReimageOpts) => {
    const bag = new SignerBag(ctx, debug, () => opts.wait === false);
    try {
      const current = await currentInputs(opts, bag, ctx, {
        itlSigner: 'the plan re-signs the ITL',
        ctlSigner: 'with --ctl, the plan re-signs the CTL',
        configSigner: 'the plan signs the configs',
      });
      const newTftp = required(opts.newTftp, '--new-tftp', "the re-imaged server's new key and certificate");
      const p = await planReimage({
        ...current,
        newTftp: await bag.newCert(newTftp, '--new-tftp', true),
        newItlSigner: opts.newItlSigner ? await bag.newCert(opts.newItlSigner, '--new-itl-signer', true) : undefined,
        newTvs: opts.newTvs ? await bag.newCert(opts.newTvs, '--new-tvs', false) : undefined,
        newCapf: opts.newCapf ? await bag.newCert(opts.newCapf, '--new-capf', false) : undefined,
        withoutRollback: Boolean(opts.withoutRollback),
      });
      await finish(p, opts, ctx);
    } finally {
      await bag.close();
    }
  });

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
  ).action(async (opts: RollbackOpts) => {
    const bag = new SignerBag(ctx, debug, () => opts.wait === false);
    try {
      const current = await currentInputs(opts, bag, ctx, {
        itlSigner: 'it signs the rollback ITL',
        ctlSigner: 'with --ctl, the plan re-signs the CTL',
        configSigner: 'the plan signs the configs',
      });
      const p = await planRollback({
        ...current,
        nextItlSigner: opts.nextItlSigner ? await bag.newCert(opts.nextItlSigner, '--next-itl-signer', true) : undefined,
        nextConfigSigner: opts.nextConfigSigner ? await bag.newCert(opts.nextConfigSigner, '--next-config-signer', true) : undefined,
      });
      await finish(p, opts, ctx);
    } finally {
      await bag.close();
    }
  });
}
