import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { Signer } from '../crypto/signer';
import { verifyTrustListSelf } from '../crypto/verify';
import { isTftpServer, itlRecordSources, type ClusterConfig, type ClusterServer } from '../cluster';
import { buildTrustList, parseTrustList } from '../formats';
import type { RecordSpec, TrustList } from '../formats/model';
import { describeWriteError, writeFileAtomic } from '../util/atomic-write';
import { ExitCode, OpenctlError } from '../util/errors';
import { AuditLog, type AuditRecord } from './audit';
import { statePaths } from './state-files';

/** Phones fail to register with an ITL past 64 KB (formats.md): warn well before. */
export const ITL_WARN_BYTES = 56 * 1024;

export interface BatchItlOptions {
  cluster: ClusterConfig;
  out: string;
  rollback?: boolean;
  /** Replace ITLs already in `out`; without it, nothing is written when one exists. */
  force?: boolean;
  timestamp?: number;
  /** Opens a SIGNER spec (PEM file or pkcs11: URI); the CLI passes its openSigner. */
  openSigner(spec: string): Promise<Signer>;
  /** Reads a certificate source (PEM/DER/PKCS#7 file or pkcs11: URI) as DER. */
  loadCertificate(spec: string): Promise<Buffer>;
  signal?: AbortSignal;
  onWarning?: (message: string) => void;
  onWritten?: (written: ItlWritten) => void;
}

export interface ItlWritten {
  server: string;
  file: string;
  sha256: string;
  bytes: number;
  records: number;
  signer: string;
}

export interface ItlSummary {
  rollback: boolean;
  written: ItlWritten[];
  failures: Array<{ server: string; problem: string }>;
  exitCode: number;
}

/**
 * `openctl batch itl`: one ITL per TFTP server of the cluster, `OUT/<server>/ITLFile.tlv`, each signed by that
 * server's `itlSigner`, checked against its own SAST record before it is written (atomically). One server's
 * problem does not stop the others; the summary lists it and the exit code is 1.
 */
export async function batchItl(options: BatchItlOptions): Promise<ItlSummary> {
  const out = path.resolve(options.out);
  const servers = options.cluster.servers.filter(isTftpServer);
  if (servers.length === 0) {
    throw new OpenctlError(`${options.cluster.file ?? 'the cluster'}: no TFTP server (a server with a "tftp" or "ccm-tftp" certificate)`);
  }
  for (const server of servers) checkServerName(server.name);
  // Every output is checked before the first is written: a rollback ITL never silently replaces a normal one.
  if (!options.force) {
    for (const server of servers) {
      const file = itlPath(out, server);
      if (await fs.lstat(file).then(() => true, () => false)) {
        throw new OpenctlError(`${file}: already exists (use --force to replace it${options.rollback ? ' with a rollback ITL' : ''}); nothing written`);
      }
    }
  }
  await fs.mkdir(statePaths(out).dir, { recursive: true }).catch((err: unknown) => {
    throw describeWriteError(statePaths(out).dir, err);
  });
  const audit = await AuditLog.open(statePaths(out).audit);
  const signers = new Map<string, Promise<Signer>>();
  const summary: ItlSummary = { rollback: options.rollback ?? false, written: [], failures: [], exitCode: ExitCode.Ok };
  try {
    for (const server of servers) {
      if (options.signal?.aborted) {
        summary.exitCode = ExitCode.Interrupted;
        break;
      }
      try {
        const written = await writeServerItl(server, options, out, signers, audit);
        summary.written.push(written);
        options.onWritten?.(written);
        if (written.bytes > ITL_WARN_BYTES) {
          options.onWarning?.(`${written.file}: ${written.bytes} bytes; phones fail to register with an ITL past 64 KB`);
        }
      } catch (err) {
        if (!(err instanceof OpenctlError)) throw err;
        // A token problem stops everything (the next server would likely need the same token).
        if (err.exitCode === ExitCode.Token || err.exitCode === ExitCode.Interrupted) throw err;
        summary.failures.push({ server: server.name, problem: err.message });
      }
    }
  } finally {
    await audit.close();
    for (const signer of signers.values()) await signer.then((s) => s.close?.()).catch(() => undefined);
  }
  if (summary.exitCode === ExitCode.Ok && summary.failures.length > 0) summary.exitCode = ExitCode.Rejected;
  return summary;
}

