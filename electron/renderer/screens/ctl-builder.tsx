import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { CtlDraft, DraftRecord } from '../../../src/gui/contract';
import type { CtlPreview, SignResult, TokenView } from '../../../src/gui/types';
import { useApp } from '../context';
import { Badge, Checks, ErrorLine, Section } from '../components/basics';
import { RecordRows } from '../components/verdicts';
import { DigestSelect, type Hash } from '../components/choices';
import { FilePicker, PathField } from '../components/file-picker';
import { ROLE_CHOICES, commonName, errorMessage, roleLabel } from '../util';


function sastRecordOf(token: TokenView): DraftRecord | undefined {
  return token.sast ? { from: 'certificate', role: 0, certificate: token.sast.der, source: `token ${token.label}` } : undefined;
}

function StartFrom() {
  const { api, draft, setDraft, notify } = useApp();
  const open = async (source: Parameters<typeof api.openCurrentCtl>[0]['file']) => {
    const view = await api.openCurrentCtl({ file: source });
    setDraft((d) => ({
      current: { source, view },
      records: [...view.records.map((_, index) => ({ from: 'current' as const, index })), ...d.records.filter((r) => r.from === 'certificate')],
    }));
    notify(`Updating ${view.file}: its ${view.records.length} records are kept unless you remove them`);
  };
  return (
    <Section title="1. Start from" id="ctl-start">
      {draft.current ? (
        <div class="row">
          <p class="grow">
            Updating <span class="mono">{draft.current.view.file}</span>, signed by{' '}
            <span class="mono">{commonName(draft.current.view.signer.subject)}</span>. The new CTL must be signed by one of its SAST tokens.
          </p>
          <button type="button" onClick={() => setDraft((d) => ({ records: d.records.filter((r) => r.from === 'certificate') }))}>
            Start a new CTL instead
          </button>
        </div>
      ) : (
        <>
          <p class="muted">A new CTL, or the CTL phones hold now, to update it (its records are kept).</p>
          <FilePicker name="ctl-current" legend="Current CTL to update (optional)" onPick={open} />
        </>
      )}
    </Section>
  );
}

