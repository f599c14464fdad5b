import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { collect, parseCertWithPlace, parseDigest, parseDnStyle, parseSignerVersion, parseTimestamp } from '../options';
import { addSignerOptions, resolveSigner, signerSpecOptions, type SignerOptions } from '../signer-options';
import { loadCertificateSpec } from '../signer-spec';
import { readTrustList } from '../inputs';
import { out, printJson, log } from '../io';
import { ExitCode, OpenctlError } from '../../util/errors';
import { writeFileAtomic } from '../../util/atomic-write';
import { checkOutputs } from '../../util/output-check';
import { buildTrustList, parseTrustList, roleName } from '../../formats';
import { Role, TFTP_CAPABLE_ROLES, type RecordSpec, type TrustList, type TrustListKind } from '../../formats/model';
import { verifyTrustListSelf } from '../../crypto/verify';
import { loadClusterFile, ctlRecordSources, itlRecordSources, isTftpServer, type ClusterConfig, type RecordSource } from '../../cluster';
import type { Signer } from '../../crypto/signer';
import { digest } from '../../crypto/hash';
import { distinctSastCount, isSastOf, MIN_CTL_SAST, SIGNER_NOT_SAST_CONSEQUENCE, tooFewSastMessage } from '../../builder/ctl-rules';
import { describeRecordBrief, mergeRecords, parseRemoveSelector, removeRecords, type RemovedRecord, type RemoveSelector, type ReplacedRecord } from '../../builder/ctl-edit';
import { clusterSetProblems, itlRejectedUnder, type NamedList, type ServerSigners } from '../../builder/set-check';
import { TRUST_LIST_SIGNER_ROLES } from '../../trust/records';

interface BuildOptions extends SignerOptions {
  out: string;
  sast: string[];
  ccm: string[];
  ccmTftp: string[];
  tftp: string[];
  capf: string[];
  tvs: string[];
  appServer: string[];
  cluster?: string;
  server?: string;
  rollback?: boolean;
  update?: string;
  digest?: string;
  signerVersion?: string;
  filename?: string;
  timestamp?: string;
  dnStyle?: string;
  allowSingleSast?: boolean;
  force?: boolean;
  iUnderstandPhonesWillReject?: boolean;
  remove: string[];
  keepOld?: boolean;
  /** ctl build: ITLs served with this CTL; itl build: the CTL phones hold with this ITL. */
  itl: string[];
  ctl?: string;
  json?: boolean;
}

/** The flag that overrides the one lockout check of `ctl build --update`; its name says what it does. */
export const LOCKOUT_OVERRIDE_FLAG = '--i-understand-phones-will-reject';

/** Phones know a list by its header filename: it is CTLFile.tlv or ITLFile.tlv whatever the local file is called. */
export const DEFAULT_LIST_FILENAME: Record<TrustListKind, string> = { ctl: 'CTLFile.tlv', itl: 'ITLFile.tlv' };

/** New records are grouped by role in this order (CUCM's ITL order: SAST, TFTP-capable, TVS, CAPF). */
const ROLE_OPTIONS: Array<[keyof BuildOptions, string, number]> = [
  ['sast', '--sast', Role.SAST],
  ['ccm', '--ccm', Role.CCM],
  ['ccmTftp', '--ccm-tftp', Role.CCM_TFTP],
  ['tftp', '--tftp', Role.TFTP],
  ['tvs', '--tvs', Role.TVS],
  ['capf', '--capf', Role.CAPF],
  ['appServer', '--app-server', Role.APP_SERVER],
];

