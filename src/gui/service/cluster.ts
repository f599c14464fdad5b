import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { loadClusterFile, saveClusterFile, ctlRecordSources, type ClusterConfig } from '../../cluster';
import { readCertificates } from '../../crypto/certificate';
import { roleName } from '../../formats';
import { Role } from '../../formats/model';
import { writeFileAtomic } from '../../util/atomic-write';
import { OpenctlError } from '../../util/errors';
import { readInput } from '../../util/read-input';
import type { ClusterDraft, DraftRecord } from '../contract';
import type { CheckView, ClusterCertView, ClusterView } from '../types';
import { certView } from './certs';

const isUri = (source: string) => source.startsWith('pkcs11:');

/** The certificate a pkcs11: URI names, from the tokens present (undefined when none matches). */
export type UriResolver = (uri: string) => Buffer | undefined;

type DraftCert = ClusterDraft['servers'][number]['certificates'][number];

/** Load a certificate source for display; a problem is shown beside it rather than failing the whole cluster. */
async function certFromSource(role: number, source: string | undefined, der: string | undefined, resolve?: UriResolver): Promise<ClusterCertView> {
  const base: ClusterCertView = { role, roleName: roleName(role), source: source ?? '' };
  try {
    if (der) return { ...base, certificate: certView(Buffer.from(der, 'base64')) };
    if (!source) return { ...base, problem: 'no certificate' };
    if (isUri(source)) {
      const fromToken = resolve?.(source);
      return fromToken ? { ...base, certificate: certView(fromToken) } : base; // else read when the CTL is built
    }
    const first = readCertificates(await readInput(source, 'certificate'))[0];
    return { ...base, certificate: certView(first!) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ...base, problem: code === 'ENOENT' ? 'file not found' : err instanceof Error ? err.message : String(err) };
  }
}

function warnings(view: Omit<ClusterView, 'warnings'>): CheckView[] {
  const out: CheckView[] = [];
  const all: Array<{ where: string; cert: ClusterCertView }> = [
    ...view.sast.map((cert, i) => ({ where: `SAST ${i + 1}`, cert })),
    ...view.servers.flatMap((s) => s.certificates.map((cert) => ({ where: `${s.name} ${cert.roleName}`, cert }))),
  ];
  const byCert = new Map<string, string[]>();
  for (const { where, cert } of all) {
    if (cert.problem) out.push({ level: 'error', message: `${where}: ${cert.problem}` });
    const c = cert.certificate;
    if (!c) continue;
    if (c.expiry === 'expired') out.push({ level: 'warning', message: `${where}: certificate expired on ${c.notAfter.slice(0, 10)}` });
    else if (c.expiry === 'soon') out.push({ level: 'warning', message: `${where}: certificate expires in ${c.daysLeft} days` });
    const key = `${cert.role}:${c.sha1}`;
    byCert.set(key, [...(byCert.get(key) ?? []), where]);
  }
  for (const places of byCert.values()) {
    if (places.length > 1) out.push({ level: 'warning', message: `the same certificate is listed twice in one role: ${places.join(', ')}` });
  }
  const names = new Map<string, number>();
  const ips = new Map<string, string[]>();
  for (const s of view.servers) {
    names.set(s.name, (names.get(s.name) ?? 0) + 1);
    if (s.ip) ips.set(s.ip, [...(ips.get(s.ip) ?? []), s.name]);
    if (s.certificates.length === 0) out.push({ level: 'warning', message: `${s.name}: no certificate` });
  }
  for (const [name, count] of names) if (count > 1) out.push({ level: 'error', message: `the server name "${name}" is used ${count} times` });
  for (const [ip, servers] of ips) if (servers.length > 1) out.push({ level: 'warning', message: `${ip} is the address of ${servers.join(' and ')}` });
  if (view.sast.length < 2) out.push({ level: 'warning', message: `${view.sast.length} SAST certificate(s): a CTL needs at least two` });
  return out;
}

async function viewOf(draft: ClusterDraft, file?: string, resolve?: UriResolver): Promise<ClusterView> {
  const sast = await Promise.all(draft.sast.map((c) => certFromSource(Role.SAST, c.source, c.der, resolve)));
  const servers = await Promise.all(
    draft.servers.map(async (s) => ({
      name: s.name,
      dns: s.dns,
      ip: s.ip,
      itlSigner: s.itlSigner,
      certificates: await Promise.all(s.certificates.map((c) => certFromSource(c.role, c.source, c.der, resolve))),
    })),
  );
  const view = { file, name: draft.name, digest: draft.digest, signerVersion: draft.signerVersion, dnStyle: draft.dnStyle, sast, servers };
  return { ...view, warnings: warnings(view) };
}