async function writeServerItl(
  server: ClusterServer,
  options: BatchItlOptions,
  out: string,
  signers: Map<string, Promise<Signer>>,
  audit: AuditLog,
): Promise<ItlWritten> {
  const spec = server.itlSigner;
  if (!spec) throw new OpenctlError(`server ${server.name}: no "itlSigner" in the cluster file`);
  let opening = signers.get(spec);
  if (!opening) {
    opening = options.openSigner(spec);
    signers.set(spec, opening);
  }
  const signer = await opening;
  const file = itlPath(out, server);
  const hash = options.cluster.digest ?? 'sha1';
  const { bytes, list, signedDigest } = await buildServerItl({ ...options, server, signer, signerSpec: spec, file });
  const verdict = verifyTrustListSelf(list);
  if (!verdict.valid) throw new OpenctlError(`${file}: the ITL just built does not verify (${verdict.reason}); nothing written`, ExitCode.Rejected);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, bytes, { overwrite: true });
  const fingerprint = createHash('sha256').update(signer.certificate).digest('hex');
  const record: AuditRecord = {
    time: new Date().toISOString(),
    signer: fingerprint,
    token: signer.tokenSerial,
    file: path.relative(out, file).split(path.sep).join('/'),
    hash,
    digest: signedDigest,
    job: `itl:${options.rollback ? 'rollback' : 'normal'}`,
  };
  await audit.append([record]);
  return {
    server: server.name,
    file,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
    records: list.records.length,
    signer: signer.description,
  };
}

function itlPath(out: string, server: ClusterServer): string {
  return path.join(out, server.name, 'ITLFile.tlv');
}

export interface ServerItlInput {
  cluster: ClusterConfig;
  server: ClusterServer;
  rollback?: boolean;
  timestamp?: number;
  signer: Signer;
  /** The source the cluster names the signer by: the record it stands for gets the signer's own certificate. */
  signerSpec: string;
  loadCertificate(spec: string): Promise<Buffer>;
  /** For messages. */
  file?: string;
}

/**
 * One TFTP server's ITL, built and signed in memory (the cluster library decides its records; the signer's own
 * certificate stands for its record): what `batch itl` writes, and what the GUI's ITL builder checks before Save.
 */
export async function buildServerItl(input: ServerItlInput): Promise<{ bytes: Buffer; list: TrustList; signedDigest: string }> {
  const { cluster, server, signer, signerSpec } = input;
  const sources = itlRecordSources(cluster, server, { rollback: input.rollback, itlSignerCert: signerSpec });
  const records: RecordSpec[] = [];
  for (const source of sources) {
    const certificate = source.cert === signerSpec ? Buffer.from(signer.certificate) : await input.loadCertificate(source.cert);
    records.push({ role: source.role, certificate, dnsName: source.dnsName, ipv4: source.ipv4 });
  }
  let signedDigest = '';
  const recording: Signer = {
    certificate: signer.certificate,
    keyBits: signer.keyBits,
    description: signer.description,
    tokenSerial: signer.tokenSerial,
    sign: async (digest, hash) => {
      signedDigest = Buffer.from(digest).toString('hex');
      return signer.sign(digest, hash);
    },
  };
  const bytes = await buildTrustList({
    kind: 'itl',
    records,
    signer: recording,
    hash: cluster.digest ?? 'sha1',
    signerVersion: cluster.signerVersion,
    filename: 'ITLFile.tlv',
    timestamp: input.timestamp,
    dnStyle: cluster.dnStyle,
  });
  return { bytes, list: parseTrustList(bytes, { kind: 'itl', file: input.file ?? `${server.name}/ITLFile.tlv` }), signedDigest };
}

/** The server name becomes a folder: one plain path segment. */
export function checkServerName(name: string): void {
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new OpenctlError(`server name "${name}" cannot be a folder name (no slashes, not "." or "..")`);
  }
}