export function register(program: Command, ctx: CliContext): void {
  for (const kind of ['ctl', 'itl'] as const) {
    const group = program.commands.find((c) => c.name() === kind) ?? program.command(kind).description(`build ${kind.toUpperCase()} files`);
    const build = group
      .command('build')
      .description(`build and sign ${kind === 'ctl' ? 'a CTL (CTLFile.tlv)' : 'an ITL (ITLFile.tlv)'}`)
      .requiredOption('--out <file>', 'where to write the list');
    addSignerOptions(build);
    for (const [, flag] of ROLE_OPTIONS) {
      build.option(`${flag} <cert[@dns[@ipv4]]>`, `a ${flag.slice(2).toUpperCase()} record: certificate file or pkcs11: URI (repeatable)`, collect, []);
    }
    build
      .option('--cluster <file>', 'cluster file (JSON, schemas/cluster.schema.json)')
      .option('--digest <alg>', 'sha1 (default, widest phone support), sha256 or sha512')
      .option('--signer-version <v>', '1.0 (default) or 1.1 (newer phones fetch configs over HTTPS)')
      .option('--filename <name>', `header filename phones know the list by (default: ${DEFAULT_LIST_FILENAME[kind]}, whatever --out is called)`)
      .option('--timestamp <unix>', 'header timestamp, for reproducible builds (default: now)')
      .option('--dn-style <style>', 'comma (default) or cucm (semicolon-separated) for new records and the header')
      .option('--force', 'replace --out if it exists (nothing else)')
      .option('--json', 'print the result as JSON (schema: docs/json.md#build)');
    if (kind === 'ctl') {
      build
        .option('--update <current>', 'start from the records of the CTL phones hold now')
        .option('--remove <cert|sha1|subject>', 'with --update: drop the records of this certificate (file or pkcs11: URI), certificate SHA-1, or subject DN (repeatable)', collect, [])
        .option('--keep-old', 'with --update: keep the old certificate of a server and role beside its new one (default: the new one replaces it)')
        .option(LOCKOUT_OVERRIDE_FLAG, 'with --update: sign even with a signer that is not a SAST of the current CTL (phones holding it will REJECT the new CTL)')
        .option('--allow-single-sast', 'allow a CTL with one SAST certificate (losing that token locks the cluster)')
        .option('--itl <file>', 'an ITL served with this CTL: warn when phones holding the new CTL would reject it (repeatable)', collect, []);
    } else {
      build
        .option('--server <name>', 'with --cluster: the TFTP server whose ITL this is')
        .option('--rollback', 'with --cluster: the rollback ITL (empty TVS and TFTP sections)')
        .option('--ctl <file>', 'the CTL phones hold with this ITL: warn when they would reject it');
    }
    build.action((opts: BuildOptions) => runBuild(kind, opts, ctx, program.opts<{ debug?: boolean }>().debug ?? false));
  }
}

