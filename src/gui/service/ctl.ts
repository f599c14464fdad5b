import * as path from 'node:path';
import { buildTrustList, parseTrustList, roleDescription, roleName } from '../../formats';
import { Role, TFTP_CAPABLE_ROLES, type RecordSpec, type TrustList, type TrustRecord } from '../../formats/model';
import { verifyTrustListSelf } from '../../crypto/verify';
import { digest } from '../../crypto/hash';
import { distinctSastCount, isSastOf, MIN_CTL_SAST, recordKey, SIGNER_NOT_SAST_CONSEQUENCE, tooFewSastMessage } from '../../builder/ctl-rules';
import { writeFileAtomic } from '../../util/atomic-write';
import { OpenctlError } from '../../util/errors';
import type { CtlDraft, DraftRecord, FileSource } from '../contract';
import type { CheckView, CtlMergeView, CtlPreview, CurrentCtlView, RecordView, SignResult } from '../types';
import { certView } from './certs';
import { readTrustListSource } from './inspect';
import type { TokenAccess } from './token-access';

type Planned = { record: TrustRecord | RecordSpec; source: string; draftIndex?: number };

function isSpec(r: TrustRecord | RecordSpec): r is RecordSpec {
  return !('elements' in r);
}

export function recordView(index: number, planned: Planned): RecordView {
  const r = planned.record;
  const role = r.role ?? -1;
  const cert = r.certificate ? safeCertView(r.certificate) : undefined;
  return {
    index,
    role,
    roleName: r.role === undefined ? '(none)' : roleName(role),
    roleDescription: r.role === undefined ? 'no function' : roleDescription(role),
    dnsName: r.dnsName || undefined,
    ipv4: r.ipv4,
    subject: isSpec(r) ? cert?.subject : r.subject,
    issuer: isSpec(r) ? cert?.issuer : r.issuer,
    serialHex: isSpec(r) ? cert?.serialHex : r.serial?.toString('hex'),
    certificate: cert,
    source: planned.source,
    draftIndex: planned.draftIndex,
  };
}

function safeCertView(der: Buffer) {
  try {
    return certView(der);
  } catch {
    return undefined;
  }
}

export async function openCurrentCtl(source: FileSource): Promise<CurrentCtlView> {
  const { name, list } = await readTrustListSource(source, 'ctl');
  return {
    file: name,
    kind: list.kind,
    records: list.records.map((record, i) => recordView(i, { record, source: 'current CTL' })),
    signer: { subject: list.header.signer.subject, serialHex: list.header.signer.serial.toString('hex') },
  };
}

/**
 * The records the builder will write, in order: records kept from the current CTL byte for byte, then new ones;
 * a new record repeating a kept or earlier one (same function, same certificate) is written once, as
 * `openctl ctl build` does.
 */
async function plan(draft: CtlDraft): Promise<{ planned: Planned[]; current?: TrustList; dropped: number }> {
  const current = draft.current ? (await readTrustListSource(draft.current, 'ctl')).list : undefined;
  const planned: Planned[] = [];
  const seen = new Set<string>();
  let dropped = 0;
  for (const [draftIndex, r] of draft.records.entries()) {
    if (r.from === 'current') {
      if (!current) throw new OpenctlError('a record is kept from the current CTL, but no current CTL is open');
      const record = current.records[r.index];
      if (!record) throw new OpenctlError(`the current CTL has no record ${r.index + 1}`);
      const key = recordKey(record);
      if (key) seen.add(key);
      planned.push({ record, source: 'current CTL', draftIndex });
    }
  }
  for (const [draftIndex, r] of draft.records.entries()) {
    if (r.from !== 'certificate') continue;
    const certificate = Buffer.from(r.certificate, 'base64');
    const key = recordKey({ role: r.role, certificate })!;
    if (seen.has(key)) {
      dropped += 1;
      continue;
    }
    seen.add(key);
    planned.push({
      record: { role: r.role, certificate, dnsName: r.dnsName || undefined, ipv4: r.ipv4 || undefined },
      source: r.source,
      draftIndex,
    });
  }
  return { planned, current, dropped };
}