function AddRecords() {
  const { api, tokens, draft, setDraft, notify } = useApp();
  const [role, setRole] = useState(2);
  const [dns, setDns] = useState('');
  const [ip, setIp] = useState('');
  const inDraft = (der: string, r: number) => draft.records.some((d) => d.from === 'certificate' && d.role === r && d.certificate === der);
  const addCert = async (source: Parameters<typeof api.readCertificates>[0]['file']) => {
    const certs = await api.readCertificates({ file: source });
    const cert = certs[0]!;
    setDraft((d) => ({
      ...d,
      records: [
        ...d.records,
        { from: 'certificate', role, certificate: cert.der, dnsName: dns.trim() || undefined, ipv4: ip.trim() || undefined, source: `file ${'path' in source ? source.path : source.name}` },
      ],
    }));
    notify(`Added ${roleLabel(role)} record ${commonName(cert.subject)}`);
  };
  const withSast = tokens.tokens.filter((t) => t.sast);
  return (
    <Section title="2. Add records" id="ctl-add">
      <h4>SAST certificates from tokens</h4>
      {withSast.length === 0 ? (
        <p class="muted">No token with a SAST certificate is inserted. Insert an eToken (or use the demo tokens on the Tokens screen).</p>
      ) : (
        <ul class="plain row-wrap">
          {withSast.map((t) => {
            const record = sastRecordOf(t)!;
            const added = record.from === 'certificate' && inDraft(record.certificate, 0);
            return (
              <li key={t.id}>
                <button
                  type="button"
                  aria-disabled={added}
                  onClick={() => {
                    // aria-disabled rather than disabled: the button keeps the keyboard focus after the click.
                    if (added) return;
                    setDraft((d) => ({ ...d, records: [...d.records, record] }));
                    notify(`Added the SAST certificate of ${t.label}`);
                  }}
                >
                  {added ? `SAST from ${t.label} added` : `Add SAST from ${t.label}`}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <h4>A server certificate</h4>
      <div class="row-wrap">
        <div class="field">
          <label for="ctl-role">Function</label>
          <select id="ctl-role" value={role} onChange={(e) => setRole(Number((e.target as HTMLSelectElement).value))}>
            {ROLE_CHOICES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="ctl-dns">DNS name</label>
          <input id="ctl-dns" type="text" value={dns} autocomplete="off" onInput={(e) => setDns((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="ctl-ip">IPv4 address</label>
          <input id="ctl-ip" type="text" value={ip} autocomplete="off" inputMode="decimal" onInput={(e) => setIp((e.target as HTMLInputElement).value)} />
        </div>
      </div>
      <FilePicker name="ctl-cert" legend="Certificate (PEM, DER or PKCS#7)" actionLabel="Add record" onPick={addCert} />
    </Section>
  );
}

function RecordsTable({ preview }: { preview?: CtlPreview }) {
  const { setDraft } = useApp();
  if (!preview) return <p class="muted">Add records to see what will be written.</p>;
  if (preview.records.length === 0) return <p class="muted">No records yet.</p>;
  return (
    <RecordRows
      records={preview.records}
      caption={`${preview.records.length} records will be written, in this order`}
      testId="ctl-records"
      actions={(r) =>
        r.draftIndex !== undefined && (
          <button
            type="button"
            class="small"
            aria-label={`Remove record ${r.index + 1} (${r.roleName} ${commonName(r.subject)})`}
            onClick={() => setDraft((d) => ({ ...d, records: d.records.filter((_, i) => i !== r.draftIndex) }))}
          >
            Remove
          </button>
        )
      }
    />
  );
}

export function CtlScreen() {
  const { api, tokens, draft, info, login, notify, suggest, rememberDir } = useApp();
  const [signerId, setSignerId] = useState<string>();
  const [hash, setHash] = useState<Hash>('sha1');
  const [signerVersion, setSignerVersion] = useState<'1.0' | '1.1'>('1.0');
  const [output, setOutput] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  const [preview, setPreview] = useState<CtlPreview>();
  const [previewError, setPreviewError] = useState<string>();
  const [result, setResult] = useState<SignResult>();
  const [busy, setBusy] = useState(false);
  const resultRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!output && info) setOutput(suggest('CTLFile.tlv'));
  }, [info]);

  const signers = tokens.tokens.filter((t) => t.sast);
  useEffect(() => {
    if (signerId && !signers.some((t) => t.id === signerId)) setSignerId(undefined);
  }, [tokens]);
  const signer = signers.find((t) => t.id === signerId);

  const ctlDraft: CtlDraft = useMemo(
    () => ({ records: draft.records, current: draft.current?.source, hash, signerVersion, signerTokenId: signerId }),
    [draft, hash, signerVersion, signerId],
  );

  // The saved-file panel describes the inputs it was made from: it goes as soon as they change.
  useEffect(() => setResult(undefined), [ctlDraft, output, overwrite]);

  useEffect(() => {
    let stale = false;
    api.previewCtl({ draft: ctlDraft }).then(
      (p) => {
        if (stale) return;
        setPreview(p);
        setPreviewError(undefined);
      },
      (err: unknown) => {
        if (!stale) setPreviewError(errorMessage(err));
      },
    );
    return () => {
      stale = true;
    };
  }, [ctlDraft, tokens.revision]);

  const sign = async (event: Event) => {
    event.preventDefault();
    if (!signer) return;
    if (!signer.loggedIn) {
      login(signer);
      return;
    }
    setBusy(true);
    setResult(undefined);
    try {
      const written = await api.signCtl({ draft: ctlDraft, signerTokenId: signer.id, output: output.trim(), overwrite });
      setResult(written);
      rememberDir(written.path);
      notify(`Signed and saved ${written.path}`);
      requestAnimationFrame(() => resultRef.current?.focus());
    } catch (err) {
      notify(errorMessage(err), 'error');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="screen">
      <h2 tabIndex={-1}>CTL builder</h2>
      <StartFrom />
      <AddRecords />
      <Section title="3. Records to be written" id="ctl-records-title">
        <ErrorLine message={previewError} />
        <RecordsTable preview={preview} />
      </Section>
      <Section title="4. Sign and save" id="ctl-sign">
        <form onSubmit={sign}>
          <fieldset>
            <legend>Token that signs</legend>
            {signers.length === 0 && <p class="muted">No token with a SAST certificate is inserted.</p>}
            {signers.map((t) => (
              <label key={t.id} class="check-row">
                <input type="radio" name="ctl-signer" value={t.id} checked={signerId === t.id} onChange={() => setSignerId(t.id)} />
                {t.label} <span class="muted">({commonName(t.sast!.subject)})</span> {t.loggedIn ? <Badge tone="ok">logged in</Badge> : <Badge tone="info">log-in needed</Badge>}
              </label>
            ))}
          </fieldset>
          <div class="row-wrap">
            <DigestSelect id="ctl-hash" value={hash} onChange={setHash} />
            <div class="field">
              <label for="ctl-signer-version">Signer version</label>
              <select id="ctl-signer-version" value={signerVersion} onChange={(e) => setSignerVersion((e.target as HTMLSelectElement).value as '1.0' | '1.1')}>
                <option value="1.0">1.0</option>
                <option value="1.1">1.1 (configs over HTTPS)</option>
              </select>
            </div>
          </div>
          <PathField label="Save as" name="ctl-output" kind="save" value={output} onChange={setOutput} />
          <label class="check-row">
            <input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite((e.target as HTMLInputElement).checked)} />
            Replace the file if it exists
          </label>
          {preview && <Checks checks={preview.checks} label="Checks before signing" />}
          <div class="actions">
            <button type="submit" class="primary" disabled={busy || !signer || !preview?.canSign || !output.trim()}>
              {busy ? 'Signing…' : signer && !signer.loggedIn ? `Log in to ${signer.label} to sign…` : 'Sign and save CTL'}
            </button>
          </div>
        </form>
        {result && (
          <div class="result" tabIndex={-1} ref={resultRef} role="status" data-testid="sign-result">
            <p>
              <strong>Saved {result.path}</strong>: {result.records} records, {result.size} bytes.{' '}
              {result.verdict.valid ? <Badge tone="ok">signature verified</Badge> : <Badge tone="error">does not verify</Badge>}
            </p>
            <dl class="facts">
              <dt>MD5</dt>
              <dd class="mono">{result.md5}</dd>
              <dt>SHA-1</dt>
              <dd class="mono">{result.sha1}</dd>
            </dl>
          </div>
        )}
      </Section>
    </div>
  );
}
