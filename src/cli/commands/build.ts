import * as path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { collect, parseCertWithPlace, parseDigest, parseDnStyle, parseSignerVersion, parseTimestamp } from '../options';
import { addSignerOptions, resolveSigner, signerSpecOptions, type SignerOptions } from '../signer-options';
import { loadCertificateSpec } from '../signer-spec';
import { readTrustList } from '../inputs';
import { out, printJson, log } from '../io';
import { ExitCode, OpenctlError } from '../../util/errors';
import { writeFileAtomic } from '../../util/atomic-write';
import { buildTrustList, parseTrustList, roleName } from '../../formats';
import { Role, type RecordSpec, type TrustList, type TrustListKind, type TrustRecord } from '../../formats/model';
import { verifyTrustListSelf } from '../../crypto/verify';
import { loadClusterFile, ctlRecordSources, itlRecordSources, isTftpServer, type RecordSource } from '../../cluster';
import type { Signer } from '../../crypto/signer';
import { digest } from '../../crypto/hash';
import { distinctSastCount, isSastOf, MIN_CTL_SAST, recordKey, SIGNER_NOT_SAST_CONSEQUENCE, tooFewSastMessage } from '../../builder/ctl-rules';

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
  json?: boolean;
}

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
      .option('--filename <name>', 'header filename (default: the base name of --out)')
      .option('--timestamp <unix>', 'header timestamp, for reproducible builds (default: now)')
      .option('--dn-style <style>', 'comma (default) or cucm (semicolon-separated) for new records and the header')
      .option('--force', 'overwrite --out; with --update, sign even with a certificate phones would refuse')
      .option('--json', 'print the result as JSON (schema: docs/json.md#build)');
    if (kind === 'ctl') {
      build
        .option('--update <current>', 'start from the records of the CTL phones hold now')
        .option('--allow-single-sast', 'allow a CTL with one SAST certificate (losing that token locks the cluster)');
    } else {
      build
        .option('--server <name>', 'with --cluster: the TFTP server whose ITL this is')
        .option('--rollback', 'with --cluster: the rollback ITL (empty TVS and TFTP sections)');
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
  const newRecords: RecordSpec[] = [];
  for (const s of sources) {
    newRecords.push({ role: s.role, certificate: await loadCertificateSpec(s.cert, certOptions), dnsName: s.dnsName, ipv4: s.ipv4 });
  }
  const current = opts.update ? await readTrustList(opts.update, 'ctl') : undefined;
  const signer = await resolveSigner(opts.signer || opts.key || !clusterSigner ? opts : { ...opts, signer: clusterSigner }, ctx, debug);
  try {
    if (current) refuseSignerPhonesWouldReject(current, signer, opts, ctx);
    const records = mergeRecords(current?.records ?? [], newRecords);
    const sastCount = distinctSastCount(records, signer.certificate);
    if (kind === 'ctl' && sastCount < MIN_CTL_SAST && !opts.allowSingleSast) {
      throw new OpenctlError(`${tooFewSastMessage(sastCount)}; add --sast, or --allow-single-sast`);
    }

    const filename = opts.filename ?? path.basename(opts.out);
    const bytes = await buildTrustList({
      kind,
      records,
      signer,
      hash: hash ?? cluster?.digest ?? current?.header.hash ?? 'sha1',
      signerVersion: signerVersionOpt ?? cluster?.signerVersion ?? current?.header.signerVersion,
      filename,
      timestamp,
      dnStyle: dnStyleOpt ?? cluster?.dnStyle ?? 'comma',
    });
    // Never write a list that does not verify: phones would reject it and keep the old one.
    const built = parseTrustList(bytes, { kind, file: opts.out });
    const verdict = verifyTrustListSelf(built);
    if (!verdict.valid) throw new OpenctlError(`${opts.out}: the list just built does not verify (${verdict.reason}); nothing written`);
    await writeFileAtomic(opts.out, bytes, { overwrite: Boolean(opts.force) });
    report(ctx, opts, built, signer);
  } finally {
    await signer.close?.();
  }
}

/** A phone holding CURRENT accepts a new CTL only when a SAST record of CURRENT signed it. */
function refuseSignerPhonesWouldReject(current: TrustList, signer: Signer, opts: BuildOptions, ctx: CliContext): void {
  if (isSastOf(current, signer.certificate)) return;
  const message = `${opts.update}: the signer (${signer.description}) is not a SAST record of the current CTL: ${SIGNER_NOT_SAST_CONSEQUENCE}`;
  if (!opts.force) throw new OpenctlError(`${message}, or --force`, ExitCode.Rejected);
  log(ctx.io, `openctl: warning (--force): ${message}`);
}

/** Existing records stay byte for byte; a new record that repeats one (same role, same certificate) is dropped. */
function mergeRecords(existing: TrustRecord[], added: RecordSpec[]): Array<TrustRecord | RecordSpec> {
  const seen = new Set(existing.map(recordKey).filter(Boolean));
  const result: Array<TrustRecord | RecordSpec> = [...existing];
  for (const spec of added) {
    const key = recordKey(spec);
    if (seen.has(key)) continue;
    seen.add(key);
    result.push(spec);
  }
  return result;
}

function report(ctx: CliContext, opts: BuildOptions, built: TrustList, signer: Signer): void {
  const summary = {
    file: opts.out,
    kind: built.kind,
    size: built.bytes.length,
    sha1: digest('sha1', built.bytes).toString('hex'),
    digest: built.header.hash,
    signer: { subject: built.header.signer.subject, description: signer.description },
    records: built.records.map((r) => ({ role: r.role ?? null, roleName: r.role === undefined ? null : roleName(r.role), subject: r.subject ?? null, dnsName: r.dnsName ?? null, ipv4: r.ipv4 ?? null })),
  };
  if (opts.json) printJson(ctx.io, summary);
  else {
    out(ctx.io, `wrote ${opts.out}: ${built.kind.toUpperCase()}, ${built.records.length} records, ${summary.size} bytes, ${built.header.hash.toUpperCase()}`);
    out(ctx.io, `  signed by ${summary.signer.subject} (${signer.description})`);
    for (const r of summary.records) out(ctx.io, `  ${String(r.roleName).padEnd(10)} ${r.subject ?? '(no certificate)'}${r.dnsName ? ` @${r.dnsName}` : ''}${r.ipv4 ? ` @${r.ipv4}` : ''}`);
  }
}