export async function previewCtl(draft: CtlDraft, tokens: TokenAccess): Promise<CtlPreview> {
  const { planned, current, dropped } = await plan(draft);
  const checks: CheckView[] = [];
  let signerCert: Buffer | undefined;
  if (draft.signerTokenId) {
    try {
      signerCert = await tokens.certificateOf(draft.signerTokenId);
    } catch (err) {
      checks.push({ level: 'error', message: `signer: ${err instanceof Error ? err.message : String(err)}` });
    }
  } else {
    checks.push({ level: 'error', message: 'choose the token that signs the CTL' });
  }

  const sastCount = distinctSastCount(planned.map((p) => p.record), signerCert);
  checks.push(
    sastCount >= MIN_CTL_SAST
      ? { level: 'ok', message: `${sastCount} SAST certificates: the CTL can be updated if one token is lost` }
      : { level: 'error', message: `${tooFewSastMessage(sastCount)}; add SAST from another token` },
  );
  const signerAdded = signerCert && !planned.some(({ record }) => record.role === Role.SAST && record.certificate?.equals(signerCert!));
  if (signerAdded) {
    checks.push({ level: 'ok', message: `the signer's certificate is added as a SAST record (${tokens.describe(draft.signerTokenId!)})` });
  }
  if (current && signerCert) {
    checks.push(
      isSastOf(current, signerCert)
        ? { level: 'ok', message: 'the signer is a SAST record of the current CTL: phones holding it will accept the new CTL' }
        : { level: 'error', message: `the signer is not a SAST record of the current CTL: ${SIGNER_NOT_SAST_CONSEQUENCE}` },
    );
  }
  if (!planned.some(({ record }) => record.role !== undefined && TFTP_CAPABLE_ROLES.includes(record.role))) {
    checks.push({ level: 'warning', message: 'no CCM+TFTP or TFTP record: phones will not be able to verify signed configs' });
  }
  if (dropped > 0) checks.push({ level: 'warning', message: `${dropped} repeated record(s) will be written once` });
  const views = [...planned, ...(signerAdded ? [{ record: { role: Role.SAST, certificate: signerCert! }, source: `signer ${tokens.describe(draft.signerTokenId!)}` }] : [])].map(
    (p, i) => recordView(i, p),
  );
  for (const view of views) {
    const c = view.certificate;
    if (c?.expiry === 'expired') checks.push({ level: 'warning', message: `record ${view.index + 1} (${view.roleName}): certificate expired on ${c.notAfter.slice(0, 10)}` });
    else if (c?.expiry === 'soon') checks.push({ level: 'warning', message: `record ${view.index + 1} (${view.roleName}): certificate expires in ${c.daysLeft} days` });
  }
  return { records: views, checks, canSign: !checks.some((c) => c.level === 'error') };
}

export async function signCtl(
  draft: CtlDraft,
  signerTokenId: string,
  output: string,
  overwrite: boolean,
  tokens: TokenAccess,
): Promise<SignResult> {
  const preview = await previewCtl({ ...draft, signerTokenId }, tokens);
  const blocking = preview.checks.find((c) => c.level === 'error');
  if (blocking) throw new OpenctlError(`not signed: ${blocking.message}`);
  const { planned, current } = await plan(draft);
  const target = path.resolve(output);
  const signer = await tokens.signerFor(signerTokenId);
  let bytes: Buffer;
  try {
    bytes = await buildTrustList({
      kind: 'ctl',
      records: planned.map((p) => p.record),
      signer,
      hash: draft.hash ?? current?.header.hash ?? 'sha1',
      signerVersion: draft.signerVersion ? { major: 1, minor: draft.signerVersion === '1.1' ? 1 : 0 } : current?.header.signerVersion,
      // Phones know the list by its header filename, whatever the saved file is called.
      filename: 'CTLFile.tlv',
      dnStyle: draft.dnStyle ?? 'comma',
    });
  } finally {
    await signer.close?.();
  }
  // Never write a list that does not verify: phones would reject it and keep the old one.
  const built = parseTrustList(bytes, { kind: 'ctl', file: target });
  const verdict = verifyTrustListSelf(built);
  if (!verdict.valid) throw new OpenctlError(`${target}: the CTL just built does not verify (${verdict.reason}); nothing written`);
  await writeFileAtomic(target, bytes, { overwrite });
  return {
    path: target,
    size: bytes.length,
    md5: digest('md5', bytes).toString('hex'),
    sha1: digest('sha1', bytes).toString('hex'),
    verdict: { valid: verdict.valid, reason: verdict.reason },
    records: built.records.length,
  };
}

/**
 * Merge records (a cluster's) into the CTL in progress: a record the CTL already has (same function, same
 * certificate) is not added again, and the counts are those the records table shows after the merge.
 */
export async function mergeIntoCtl(draft: CtlDraft, incoming: DraftRecord[], tokens: TokenAccess): Promise<CtlMergeView> {
  const { planned } = await plan(draft);
  const seen = new Set(planned.map((p) => recordKey(p.record)).filter(Boolean));
  const kept: DraftRecord[] = [];
  for (const r of incoming) {
    if (r.from !== 'certificate') continue;
    const key = recordKey({ role: r.role, certificate: Buffer.from(r.certificate, 'base64') })!;
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(r);
  }
  const records = [...draft.records, ...kept];
  const preview = await previewCtl({ ...draft, records }, tokens);
  return { records, added: kept.length, alreadyThere: incoming.length - kept.length, total: preview.records.length };
}
