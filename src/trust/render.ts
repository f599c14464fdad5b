import { joinSafeLines } from '../util/safe-text';
import type { FileVerdict, HeldSummary, HoldingSummary, TvsModel } from './model';
import type { FleetResult, PreflightResult } from './preflight';
import type { RecordView, TrustListDiff } from './diff';
import { shortName } from './records';

/** Text layouts of the model's results, shared by the CLI commands (the GUI draws its own). */

function held(h: HeldSummary | undefined): string | undefined {
  if (!h) return undefined;
  const rollback = h.rollback ? ', rollback ITL' : '';
  return `${h.name} (${h.kind.toUpperCase()}, ${h.records} records, signed by "${shortName(h.signer)}"${rollback}, sha1 ${h.sha1.slice(0, 12)})`;
}

export function renderHolding(h: HoldingSummary): string {
  const lists = [held(h.ctl), held(h.itl)].filter(Boolean);
  return `${lists.length ? lists.join(' and ') : 'nothing (no CTL, no ITL)'}; Security by Default: ${h.sbd ? 'yes' : 'no (no TVS)'}`;
}

export function renderTvs(tvs: TvsModel): string {
  const n = tvs.knows.length;
  const svc = tvs.serviceCertificates?.length ? `; TVS service certificate given (${tvs.serviceCertificates.length})` : '';
  return n === 0 ? `TVS vouches for no certificate (none given)${svc}` : `TVS vouches for ${n} certificate${n === 1 ? '' : 's'}${svc}`;
}

const LABEL: Record<FileVerdict['verdict'], string> = {
  accepted: 'accepted',
  'accepted-via-tvs': 'accepted via TVS',
  rejected: 'REJECTED',
};

export function renderVerdict(v: FileVerdict, index?: number, indent = ''): string[] {
  const lines = [`${indent}${index === undefined ? '' : `${index}. `}${v.name}: ${LABEL[v.verdict]} [${v.rule}]`];
  const pad = `${indent}   `;
  lines.push(`${pad}${v.reason}`);
  if (v.vouchedBy) {
    const where = { 'held-ctl': "the phone's CTL", 'held-itl': "the phone's ITL", tvs: 'TVS', file: 'the file itself' }[v.vouchedBy.source];
    const role = v.vouchedBy.source === 'tvs' && v.vouchedBy.role === 'TVS-known' ? 'certificate' : v.vouchedBy.role;
    lines.push(`${pad}vouched for by: ${role} "${v.vouchedBy.subject}" serial ${v.vouchedBy.serial} (${where})`);
  }
  if (v.missing && v.verdict === 'rejected') {
    lines.push(`${pad}missing certificate: "${v.missing.subject}" issued by "${v.missing.issuer}" serial ${v.missing.serial}`);
  }
  for (const w of v.warnings) lines.push(`${pad}warning: ${w.message}`);
  return lines;
}

export function renderPreflight(result: PreflightResult, tvs: TvsModel): string {
  const lines = [`phone holds: ${renderHolding(result.before)}`, renderTvs(tvs), ''];
  result.verdicts.forEach((v, i) => lines.push(...renderVerdict(v, i + 1)));
  lines.push('', `phone holds afterwards: ${renderHolding(result.after)}`);
  const rejected = result.verdicts.filter((v) => v.verdict === 'rejected').length;
  const viaTvs = result.verdicts.filter((v) => v.verdict === 'accepted-via-tvs').length;
  lines.push(
    rejected === 0
      ? `result: all ${result.verdicts.length} file${result.verdicts.length === 1 ? '' : 's'} accepted${viaTvs ? ` (${viaTvs} via TVS)` : ''}`
      : `result: ${rejected} of ${result.verdicts.length} file${result.verdicts.length === 1 ? '' : 's'} rejected: phones would lose trust`,
  );
  return joinSafeLines(lines);
}

export function renderFleet(fleet: FleetResult): string {
  const totalPhones = fleet.groups.reduce((n, g) => n + g.phones, 0);
  const lines = [`fleet: ${fleet.groups.length} group${fleet.groups.length === 1 ? '' : 's'} (${totalPhones} phone${totalPhones === 1 ? '' : 's'})`, ''];
  for (const g of fleet.groups) {
    lines.push(`${g.name} (${g.phones} phone${g.phones === 1 ? '' : 's'}; holds ${renderHolding(g.result.before)})`);
    g.result.verdicts.forEach((v, i) => lines.push(...renderVerdict(v, i + 1, '  ')));
  }
  lines.push('', 'per file (groups / phones):');
  for (const f of fleet.perFile) {
    lines.push(
      `  ${f.name}: accepted ${f.groups.accepted}/${f.phones.accepted}, accepted via TVS ${f.groups['accepted-via-tvs']}/${f.phones['accepted-via-tvs']}, rejected ${f.groups.rejected}/${f.phones.rejected}`,
    );
  }
  lines.push(
    fleet.ok
      ? `result: every group accepts every file`
      : `result: ${fleet.groupsRejecting} of ${fleet.groups.length} groups (${fleet.phonesRejecting} phones) would reject a file`,
  );
  return joinSafeLines(lines);
}

function recordLine(r: RecordView): string {
  const where = [r.dnsName, r.ipv4].filter(Boolean).join(' ');
  return `${r.role} "${r.subject ?? '(no subject)'}"${r.serial ? ` serial ${r.serial}` : ''}${where ? ` [${where}]` : ''}${r.certificate ? ` cert ${r.certificate.slice(0, 12)}` : ' (no certificate)'}`;
}

export function renderDiff(diff: TrustListDiff, oldName: string, newName: string): string {
  const lines = [`${diff.kind.toUpperCase()} ${oldName} -> ${newName}`];
  const change = (label: string, c: { before: unknown; after: unknown; changed: boolean }) =>
    lines.push(`${label}: ${c.changed ? `${String(c.before)} -> ${String(c.after)}` : `${String(c.after)} (unchanged)`}`);
  lines.push(
    diff.signer.changed
      ? `signer: "${diff.signer.before.subject}" serial ${diff.signer.before.serial} -> "${diff.signer.after.subject}" serial ${diff.signer.after.serial} (CHANGED)`
      : `signer: "${diff.signer.after.subject}" serial ${diff.signer.after.serial} (unchanged)`,
  );
  change('version', diff.version);
  change('signer version', diff.signerVersion);
  change('digest', diff.digest);
  change('timestamp', diff.timestamp);
  change('sha1', diff.sha1);
  lines.push(`records: ${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed, ${diff.unchanged} unchanged`);
  for (const r of diff.added) lines.push(`  + ${recordLine(r)}`);
  for (const r of diff.removed) lines.push(`  - ${recordLine(r)}`);
  for (const c of diff.changed) {
    lines.push(`  ~ ${recordLine(c.before)}`, `    -> ${recordLine(c.after)} (${c.changes.join(', ')})`);
  }
  if (diff.rollback.after) {
    lines.push('', `${newName} is a ROLLBACK ITL (no TVS, no TFTP certificate): phones that take it accept any config and any new ITL until it is replaced.`);
  }
  if (diff.rollback.before) {
    lines.push('', `${oldName} is a ROLLBACK ITL: phones holding it accept any config and any new ITL.`);
  }
  lines.push('', `phones holding ${oldName}:`);
  lines.push(...renderVerdict(diff.acceptance, undefined, '  '));
  return joinSafeLines(lines);
}
