import { useState } from 'preact/hooks';
import type { FileSource } from '../../../src/gui/contract';
import type { DiffView, FileReport } from '../../../src/gui/types';
import { useApp } from '../context';
import { Badge, ErrorLine, Section } from '../components/basics';
import { FilePicker } from '../components/file-picker';
import { errorMessage, sourceName } from '../util';

type ElementRow = FileReport['rows'][number];

function ElementTable({ rows, caption }: { rows: ElementRow[]; caption: string }) {
  return (
    <div class="table-wrap">
      <table class="elements">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Byte</th>
            <th scope="col">Tag</th>
            <th scope="col">Name</th>
            <th scope="col">Length</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td class="num">{r.offset}</td>
              <td class="num">{r.tag}</td>
              <td class={`depth-${Math.min(r.depth, 3)}`}>{r.name}</td>
              <td class="num">{r.length}</td>
              <td class="mono wrap">{r.value ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
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
            {report.records.map((r) => (
              <li key={r.index} class="record">
                <p>
                  <strong>
                    Record {r.index}: {r.roleName ?? 'no function'}
                  </strong>{' '}
                  {r.signedTheFile && <Badge tone="ok">signed this file</Badge>} <span class="mono">{r.subject ?? '(no subject)'}</span>
                  {r.dnsName ? ` · ${r.dnsName}` : ''}
                  {r.ipv4 ? ` · ${r.ipv4}` : ''}
                </p>
                <details>
                  <summary>Elements of record {r.index}</summary>
                  <ElementTable rows={r.rows} caption={`Record ${r.index} (${r.length} bytes at byte ${r.offset})`} />
                </details>
              </li>
            ))}
          </ol>
        </Section>
      )}
    </div>
  );
}

function DiffResult({ diff }: { diff: DiffView }) {
  return (
    <div data-testid="diff-result">
      <p class={`verdict verdict-${diff.accepted === undefined ? 'info' : diff.accepted ? 'ok' : 'error'}`} role="status">
        {diff.summary}
      </p>
      <ul class="diff-lines">
        {diff.lines.map((line, i) => (
          <li key={i} class="mono">
            {line}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function InspectScreen() {
  const { api } = useApp();
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
  const compare = async (other: FileSource) => {
    if (!file) return;
    setError(undefined);
    try {
      setDiff(await api.diff({ old: file, new: other }));
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
      {report && file && (
        <Section title="Compare" id="inspect-diff">
          <p class="muted">Compare {sourceName(file)} (old) with another file (new): records added, removed and changed, and whether phones holding the old one accept the new one.</p>
          <FilePicker name="inspect-diff" legend="New file to compare with" actionLabel="Compare" onPick={compare} />
          {diff && <DiffResult diff={diff} />}
        </Section>
      )}
    </div>
  );
}