async function runBuild(kind: TrustListKind, opts: BuildOptions, ctx: CliContext, debug: boolean): Promise<void> {
  const hash = parseDigest(opts.digest, undefined);
  const timestamp = parseTimestamp(opts.timestamp);
  const signerVersionOpt = parseSignerVersion(opts.signerVersion);
  const dnStyleOpt = parseDnStyle(opts.dnStyle);
  const certOptions = signerSpecOptions(ctx, opts, debug);
  const removeSpecs = opts.remove ?? [];
  if ((removeSpecs.length > 0 || opts.keepOld) && !opts.update) throw new OpenctlError('--remove and --keep-old edit the CTL given with --update');
  if (opts.iUnderstandPhonesWillReject && !opts.update) throw new OpenctlError(`${LOCKOUT_OVERRIDE_FLAG} goes with --update (it overrides the check against the current CTL)`);
  // Before any certificate is read or any PIN asked: an output that cannot be written stops here.
  await checkOutputs([opts.out], { overwrite: Boolean(opts.force) });

  const sources: RecordSource[] = [];
  let clusterSigner: string | undefined;
  const cluster = opts.cluster ? await loadClusterFile(opts.cluster) : undefined;
  if (cluster) {
    if (kind === 'ctl') sources.push(...ctlRecordSources(cluster));
    else {
      const tftpServers = cluster.servers.filter(isTftpServer);
      const server = opts.server ? cluster.servers.find((s) => s.name === opts.server) : tftpServers.length === 1 ? tftpServers[0] : undefined;
      if (!server) {
        throw new OpenctlError(
          opts.server
            ? `${opts.cluster}: no server named "${opts.server}"`
            : `${opts.cluster}: ${tftpServers.length} TFTP servers: say which ITL with --server NAME (or use openctl batch itl)`,
        );
      }
      clusterSigner = server.itlSigner;
      sources.push(...itlRecordSources(cluster, server, { rollback: opts.rollback, itlSignerCert: server.itlSigner ?? '' }).filter((s) => s.cert !== ''));
    }
  }
  for (const [key, flag, role] of ROLE_OPTIONS) {
    for (const spec of opts[key] as string[]) sources.push({ role, ...parseCertWithPlace(spec, flag) });
  }

  // Certificates first, then the signer: with one reader, the person swaps tokens to read eToken-B's
  // certificate, and a signer already logged in on eToken-A would then find its token gone.
  const certCache = new Map<string, Promise<Buffer>>();
  const loadCert = (spec: string): Promise<Buffer> => {
    let loading = certCache.get(spec);
    if (!loading) {
      loading = loadCertificateSpec(spec, certOptions);
      certCache.set(spec, loading);
    }
    return loading;
  };
  const newRecords: RecordSpec[] = [];
  for (const s of sources) {
    newRecords.push({ role: s.role, certificate: await loadCert(s.cert), dnsName: s.dnsName, ipv4: s.ipv4 });
  }
  const selectors: RemoveSelector[] = [];
  for (const spec of removeSpecs) selectors.push(await parseRemoveSelector(spec, existsSync, loadCert));
  const current = opts.update ? await readTrustList(opts.update, 'ctl') : undefined;
  const partnerItls: NamedList[] = [];
  for (const file of opts.itl ?? []) partnerItls.push({ name: file, list: await readTrustList(file, 'itl') });
  const partnerCtl = opts.ctl ? { name: opts.ctl, list: await readTrustList(opts.ctl, 'ctl') } : undefined;
  const clusterSigners = kind === 'ctl' && cluster ? await serverSigners(cluster, loadCert) : [];
  const signerOpts = opts.signer || opts.key || !clusterSigner ? opts : { ...opts, signer: clusterSigner };
  const signer = await resolveSigner(signerOpts, ctx, debug);
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    log(ctx.io, `openctl: warning: ${message}`);
  };
  try {
    if (current) refuseSignerPhonesWouldReject(current, signer, opts, warn);
    const { kept, removed } = current ? removeRecords(current.records, selectors, opts.update!) : { kept: [], removed: [] as RemovedRecord[] };
    const signerCert = Buffer.from(signer.certificate);
    const removesSigner = removed.find((r) => r.record.role === Role.SAST && r.record.certificate?.equals(signerCert));
    if (removesSigner) {
      throw new OpenctlError(`--remove ${removesSigner.by}: that is the signer's own SAST record (${signer.description}), which the new CTL must hold: sign with another SAST token to remove it`);
    }
    const { records, replaced } = mergeRecords(kept, newRecords, { keepBoth: opts.keepOld });
    const sastCount = distinctSastCount(records, signer.certificate);
    if (kind === 'ctl' && sastCount < MIN_CTL_SAST && !opts.allowSingleSast) {
      throw new OpenctlError(`${tooFewSastMessage(sastCount)}; add --sast, or --allow-single-sast`);
    }
    if (kind === 'ctl') {
      for (const r of records) {
        if (r.role === Role.TVS) warn(`${describeRecordBrief(r)}: TVS certificates belong in the ITLs; CUCM's CTL holds none`);
      }
    }

    const bytes = await buildTrustList({
      kind,
      records,
      signer,
      hash: hash ?? cluster?.digest ?? current?.header.hash ?? 'sha1',
      signerVersion: signerVersionOpt ?? cluster?.signerVersion ?? current?.header.signerVersion,
      filename: opts.filename ?? DEFAULT_LIST_FILENAME[kind],
      timestamp,
      dnStyle: dnStyleOpt ?? cluster?.dnStyle ?? 'comma',
    });
    // Never write a list that does not verify: phones would reject it and keep the old one.
    const built = parseTrustList(bytes, { kind, file: opts.out });
    const verdict = verifyTrustListSelf(built);
    if (!verdict.valid) throw new OpenctlError(`${opts.out}: the list just built does not verify (${verdict.reason}); nothing written`);
    const builtNamed = { name: opts.out, list: built };
    if (kind === 'ctl') {
      for (const w of clusterSetProblems(builtNamed, clusterSigners)) warn(w);
      for (const itl of partnerItls) {
        const why = itlRejectedUnder(builtNamed, itl);
        if (why) warn(`phones holding ${opts.out} would reject ${itl.name}: ${why}`);
      }
    } else if (partnerCtl) {
      const why = itlRejectedUnder(partnerCtl, builtNamed);
      if (why) warn(`phones holding ${partnerCtl.name} would reject ${opts.out}: ${why}`);
    } else if (cluster && cluster.sast.length > 0 && signerOpts.signer !== clusterSigner) {
      if (!(await clusterCtlLists(cluster, signer.certificate, signerOpts.signer, loadCert))) {
        warn(
          `phones holding the CTL built from ${opts.cluster} would reject ${opts.out} [itl-signer-not-in-held-ctl]: its signer (${signer.description}) is not in that CTL; make it the server's itlSigner, or sign with the itlSigner`,
        );
      }
    }
    await writeFileAtomic(opts.out, bytes, { overwrite: Boolean(opts.force) });
    report(ctx, opts, built, signer, { removed, replaced, warnings });
  } finally {
    await signer.close?.();
  }
}

/** The certificates that sign each TFTP server's ITL and configs, for checking the CTL built for the cluster. */
async function serverSigners(cluster: ClusterConfig, loadCert: (spec: string) => Promise<Buffer>): Promise<ServerSigners[]> {
  const result: ServerSigners[] = [];
  for (const server of cluster.servers.filter(isTftpServer)) {
    const configSigners: Buffer[] = [];
    for (const c of server.certificates) if (TFTP_CAPABLE_ROLES.includes(c.role)) configSigners.push(await loadCert(c.cert));
    result.push({ server: server.name, itlSigner: server.itlSigner ? await loadCert(server.itlSigner) : undefined, configSigners });
  }
  return result;
}

