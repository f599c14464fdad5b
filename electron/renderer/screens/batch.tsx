import { useEffect, useState } from 'preact/hooks';
import type { BatchState } from '../../../src/gui/types';
import { useApp } from '../context';
import { Badge, ErrorLine, Section } from '../components/basics';
import { PathField } from '../components/file-picker';
import { DigestSelect, TokenSelect, type Hash } from '../components/choices';
import { errorMessage, formatDuration, lines } from '../util';
import { DataTable } from '../components/data-table';

function Progress({ state }: { state: BatchState }) {
  const total = state.total;
  const processed = state.done;
  const label = total !== undefined ? `${processed} of ${total} files` : `${processed} files (still counting)`;
  return (
    <div class="batch-progress" data-testid="batch-progress" data-status={state.status}>
      <label for="batch-bar">Progress</label>
      <progress id="batch-bar" max={total && total > 0 ? total : undefined} value={total !== undefined ? processed : undefined} aria-valuetext={label} />
      <p aria-live="polite">
        {label} · {state.filesPerSecond.toFixed(1)} files/s · ETA {state.status === 'running' ? formatDuration(state.etaSeconds) : '—'} · {state.failed} failed
        {state.skipped ? ` · ${state.skipped} done before resuming` : ''}
      </p>
    </div>
  );
}

