import type { TrustList, TrustRecord, Version } from '../formats/model';
import { roleName } from '../formats';
import { sameDn } from '../formats/dn';
import type { FileVerdict, PhoneTrust, TvsModel } from './model';
import { evaluateFile, type EvaluateOptions } from './evaluate';
import { certInfo, isRollbackItl, sha1Hex, stripSign } from './records';

import type { Change, RecordView, RecordChange, TrustListDiff } from './diff-types';
export type { RecordView, RecordChange, Change, TrustListDiff } from './diff-types';

export interface DiffInput {
  name: string;
  list: TrustList;
}

/**
 * Compare two trust lists record by record. Records are matched by certificate (or certificate hash; stubs by
 * role and address); "changed" is the same certificate with another role, DNS name or IP, or the same subject
 * with a new certificate.
 */
export function diffTrustLists(
  before: DiffInput,
  after: DiffInput,
  phone: Omit<PhoneTrust, 'ctl' | 'itl'> & Partial<PhoneTrust> = { sbd: true },
  tvs: TvsModel = { knows: [] },
  options: EvaluateOptions = {},
): TrustListDiff {
  const oldLeft = before.list.records.slice();
  const newLeft = after.list.records.slice();
  const changed: RecordChange[] = [];
  let unchanged = 0;

  // 1. Same certificate, same placement: unchanged.
  for (let i = 0; i < newLeft.length; ) {
    const n = newLeft[i]!;
    const j = oldLeft.findIndex((o) => identity(o) === identity(n) && placementDiff(o, n).length === 0);
    if (j >= 0) {
      oldLeft.splice(j, 1);
      newLeft.splice(i, 1);
      unchanged += 1;
    } else i += 1;
  }
  // 2. Same certificate, other role / DNS / IP.
  for (let i = 0; i < newLeft.length; ) {
    const n = newLeft[i]!;
    const j = oldLeft.findIndex((o) => !identity(o).startsWith('stub:') && identity(o) === identity(n));
    if (j >= 0) {
      changed.push({ before: view(oldLeft[j]!), after: view(n), changes: placementDiff(oldLeft[j]!, n) });
      oldLeft.splice(j, 1);
      newLeft.splice(i, 1);
    } else i += 1;
  }
  // 3. Same subject (and role when possible), new certificate: a regenerated certificate.
  for (let i = 0; i < newLeft.length; ) {
    const n = newLeft[i]!;
    const sameSubject = (o: TrustRecord) => !!o.subject && !!n.subject && sameDn(o.subject, n.subject);
    let j = oldLeft.findIndex((o) => sameSubject(o) && o.role === n.role);
    if (j < 0) j = oldLeft.findIndex(sameSubject);
    if (j >= 0) {
      changed.push({ before: view(oldLeft[j]!), after: view(n), changes: ['certificate', ...placementDiff(oldLeft[j]!, n)] });
      oldLeft.splice(j, 1);
      newLeft.splice(i, 1);
    } else i += 1;
  }

  const hb = before.list.header;
  const ha = after.list.header;
  const signerOf = (h: typeof hb) => ({ subject: h.signer.subject, issuer: h.signer.issuer, serial: stripSign(h.signer.serial).toString('hex') });
  const sb = signerOf(hb);
  const sa = signerOf(ha);
  const held: PhoneTrust = { sbd: phone.sbd, ctl: phone.ctl, itl: phone.itl, [before.list.kind]: { name: before.name, list: before.list } };
  const acceptance = evaluateFile(held, { name: after.name, parsed: after.list, bytes: after.list.bytes }, tvs, options).verdict;
  const v = (x: Version | undefined) => (x ? `${x.major}.${x.minor}` : undefined);

  return {
    kind: after.list.kind,
    added: newLeft.map(view),
    removed: oldLeft.map(view),
    changed,
    unchanged,
    signer: {
      before: sb,
      after: sa,
      changed: sb.serial !== sa.serial || !sameDn(sb.issuer, sa.issuer),
    },
    version: change(v(hb.version)!, v(ha.version)!),
    signerVersion: change(v(hb.signerVersion), v(ha.signerVersion)),
    digest: change(hb.hash, ha.hash),
    timestamp: change(hb.timestamp, ha.timestamp),
    sha1: change(sha1Hex(before.list.bytes), sha1Hex(after.list.bytes)),
    acceptance,
    rollback: change(isRollbackItl(before.list), isRollbackItl(after.list)),
  };
}

function change<T>(before: T, after: T): Change<T> {
  return { before, after, changed: before !== after };
}

/** What makes two records "the same certificate". */
function identity(r: TrustRecord): string {
  if (r.certificate) return `cert:${sha1Hex(r.certificate)}`;
  if (r.certHash) return `hash:${r.certHash.toString('hex')}`;
  return `stub:${r.role ?? ''}:${r.dnsName ?? ''}:${r.ipv4 ?? ''}:${r.subject ?? ''}`;
}

function placementDiff(a: TrustRecord, b: TrustRecord): string[] {
  const out: string[] = [];
  if (a.role !== b.role) out.push('role');
  if ((a.dnsName ?? '') !== (b.dnsName ?? '')) out.push('dnsName');
  if ((a.ipv4 ?? '') !== (b.ipv4 ?? '')) out.push('ipv4');
  return out;
}

export function view(r: TrustRecord): RecordView {
  return {
    role: r.role === undefined ? 'unknown' : roleName(r.role),
    ...(r.subject ? { subject: r.subject } : {}),
    ...(r.issuer ? { issuer: r.issuer } : {}),
    ...(r.serial ? { serial: stripSign(r.serial).toString('hex') } : {}),
    ...(r.dnsName ? { dnsName: r.dnsName } : {}),
    ...(r.ipv4 ? { ipv4: r.ipv4 } : {}),
    ...(r.certificate
      ? { certificate: sha1Hex(r.certificate) }
      : r.certHash
        ? { certificate: r.certHash.toString('hex') }
        : {}),
    ...notAfterOf(r.certificate),
  };
}

/** Only the records a diff lists are decoded (through the shared certificate cache); a damaged date has none. */
function notAfterOf(der: Buffer | undefined): { notAfter?: string } {
  const time = der ? certInfo(der)?.notAfter.getTime() : undefined;
  return time === undefined || Number.isNaN(time) ? {} : { notAfter: new Date(time).toISOString() };
}