/**
 * Does the CTL built from `cluster` list this ITL signer in a role phones accept for an ITL? Token sources are
 * compared by URI (reading them would ask for the token); files by certificate.
 */
async function clusterCtlLists(cluster: ClusterConfig, certificate: Uint8Array, spec: string | undefined, loadCert: (spec: string) => Promise<Buffer>): Promise<boolean> {
  const cert = Buffer.from(certificate);
  for (const source of ctlRecordSources(cluster)) {
    if (!TRUST_LIST_SIGNER_ROLES.includes(source.role)) continue;
    if (source.cert === spec) return true;
    if (source.cert.startsWith('pkcs11:')) continue;
    if ((await loadCert(source.cert)).equals(cert)) return true;
  }
  return false;
}

/** A phone holding CURRENT accepts a new CTL only when a SAST record of CURRENT signed it. */
function refuseSignerPhonesWouldReject(current: TrustList, signer: Signer, opts: BuildOptions, warn: (message: string) => void): void {
  if (isSastOf(current, signer.certificate)) return;
  const message = `${opts.update}: the signer (${signer.description}) is not a SAST record of the current CTL: ${SIGNER_NOT_SAST_CONSEQUENCE}`;
  if (!opts.iUnderstandPhonesWillReject) {
    throw new OpenctlError(`${message}; to write it anyway for phones that hold no CTL, add ${LOCKOUT_OVERRIDE_FLAG}`, ExitCode.Rejected);
  }
  warn(
    `${LOCKOUT_OVERRIDE_FLAG}: phones holding ${opts.update} will REJECT ${opts.out} and keep ${opts.update}; ` +
      'only phones that hold no CTL (new or factory-reset phones, or phones whose CTL was deleted by hand: see openctl plan recover) will take it',
  );
}

interface BuildOutcome {
  removed: RemovedRecord[];
  replaced: ReplacedRecord[];
  warnings: string[];
}

function briefJson(r: { role?: number; subject?: string; certificate?: Buffer }) {
  return {
    role: r.role ?? null,
    roleName: r.role === undefined ? null : roleName(r.role),
    subject: r.subject ?? null,
    certificateSha1: r.certificate ? digest('sha1', r.certificate).toString('hex') : null,
  };
}

function report(ctx: CliContext, opts: BuildOptions, built: TrustList, signer: Signer, outcome: BuildOutcome): void {
  const subjectOf = (cert: Buffer) => built.records.find((r) => r.certificate?.equals(cert))?.subject;
  const summary = {
    file: opts.out,
    kind: built.kind,
    size: built.bytes.length,
    sha1: digest('sha1', built.bytes).toString('hex'),
    digest: built.header.hash,
    filename: built.header.filename,
    signer: { subject: built.header.signer.subject, description: signer.description },
    records: built.records.map((r) => ({ role: r.role ?? null, roleName: r.role === undefined ? null : roleName(r.role), subject: r.subject ?? null, dnsName: r.dnsName ?? null, ipv4: r.ipv4 ?? null })),
    removed: outcome.removed.map((x) => ({ ...briefJson(x.record), by: x.by })),
    replaced: outcome.replaced.map((x) => ({ old: briefJson(x.old), new: briefJson({ ...x.by, subject: subjectOf(x.by.certificate) }) })),
    warnings: outcome.warnings,
  };
  if (opts.json) printJson(ctx.io, summary);
  else {
    out(ctx.io, `wrote ${opts.out}: ${built.kind.toUpperCase()} (header filename ${built.header.filename}), ${built.records.length} records, ${summary.size} bytes, ${built.header.hash.toUpperCase()}`);
    out(ctx.io, `  signed by ${summary.signer.subject} (${signer.description})`);
    for (const r of summary.records) out(ctx.io, `  ${String(r.roleName).padEnd(10)} ${r.subject ?? '(no certificate)'}${r.dnsName ? ` @${r.dnsName}` : ''}${r.ipv4 ? ` @${r.ipv4}` : ''}`);
    for (const r of outcome.removed) out(ctx.io, `  removed ${describeRecordBrief(r.record)} (--remove ${r.by})`);
    for (const r of outcome.replaced) {
      out(ctx.io, `  replaced ${describeRecordBrief(r.old)} by ${describeRecordBrief({ ...r.by, subject: subjectOf(r.by.certificate) })} (--keep-old keeps both)`);
    }
  }
}
