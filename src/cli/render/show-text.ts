import type { ElementRow, FileReport, RecordReport } from '../../inspect/report';
import { joinSafeLines, safeText } from '../../util/safe-text';

/** Said wherever a rollback ITL is shown: what it does to phones is the one thing to know about it. */
export const ROLLBACK_ITL_NOTE =
  'This is a ROLLBACK ITL (no TVS and no TFTP certificate): phones that hold it accept any config and any new ITL. Serve it only while moving phones, then replace it.';

const KIND_LABEL = { ctl: 'CTL', itl: 'ITL', signed: 'signed file', encrypted: 'encrypted config' } as const;

function table(rows: ElementRow[]): string[] {
  const lines = ['BYTEPOS  TAG  NAME                      LENGTH  VALUE', '-------  ---  ------------------------  ------  -----'];
  for (const r of rows) {
    const name = `${'  '.repeat(r.depth)}${r.name}`;
    lines.push(
      `${String(r.offset).padEnd(7)}  ${String(r.tag).padEnd(3)}  ${name.padEnd(24)}  ${String(r.length).padEnd(6)}  ${safeText(r.value ?? '')}`.trimEnd(),
    );
  }
  return lines;
}

function recordLines(kind: 'CTL' | 'ITL', record: RecordReport): string[] {
  const lines = ['', `${kind} Record #:${record.index}`, '----', ...table(record.rows)];
  if (record.unknownTags.length) lines.push(`(unknown tags kept: ${record.unknownTags.join(', ')})`);
  lines.push(
    record.signedTheFile
      ? `This etoken was used to sign the ${kind} file.`
      : `This etoken was not used to sign the ${kind} file.`,
  );
  return lines;
}

/** The layout CUCM admins know from `show ctl` / `show itl`, with real byte offsets in BYTEPOS. */
export function renderShowText(report: FileReport): string {
  const kind = report.kind === 'ctl' ? 'CTL' : report.kind === 'itl' ? 'ITL' : undefined;
  const lines = [
    `File: ${report.file} (${report.firmware ? 'signed firmware container, no timestamp' : KIND_LABEL[report.kind]})`,
    `The checksum value of the file:`,
    `${report.md5}(MD5)`,
    `${report.sha1}(SHA1)`,
    '',
    `Length of file: ${report.size}`,
    '',
    `Version: ${report.header.version}`,
    `HeaderLength: ${report.header.headerLength} (BYTES)`,
    '',
    ...table(report.rows),
  ];
  if (kind && report.records) {
    for (const record of report.records) lines.push(...recordLines(kind, record));
  }
  if (report.body) {
    lines.push('', `${report.kind === 'encrypted' ? 'Encrypted body' : 'Body'}: ${report.body.length} bytes, SHA1 ${report.body.sha1}`);
  }
  lines.push('');
  const v = report.verdict;
  if (!v.checked) lines.push(`Signature ${v.reason}.`);
  else if (v.valid) lines.push(kind ? `The ${kind} file was verified successfully.` : `The file was verified successfully.`);
  else lines.push(`The ${kind ?? ''} file signature is INVALID: ${v.reason}.`.replace('  ', ' '));
  if (report.rollback) lines.push('', ROLLBACK_ITL_NOTE);
  return `${joinSafeLines(lines)}\n`;
}