function draftFromConfig(config: ClusterConfig): ClusterDraft {
  return {
    name: config.name,
    digest: config.digest,
    signerVersion: config.signerVersion ? (config.signerVersion.minor === 1 ? '1.1' : '1.0') : undefined,
    dnStyle: config.dnStyle,
    sast: config.sast.map((source) => ({ role: Role.SAST, source })),
    servers: config.servers.map((s) => ({
      name: s.name,
      dns: s.dns,
      ip: s.ip,
      itlSigner: s.itlSigner,
      certificates: s.certificates.map((c) => ({ role: c.role, source: c.cert })),
    })),
  };
}

export async function loadCluster(file: string, resolve?: UriResolver): Promise<ClusterView> {
  const config = await loadClusterFile(path.resolve(file));
  return viewOf(draftFromConfig(config), config.file, resolve);
}

export function checkCluster(draft: ClusterDraft, resolve?: UriResolver): Promise<ClusterView> {
  return viewOf(draft, undefined, resolve);
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'cert';
}

/**
 * Save a cluster file. Certificates added in the GUI (an upload, a TLS fetch) have no file yet: each is written as
 * PEM into `certs/` beside the cluster file, since the cluster file names certificates by path.
 */
export async function saveCluster(file: string, draft: ClusterDraft, overwrite: boolean, resolve?: UriResolver): Promise<ClusterView> {
  const target = path.resolve(file);
  const certDir = path.join(path.dirname(target), 'certs');
  const materialise = async (c: DraftCert, stem: string): Promise<string> => {
    if (c.source) return isUri(c.source) ? c.source : path.resolve(path.dirname(target), c.source);
    if (!c.der) throw new OpenctlError(`${stem}: no certificate`);
    const der = Buffer.from(c.der, 'base64');
    const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
    await fs.mkdir(certDir, { recursive: true });
    const sha1 = certView(der).sha1.slice(0, 8);
    const out = path.join(certDir, `${safeName(stem)}-${sha1}.pem`);
    const existing = await fs.readFile(out, 'utf8').catch(() => undefined);
    if (existing !== pem) await writeFileAtomic(out, Buffer.from(pem), { overwrite: true });
    return out;
  };
  const config: ClusterConfig = {
    name: draft.name,
    digest: draft.digest,
    signerVersion: draft.signerVersion ? { major: 1, minor: draft.signerVersion === '1.1' ? 1 : 0 } : undefined,
    dnStyle: draft.dnStyle,
    sast: await Promise.all(draft.sast.map((c, i) => materialise(c, `sast-${i + 1}`))),
    servers: await Promise.all(
      draft.servers.map(async (s) => ({
        name: s.name,
        dns: s.dns || undefined,
        ip: s.ip || undefined,
        itlSigner: s.itlSigner || undefined,
        certificates: await Promise.all(
          s.certificates.map(async (c) => ({ role: c.role, cert: await materialise(c, `${s.name}-${roleName(c.role)}`) })),
        ),
      })),
    ),
  };
  await saveClusterFile(target, config, overwrite);
  return loadCluster(target, resolve);
}

/**
 * The CTL records a cluster stands for (the cluster library decides which), with their certificates loaded, as
 * records for the CTL builder; a pkcs11: source is read from the token present that it names.
 */
export async function clusterCtlRecords(draft: ClusterDraft, resolve?: UriResolver): Promise<DraftRecord[]> {
  // The cluster library works on sources; give each certificate a key and map the answer back to its bytes.
  const ders = new Map<string, string | undefined>();
  const keyed = (c: DraftCert, key: string) => {
    ders.set(key, c.der);
    return c.der ? key : (c.source ?? key);
  };
  const config: ClusterConfig = {
    sast: draft.sast.map((c, i) => keyed(c, `#sast-${i}`)),
    servers: draft.servers.map((s, si) => ({
      name: s.name,
      dns: s.dns || undefined,
      ip: s.ip || undefined,
      certificates: s.certificates.map((c, ci) => ({ role: c.role, cert: keyed(c, `#${si}-${ci}`) })),
      // The ITL signer (ITLRecovery) is a SAST record of the cluster's CTL, as in CUCM's.
      itlSigner: s.itlSigner || undefined,
    })),
  };
  const records: DraftRecord[] = [];
  for (const source of ctlRecordSources(config)) {
    let der = ders.get(source.cert);
    if (!der && isUri(source.cert)) {
      der = resolve?.(source.cert)?.toString('base64');
      if (!der) throw new OpenctlError(`${source.cert}: no token present holds this certificate: insert it, or add the SAST from the CTL builder`);
    }
    der ??= readCertificates(await readInput(source.cert, 'certificate'))[0]!.toString('base64');
    records.push({
      from: 'certificate',
      role: source.role,
      certificate: der,
      dnsName: source.dnsName,
      ipv4: source.ipv4,
      source: `cluster ${source.dnsName ?? ''}`.trim(),
    });
  }
  return records;
}
