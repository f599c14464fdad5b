import type { ComponentChildren } from 'preact';
import type { FileVerdict, HoldingSummary, RecordView } from '../../../src/gui/types';
import { Badge, ExpiryBadge } from './basics';
import { commonName } from '../util';
import { DataTable } from './data-table';

const VERDICT_TONE = { accepted: 'ok', 'accepted-via-tvs': 'info', rejected: 'error' } as const;
const VERDICT_TEXT = { accepted: 'accepted', 'accepted-via-tvs': 'accepted via TVS', rejected: 'rejected' } as const;

export function VerdictBadge({ verdict }: { verdict: FileVerdict['verdict'] }) {
  return <Badge tone={VERDICT_TONE[verdict]}>{VERDICT_TEXT[verdict]}</Badge>;
}

/** The trust model's verdicts, one row per file: the verdict, its rule id, and why (as `openctl preflight` says). */
export function VerdictTable({ verdicts, caption, testId = 'verdicts' }: { verdicts: FileVerdict[]; caption: string; testId?: string }) {
  return (
    <DataTable caption={caption} testId={testId} columns={['File', 'Verdict', 'Rule', 'Why']}>
      {verdicts.map((v, i) => (
        <tr key={i} data-verdict={v.verdict} data-rule={v.rule}>
          <td class="mono">{v.name}</td>
          <td>
            <VerdictBadge verdict={v.verdict} />
          </td>
          <td class="mono" title={v.ruleText}>
            {v.rule}
          </td>
          <td>
            {v.reason}
            {v.verdict === 'rejected' && v.missing && (
              <span class="muted">
                {' '}
                Missing: “{v.missing.subject}”, serial {v.missing.serial}.
              </span>
            )}
            {v.warnings.map((w, j) => (
              <span key={j} class="muted">
                {' '}
                Warning: {w.message}
              </span>
            ))}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

/** What phones hold, in words: "CTL CTLFile.tlv (signed by …, 5 records) + ITL …". */
export function Holding({ holding, label }: { holding?: HoldingSummary; label: string }) {
  const parts = holding ? ([holding.ctl, holding.itl].filter(Boolean) as NonNullable<HoldingSummary['ctl']>[]) : [];
  return (
    <p data-testid={`holding-${label.toLowerCase().replace(/\W+/g, '-')}`}>
      <strong>{label}:</strong>{' '}
      {parts.length === 0
        ? 'no CTL and no ITL'
        : parts.map((h, i) => (
            <span key={i}>
              {i > 0 ? ' + ' : ''}
              {h.kind.toUpperCase()}
              {h.rollback ? ' (rollback)' : ''} <span class="mono">{h.name}</span>, signed by <span class="mono">{commonName(h.signer)}</span>, {h.records} records
            </span>
          ))}
      {holding && !holding.sbd ? ' · without Security by Default (no TVS)' : ''}
    </p>
  );
}

/**
 * Records as a table that tells two records apart: function, subject, serial, SHA-1 of the certificate and its
 * expiry (two records with one subject differ in serial and fingerprint).
 */
export function RecordRows({ records, caption, testId, actions }: { records: RecordView[]; caption: string; testId: string; actions?: (r: RecordView) => ComponentChildren }) {
  return (
    <DataTable caption={caption} testId={testId} columns={['#', 'Function', 'Subject', 'Serial and SHA-1', 'DNS name / IP', 'From', 'Certificate', { srOnly: 'Actions' }]}>
      {records.map((r) => (
        <tr key={r.index}>
          <td class="num">{r.index + 1}</td>
          <td>{r.roleName}</td>
          <td class="mono" title={r.subject}>
            {commonName(r.subject) || '(none)'}
          </td>
          <td class="mono small fingerprint">
            <span data-field="serial">{r.serialHex ?? ''}</span>
            {r.certificate && (
              <>
                <br />
                <span data-field="sha1">{r.certificate.sha1}</span>
              </>
            )}
          </td>
          <td>
            {r.dnsName ?? ''}
            {r.dnsName && r.ipv4 ? <br /> : null}
            {r.ipv4 ?? ''}
          </td>
          <td>{r.source}</td>
          <td>{r.certificate ? <ExpiryBadge cert={r.certificate} /> : <Badge tone="info">no certificate</Badge>}</td>
          {actions && <td>{actions(r)}</td>}
        </tr>
      ))}
    </DataTable>
  );
}
