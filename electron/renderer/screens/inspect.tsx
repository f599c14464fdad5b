import { useEffect, useState } from 'preact/hooks';
import type { FileSource } from '../../../src/gui/contract';
import type { DiffView, FileReport } from '../../../src/gui/types';
import { useApp } from '../context';
import { Badge, ErrorLine, ExpiryBadge, Section } from '../components/basics';
import { FilePicker } from '../components/file-picker';
import { errorMessage, shortDate, sourceName } from '../util';
import { DataTable } from '../components/data-table';

type ElementRow = FileReport['rows'][number];

function ElementTable({ rows, caption }: { rows: ElementRow[]; caption: string }) {
  return (
    <DataTable caption={caption} className="elements" columns={['Byte', 'Tag', 'Name', 'Length', 'Value']}>
      {rows.map((r, i) => (
        <tr key={i}>
          <td class="num">{r.offset}</td>
          <td class="num">{r.tag}</td>
          <td class={`depth-${Math.min(r.depth, 3)}`}>{r.name}</td>
          <td class="num">{r.length}</td>
          <td class="mono wrap">{r.value ?? ''}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function Verdict({ report }: { report: FileReport }) {
  const v = report.verdict;
  const tone = !v.checked ? 'info' : v.valid ? 'ok' : 'error';
  const word = !v.checked ? 'not checked' : v.valid ? 'valid' : 'invalid';
  return (
    <p class={`verdict verdict-${tone}`} role="status" data-testid="verdict">
      <strong>Signature: {word}</strong> — {v.reason}
      {v.signerRecord ? ` (record ${v.signerRecord} signed the file)` : ''}
    </p>
  );
}

function Report({ report }: { report: FileReport }) {
  const h = report.header;
  return (
    <div class="report" data-testid="inspect-report">
      <Section title={`${report.kind.toUpperCase()} · ${report.file}`} id="inspect-summary">
        <Verdict report={report} />
        <dl class="facts">
          <dt>Size</dt>
          <dd>{report.size} bytes</dd>
          <dt>MD5</dt>
          <dd class="mono">{report.md5}</dd>
          <dt>SHA-1</dt>
          <dd class="mono">{report.sha1}</dd>
          <dt>Version</dt>
          <dd>
            {h.version}
            {h.signerVersion ? ` (signer version ${h.signerVersion})` : ''}
          </dd>
          <dt>Signer</dt>
          <dd class="mono">{h.signer.subject}</dd>
          <dt>Digest</dt>
          <dd>
            {h.digest.toUpperCase()}, RSA {h.modulusBits ?? '?'} bits
          </dd>
          <dt>Header filename</dt>
          <dd class="mono">{h.filename}</dd>
          <dt>Timestamp</dt>
          <dd>{h.timestampIso ?? 'none (firmware container, header 1.1)'}</dd>
          {report.records && (
            <>
              <dt>Records</dt>
              <dd>{report.records.length}</dd>
            </>
          )}
          {report.body && (
            <>
              <dt>Body</dt>
              <dd>
                {report.body.length} bytes, SHA-1 <span class="mono">{report.body.sha1}</span>
              </dd>
            </>
          )}
        </dl>
      </Section>
      <Section title="Header" id="inspect-header">
        <ElementTable rows={report.rows} caption={`Header elements (${h.headerLength} bytes)`} />
      </Section>
      {report.records && (
        <Section title="Records" id="inspect-records">
          <ol class="records">
            {report.records.map((r) => {
              const expiry = report.summary?.find((s) => s.index === r.index);
              return (
                <li key={r.index} class="record">
                  <p>
                    <strong>
                      Record {r.index}: {r.roleName ?? 'no function'}
                    </strong>{' '}
                    {r.signedTheFile && <Badge tone="ok">signed this file</Badge>} <span class="mono">{r.subject ?? '(no subject)'}</span>
                    {r.dnsName ? ` · ${r.dnsName}` : ''}
                    {r.ipv4 ? ` · ${r.ipv4}` : ''}
                  </p>
                  <p class="muted small mono fingerprint" data-testid="record-ids">
                    serial {r.serial ?? '—'} · SHA-1 {r.certificateSha1 ?? r.certHash ?? '—'}
                  </p>
                  <p class="small" data-testid="record-expiry" data-not-after={expiry?.notAfter ?? ''}>
                    {expiry?.notAfter && expiry.expiry && expiry.daysLeft !== undefined ? (
                      <ExpiryBadge cert={{ expiry: expiry.expiry, notAfter: expiry.notAfter, daysLeft: expiry.daysLeft }} />
                    ) : (
                      <Badge tone="info">{expiry?.certificate === 'hash-only' ? 'certificate hash only: no expiry' : expiry?.certificate === 'unreadable' ? 'certificate unreadable: no expiry' : 'no certificate'}</Badge>
                    )}
                  </p>
                  <details>
                    <summary>Elements of record {r.index}</summary>
                    <ElementTable rows={r.rows} caption={`Record ${r.index} (${r.length} bytes at byte ${r.offset})`} />
                  </details>
                </li>
              );
            })}
          </ol>
        </Section>
      )}
    </div>
  );
}

type DiffRecord = DiffView['structured']['added'][number];

function DiffRecords({ records, caption, testId }: { records: DiffRecord[]; caption: string; testId: string }) {
  if (records.length === 0) return null;
  return (
    <DataTable caption={caption} testId={testId} columns={['Function', 'Subject', 'Serial and SHA-1', 'Expires', 'DNS name / IP']}>
      {records.map((r, i) => (
        <tr key={i} data-not-after={r.notAfter ?? ''}>
          <td>{r.role}</td>
          <td class="mono">{r.subject ?? '(none)'}</td>
          <td class="mono small fingerprint">
            {r.serial ?? ''}
            <br />
            {r.certificate ?? ''}
          </td>
          <td>{r.notAfter ? shortDate(r.notAfter) : '—'}</td>
          <td>{[r.dnsName, r.ipv4].filter(Boolean).join(' / ')}</td>
        </tr>
      ))}
    </DataTable>
  );
}

/** What changed in a record, on one side; a new certificate with its expiry. */
function changedText(c: DiffView['structured']['changed'][number], side: 'before' | 'after'): string {
  const r = c[side];
  const parts = c.changes.map((k) => `${k}: ${String((r as unknown as Record<string, unknown>)[k] ?? '—')}`);
  if (c.changes.includes('certificate')) parts.push(`expires: ${r.notAfter ? shortDate(r.notAfter) : '—'}`);
  return parts.join('; ');
}

/** The diff as `openctl diff --json` describes it: records added, removed and changed, the signer, the verdict. */
function DiffResult({ diff }: { diff: DiffView }) {
  const d = diff.structured;
  const header = [d.version, d.digest, d.signerVersion].some((c) => c.changed);
  return (
    <div data-testid="diff-result">
      <p class={`verdict verdict-${diff.accepted === undefined ? 'info' : diff.accepted ? 'ok' : 'error'}`} role="status" data-testid="diff-verdict">
        <strong>
          Phones holding the {diff.oldLabel} {d.acceptance.verdict === 'rejected' ? 'would reject' : d.acceptance.verdict === 'accepted-via-tvs' ? 'accept (via TVS)' : 'accept'} the {diff.newLabel}
        </strong>{' '}
        — {d.acceptance.reason} <span class="mono small">[{d.acceptance.rule}]</span>
      </p>
      <dl class="facts" data-testid="diff-counts">
        <dt>Records</dt>
        <dd>
          {d.added.length} added, {d.removed.length} removed, {d.changed.length} changed, {d.unchanged} unchanged
        </dd>
        <dt>Signer</dt>
        <dd class="mono">
          {d.signer.changed ? (
            <>
              {d.signer.before.subject} (serial {d.signer.before.serial}) → {d.signer.after.subject} (serial {d.signer.after.serial})
            </>
          ) : (
            <>unchanged: {d.signer.after.subject} (serial {d.signer.after.serial})</>
          )}
        </dd>
        {header && (
          <>
            <dt>Header</dt>
            <dd>
              {[d.version, d.digest, d.signerVersion]
                .map((c, i) => (c.changed ? `${['version', 'digest', 'signer version'][i]} ${c.before ?? '—'} → ${c.after ?? '—'}` : ''))
                .filter(Boolean)
                .join('; ')}
            </dd>
          </>
        )}
      </dl>
      <DiffRecords records={d.added} caption={`Added in the ${diff.newLabel}`} testId="diff-added" />
      <DiffRecords records={d.removed} caption={`Removed from the ${diff.oldLabel}`} testId="diff-removed" />
      {d.changed.length > 0 && (
        <DataTable caption="Changed records" testId="diff-changed" columns={['Record', 'What changed', <>In the {diff.oldLabel}</>, <>In the {diff.newLabel}</>]}>
          {d.changed.map((c, i) => (
            <tr key={i}>
              <td class="mono">
                {c.after.role} {c.after.subject ?? ''}
              </td>
              <td>{c.changes.join(', ')}</td>
              <td class="mono small fingerprint">{changedText(c, 'before')}</td>
              <td class="mono small fingerprint">{changedText(c, 'after')}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </div>
  );
}

export function InspectScreen() {
  const { api, handoff } = useApp();
  const [file, setFile] = useState<FileSource>();
  const [trust, setTrust] = useState<FileSource>();
  const [report, setReport] = useState<FileReport>();
  const [diff, setDiff] = useState<DiffView>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const run = async (next: FileSource, trustList: FileSource | undefined) => {
    setBusy(true);
    setError(undefined);
    setDiff(undefined);
    try {
      setReport(await api.inspect({ file: next, trust: trustList }));
    } catch (err) {
      setReport(undefined);
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    if (!handoff.inspect) return;
    const source = { path: handoff.inspect };
    setFile(source);
    setTrust(undefined);
    void run(source, undefined);
  }, [handoff.seq]);

  const compare = async (other: FileSource) => {
    if (!file) return;
    setError(undefined);
    try {
      setDiff(await api.diff({ old: file, new: other, oldLabel: 'current', newLabel: 'new' }));
    } catch (err) {
      setDiff(undefined);
      setError(errorMessage(err));
    }
  };

  return (
    <div class="screen">
      <h2 tabIndex={-1}>Inspect</h2>
      <p class="muted">Open a CTL, ITL, signed file (.sgn) or encrypted config (.enc.sgn) to see its header, records and signature verdict.</p>
      <FilePicker
        name="inspect-file"
        legend="File to inspect"
        onPick={(source) => {
          setFile(source);
          return run(source, trust);
        }}
      />
      {report && (report.kind === 'signed' || report.kind === 'encrypted') && (
        <FilePicker
          name="inspect-trust"
          legend="Check against the CTL or ITL phones hold"
          actionLabel="Check"
          onPick={(source) => {
            setTrust(source);
            return file ? run(file, source) : undefined;
          }}
        />
      )}
      {busy && <p role="status">Reading…</p>}
      <ErrorLine message={error} />
      {report && <Report report={report} />}
      {report && file && (report.kind === 'ctl' || report.kind === 'itl') && (
        <Section title="Compare" id="inspect-diff">
          <p class="muted">
            Compare the {report.kind.toUpperCase()} phones hold now ({sourceName(file)}) with a new {report.kind.toUpperCase()}: records added, removed and changed, the signer, and whether phones holding the current one accept the new one.
          </p>
          <FilePicker name="inspect-diff" legend={`New ${report.kind.toUpperCase()} to compare with`} actionLabel="Compare" onPick={compare} />
          {diff && <DiffResult diff={diff} />}
        </Section>
      )}
    </div>
  );
}
