import type { FileReport, RecordSummary } from '../../inspect/report-types';
import { safeText } from '../../util/safe-text';

const KIND_LABEL = { ctl: 'CTL', itl: 'ITL', signed: 'signed file', encrypted: 'encrypted config' } as const;
const MAX_NAME = 40;

/**
 * Names come from the file: escaped as everything openctl prints (src/util/safe-text.ts), then cut to the column,
 * so that a crafted subject cannot move the cursor, hide text or push the verdict off the line.
 */
function printable(text: string, max = MAX_NAME): string {
  const escaped = safeText(text, Number.MAX_SAFE_INTEGER);
  return escaped.length > max ? `${escaped.slice(0, max - 1)}…` : escaped;
}

function expiryText(r: RecordSummary): string {
  switch (r.certificate) {
    case 'none':
      return 'no certificate (stub)';
    case 'hash-only':
      return 'certificate hash only';
    case 'unreadable':
      return 'unreadable certificate';
  }
  if (!r.notAfter) return 'no valid expiry date';
  const day = r.notAfter.slice(0, 10);
  if (r.expiry === 'expired') return `${day} EXPIRED`;
  if (r.expiry === 'soon') return `${day} (in ${r.daysLeft} day${r.daysLeft === 1 ? '' : 's'})`;
  return day;
}

function where(r: RecordSummary): string {
  const parts = [r.dnsName, r.ipv4 === r.dnsName ? undefined : r.ipv4].filter((p): p is string => Boolean(p));
  return parts.length ? printable(parts.join(' / ')) : '-';
}

function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

function verdictLine(report: FileReport, kind: string | undefined): string {
  const v = report.verdict;
  if (!v.checked) return `Signature ${v.reason}.`;
  if (v.valid) return kind ? `The ${kind} file was verified successfully.` : 'The file was verified successfully.';
  return `The ${kind ? `${kind} ` : ''}file signature is INVALID: ${v.reason}.`;
}

/**
 * `openctl show --summary`: one line per record with its certificate's expiry, the view of the Windows CTL
 * Client, then the verdict. Signed files and encrypted configs get one line about the file.
 */
export function renderShowSummary(report: FileReport, summary: readonly RecordSummary[] | undefined): string {
  const kind = report.kind === 'ctl' ? 'CTL' : report.kind === 'itl' ? 'ITL' : undefined;
  const h = report.header;
  const label = report.firmware ? 'signed firmware container' : KIND_LABEL[report.kind];
  const when = h.timestampIso ? `, ${h.timestampIso.replace('.000Z', 'Z')}` : ', no timestamp';
  const lines = [`${printable(report.file, 200)} (${label}): signed by ${printable(h.signer.subject, 120)}, ${h.digest.toUpperCase()}${when}`];
  if (summary) {
    const rows = [['#', 'FUNCTION', 'NAME', 'DNS / IP', 'EXPIRES', '']];
    for (const r of summary) {
      rows.push([String(r.index), printable(r.roleName ?? '?', 20), printable(r.name ?? '-'), where(r), expiryText(r), r.signedTheFile ? 'signed this file' : '']);
    }
    lines.push(`${summary.length} record${summary.length === 1 ? '' : 's'}:`, ...columns(rows));
  } else if (report.body) {
    lines.push(`${report.kind === 'encrypted' ? 'encrypted body' : 'body'}: ${report.body.length} bytes, SHA1 ${report.body.sha1}`);
  }
  lines.push(verdictLine(report, kind));
  return `${lines.join('\n')}\n`;
}
