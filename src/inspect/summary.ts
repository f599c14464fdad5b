import type { TrustList, TrustRecord } from '../formats/model';
import { parseDn, roleName } from '../formats';
import { certificateInfo } from '../crypto/certificate';
import { EXPIRY_WARNING_DAYS } from '../trust/warnings';
import type { RecordSummary } from './report-types';

export type { RecordSummary } from './report-types';

const DAY_MS = 86_400_000;

/**
 * The one-line-per-record view of a trust list with each certificate's expiry. Unlike the `show ctl` report this
 * decodes certificates, so it is built only when asked for (`--summary`, `--json`). A damaged certificate or an
 * impossible date is reported as such, never thrown: a verdict never depends on dates (formats.md).
 */
export function summarizeRecords(list: TrustList, signerIndex: number | undefined, now: Date = new Date()): RecordSummary[] {
  return list.records.map((record, i) => summarizeRecord(record, i + 1, signerIndex === i, now));
}

function summarizeRecord(record: TrustRecord, index: number, signedTheFile: boolean, now: Date): RecordSummary {
  const summary: RecordSummary = {
    index,
    ...(record.role === undefined ? {} : { role: record.role, roleName: roleName(record.role) }),
    ...(record.subject ? { name: commonName(record.subject) } : {}),
    ...(record.dnsName ? { dnsName: record.dnsName } : {}),
    ...(record.ipv4 ? { ipv4: record.ipv4 } : {}),
    certificate: record.certificate ? 'certificate' : record.certHash ? 'hash-only' : 'none',
    signedTheFile,
  };
  if (!record.certificate) return summary;
  let notAfter: Date;
  try {
    const info = certificateInfo(record.certificate);
    notAfter = info.notAfter;
    if (!summary.name) summary.name = commonName(info.subject);
  } catch {
    return { ...summary, certificate: 'unreadable' };
  }
  const time = notAfter.getTime();
  if (Number.isNaN(time)) return summary; // a certificate whose notAfter is no date: no expiry to show
  const daysLeft = Math.floor((time - now.getTime()) / DAY_MS);
  return {
    ...summary,
    notAfter: notAfter.toISOString(),
    daysLeft,
    expiry: time < now.getTime() ? 'expired' : daysLeft <= EXPIRY_WARNING_DAYS ? 'soon' : 'ok',
  };
}

function commonName(dn: string): string {
  try {
    const cn = parseDn(dn).find(([type]) => type.toUpperCase() === 'CN');
    return cn ? cn[1] : dn;
  } catch {
    return dn;
  }
}