export function BatchScreen() {
  const { api, tokens, notify, login } = useApp();
  const [source, setSource] = useState('');
  const [output, setOutput] = useState('');
  const [signerKind, setSignerKind] = useState<'token' | 'pem'>('token');
  const [tokenId, setTokenId] = useState<string>();
  const [pem, setPem] = useState('');
  const [digest, setDigest] = useState<Hash>('sha1');
  const [overwrite, setOverwrite] = useState(false);
  const [include, setInclude] = useState('');
  const [exclude, setExclude] = useState('');
  const [encryptWith, setEncryptWith] = useState('');
  const [trust, setTrust] = useState('');
  const [incremental, setIncremental] = useState(false);
  // Open while options are set, and while the person keeps it open: clearing the last option must not fold the
  // panel (and the field that has the focus) away under them.
  const [optionsOpen, setOptionsOpen] = useState(false);
  const [state, setState] = useState<BatchState>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    const off = api.on('batch', setState);
    api.batchState({}).then(setState, () => undefined);
    return off;
  }, [api]);

  const signers = tokens.tokens.filter((t) => t.sast);
  const token = signers.find((t) => t.id === tokenId);
  const running = state?.status === 'running';

  const start = async (resume: boolean) => {
    setError(undefined);
    if (signerKind === 'token' && token && !token.loggedIn) {
      login(token);
      return;
    }
    try {
      const signer = signerKind === 'token' ? { tokenId: tokenId ?? '' } : { pem: pem.trim() };
      setState(
        await api.batchStart({
          source: source.trim(),
          output: output.trim(),
          signer,
          digest,
          resume,
          include: lines(include),
          exclude: lines(exclude),
          encryptWith: encryptWith.trim() || undefined,
          trust: lines(trust),
          incremental: incremental || undefined,
          overwrite,
        }),
      );
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const cancel = async () => {
    try {
      setState(await api.batchCancel({}));
    } catch (err) {
      notify(errorMessage(err), 'error');
    }
  };
  const ready = source.trim() && output.trim() && (signerKind === 'token' ? Boolean(token) : Boolean(pem.trim()));

  return (
    <div class="screen">
      <h2 tabIndex={-1}>Batch</h2>
      <p class="muted">Sign every config under a folder into an output folder (NAME.sgn), resumable after an interruption.</p>
      <Section title="Job" id="batch-job">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void start(false);
          }}
        >
          <PathField label="Source folder" name="batch-source" kind="folder" value={source} onChange={setSource} />
          <PathField label="Output folder" name="batch-output" kind="folder" value={output} onChange={setOutput} />
          <fieldset>
            <legend>Signer</legend>
            <label class="check-row">
              <input type="radio" name="batch-signer-kind" checked={signerKind === 'token'} onChange={() => setSignerKind('token')} />
              A token
            </label>
            {signerKind === 'token' && (
              <TokenSelect id="batch-token" label="Token" tokens={tokens.tokens} value={tokenId ?? ''} onChange={(id) => setTokenId(id || undefined)} />
            )}
            <label class="check-row">
              <input type="radio" name="batch-signer-kind" checked={signerKind === 'pem'} onChange={() => setSignerKind('pem')} />
              A PEM file with key and certificate (the TFTP server's CallManager key)
            </label>
            {signerKind === 'pem' && (
              <div class="field">
                <label for="batch-pem">PEM file (path)</label>
                <input id="batch-pem" type="text" value={pem} autocomplete="off" spellcheck={false} onInput={(e) => setPem((e.target as HTMLInputElement).value)} />
              </div>
            )}
          </fieldset>
          <DigestSelect id="batch-digest" value={digest} onChange={setDigest} />
          <label class="check-row">
            <input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite((e.target as HTMLInputElement).checked)} />
            Allow a folder that already holds files (replaces files of the same name; the CLI's --force)
          </label>
          <details
            class="options"
            open={optionsOpen || Boolean(include || exclude || encryptWith || trust || incremental)}
            onToggle={(e) => setOptionsOpen((e.currentTarget as HTMLDetailsElement).open)}
          >
            <summary>Options (include, exclude, encrypt, trust, incremental)</summary>
            <div class="row-wrap">
              <div class="field grow">
                <label for="batch-include">Sign only files matching (--include)</label>
                <textarea id="batch-include" rows={2} spellcheck={false} aria-describedby="batch-glob-hint" value={include} onInput={(e) => setInclude((e.target as HTMLTextAreaElement).value)} />
              </div>
              <div class="field grow">
                <label for="batch-exclude">Skip files matching (--exclude)</label>
                <textarea id="batch-exclude" rows={2} spellcheck={false} aria-describedby="batch-glob-hint" value={exclude} onInput={(e) => setExclude((e.target as HTMLTextAreaElement).value)} />
              </div>
            </div>
            <p id="batch-glob-hint" class="muted small">
              One glob per line; a glob without "/" matches the name at any depth (e.g. <code>SEP*.cnf.xml</code>).
            </p>
            <PathField label="Encrypt with the phone certificates in (--encrypt-with)" name="batch-encrypt-with" kind="folder" value={encryptWith} onChange={setEncryptWith} />
            <p class="muted small">Configs of phones with a certificate there (SEP&lt;MAC&gt;.pem, or by CN) become NAME.enc.sgn and a signed stub NAME.sgn.</p>
            <div class="field">
              <label for="batch-trust">CTL or ITL that must list the signer (--trust)</label>
              <textarea id="batch-trust" rows={2} spellcheck={false} aria-describedby="batch-trust-hint" value={trust} onInput={(e) => setTrust((e.target as HTMLTextAreaElement).value)} />
              <p id="batch-trust-hint" class="muted small">
                One path per line. When the signer is not a TFTP-capable record of them, nothing is signed.
              </p>
            </div>
            <label class="check-row">
              <input type="checkbox" checked={incremental} onChange={(e) => setIncremental((e.target as HTMLInputElement).checked)} />
              Incremental: sign again only the files whose content changed since the last run (--incremental)
            </label>
          </details>
          <div class="actions">
            <button type="submit" class="primary" disabled={!ready || running}>
              Start
            </button>
            <button type="button" disabled={!ready || running} onClick={() => void start(true)}>
              Resume
            </button>
            <button type="button" disabled={!running} onClick={() => void cancel()}>
              Cancel
            </button>
          </div>
        </form>
        <ErrorLine message={error} />
      </Section>
      {state && state.status !== 'idle' && (
        <Section
          title="Progress"
          id="batch-status"
          actions={
            <Badge tone={state.status === 'done' ? (state.failed ? 'warn' : 'ok') : state.status === 'running' ? 'info' : 'error'}>{state.status}</Badge>
          }
        >
          <Progress state={state} />
          {state.options && state.options.length > 0 && (
            <p class="muted small">
              Options: <code>{state.options.join(' ')}</code>
            </p>
          )}
          {state.message && (
            <p role="status" data-testid="batch-message">
              {state.message}
            </p>
          )}
          {state.status === 'cancelled' && state.resumable && <p>Cancelled: choose Resume to finish the job without signing completed files again.</p>}
          {state.errors.length > 0 && (
            <DataTable caption={<>Files that failed ({state.failed})</>} testId="batch-errors" className="" columns={['File', 'Problem']}>
              {state.errors.map((e, i) => (
                <tr key={i}>
                  <td class="mono">{e.file}</td>
                  <td>{e.message}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </Section>
      )}
    </div>
  );
}
