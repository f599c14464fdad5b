import { roleName } from '../formats/roles';
import { parseDn, sameDn } from '../formats/dn';
import type { RecordSpec, TrustRecord } from '../formats/model';
import { Role } from '../formats/model';
import { digest } from '../crypto/hash';
import { certificateInfo } from '../crypto/certificate';
import { OpenctlError } from '../util/errors';
import { recordKey } from './ctl-rules';

/**
 * Editing the records of the CTL phones hold (`ctl build --update`): removing records (a decommissioned
 * subscriber, a lost token) and replacing a server's certificate. The CLI and any other front end share these
 * rules so that "what replaces what" reads the same everywhere.
 */

/** How a `--remove` names records: a certificate (from a file or token), a SHA-1 of one, or a subject DN. */
export type RemoveSelector =
  | { spec: string; by: 'certificate'; certificate: Buffer }
  | { spec: string; by: 'sha1'; sha1: string }
  | { spec: string; by: 'subject'; subject: string };

const SHA1_HEX = /^(?:[0-9a-f]{40}|[0-9a-f]{2}(?::[0-9a-f]{2}){19})$/i;

/**
 * Read a `--remove` value. A SHA-1 (40 hex digits, colons allowed) or a DN (`CN=...`) is taken as such unless a
 * file of that name exists; anything else is a certificate source read by `loadCertificate`.
 */
export async function parseRemoveSelector(
  spec: string,
  fileExists: (p: string) => boolean,
  loadCertificate: (spec: string) => Promise<Buffer>,
): Promise<RemoveSelector> {
  const trimmed = spec.trim();
  if (!fileExists(spec) && !spec.startsWith('pkcs11:')) {
    if (SHA1_HEX.test(trimmed)) return { spec, by: 'sha1', sha1: trimmed.replace(/:/g, '').toLowerCase() };
    if (/^[A-Za-z][\w.-]*\s*=/.test(trimmed)) {
      if (parseDn(trimmed).every(([type]) => type === '')) throw new OpenctlError(`--remove ${spec}: not a distinguished name`);
      return { spec, by: 'subject', subject: trimmed };
    }
  }
  return { spec, by: 'certificate', certificate: await loadCertificate(spec) };
}

function subjectMatches(recordSubject: string | undefined, wanted: string): boolean {
  if (recordSubject === undefined) return false;
  if (sameDn(recordSubject, wanted)) return true;
  // One attribute (`CN=cucm-sub2.example.net`) names every record whose subject has it.
  const want = parseDn(wanted);
  if (want.length !== 1) return false;
  const [only] = want;
  return parseDn(recordSubject).some(([type, value]) => type === only![0] && value.toLowerCase() === only![1].toLowerCase());
}

function selects(selector: RemoveSelector, record: TrustRecord): boolean {
  switch (selector.by) {
    case 'certificate':
      return record.certificate?.equals(selector.certificate) ?? false;
    case 'sha1':
      return (
        (record.certificate !== undefined && digest('sha1', record.certificate).toString('hex') === selector.sha1) ||
        record.certHash?.toString('hex') === selector.sha1
      );
    case 'subject':
      return subjectMatches(record.subject, selector.subject);
  }
}

export interface RemovedRecord {
  record: TrustRecord;
  /** The --remove value that removed it. */
  by: string;
}

/** Drop every record a selector names; a selector that names no record is an error (a typo must not pass). */
export function removeRecords(records: readonly TrustRecord[], selectors: readonly RemoveSelector[], listName: string): { kept: TrustRecord[]; removed: RemovedRecord[] } {
  const removed: RemovedRecord[] = [];
  const kept: TrustRecord[] = [];
  const used = new Set<RemoveSelector>();
  for (const record of records) {
    const hit = selectors.find((s) => selects(s, record));
    if (hit) {
      used.add(hit);
      removed.push({ record, by: hit.spec });
    } else kept.push(record);
  }
  for (const s of selectors) {
    if (!used.has(s) && !records.some((r) => selects(s, r))) {
      throw new OpenctlError(`--remove ${s.spec}: no record of ${listName} has this ${s.by === 'sha1' ? 'certificate SHA-1' : s.by}; nothing written`);
    }
  }
  return { kept, removed };
}

export interface ReplacedRecord {
  old: TrustRecord;
  by: RecordSpec;
}

function specSubject(spec: RecordSpec): string | undefined {
  try {
    return certificateInfo(spec.certificate).subject;
  } catch {
    return undefined;
  }
}

/**
 * Is `record` the same server in the same role as `spec`? Same function, and the same subject, or (for server
 * roles) the same DNS name or IPv4 address. SAST records name a token or ITLRecovery, so only the subject counts.
 */
export function sameServerAndRole(record: TrustRecord, spec: RecordSpec, subject = specSubject(spec)): boolean {
  if (record.role !== spec.role) return false;
  if (subject !== undefined && record.subject !== undefined && sameDn(record.subject, subject)) return true;
  if (spec.role === Role.SAST) return false;
  if (spec.dnsName && record.dnsName && spec.dnsName.toLowerCase() === record.dnsName.toLowerCase()) return true;
  return !!spec.ipv4 && record.ipv4 === spec.ipv4;
}

/**
 * Existing records stay byte for byte, in place; a new record that repeats one (same role, same certificate) is
 * dropped; a new certificate for the same server and role takes the old record's place unless `keepBoth`.
 */
export function mergeRecords(
  existing: readonly TrustRecord[],
  added: readonly RecordSpec[],
  options: { keepBoth?: boolean } = {},
): { records: Array<TrustRecord | RecordSpec>; replaced: ReplacedRecord[] } {
  const seen = new Set(existing.map(recordKey).filter(Boolean));
  const result: Array<TrustRecord | RecordSpec> = [...existing];
  const replaced: ReplacedRecord[] = [];
  for (const spec of added) {
    const key = recordKey(spec);
    if (seen.has(key)) continue;
    seen.add(key);
    if (!options.keepBoth) {
      const subject = specSubject(spec);
      const index = result.findIndex((r) => 'offset' in r && sameServerAndRole(r, spec, subject));
      if (index >= 0) {
        replaced.push({ old: result[index] as TrustRecord, by: spec });
        result[index] = spec;
        continue;
      }
    }
    result.push(spec);
  }
  return { records: result, replaced };
}

/** `SAST "CN=..." sha1 0123abcd4567` for messages about one record. */
export function describeRecordBrief(record: { role?: number; subject?: string; certificate?: Buffer; dnsName?: string }): string {
  const role = record.role === undefined ? 'record' : roleName(record.role);
  const sha1 = record.certificate ? ` sha1 ${digest('sha1', record.certificate).toString('hex').slice(0, 12)}` : '';
  const where = record.dnsName ? ` @${record.dnsName}` : '';
  return `${role} "${record.subject ?? '(no subject)'}"${where}${sha1}`;
}
