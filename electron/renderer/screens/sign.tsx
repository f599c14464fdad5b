import { useEffect, useRef, useState } from 'preact/hooks';
import type { FileSource } from '../../../src/gui/contract';
import type { SignFilesView } from '../../../src/gui/types';
import { useApp } from '../context';
import { Badge, ErrorLine, Section } from '../components/basics';
import { DigestSelect, type Hash } from '../components/choices';
import { FilePicker, PathField } from '../components/file-picker';
import { KeyChoice, NO_KEY_CHOICE, keyOfChoice, tokenNeedingLogin, type KeyChoiceState } from '../components/key-choice';
import { errorMessage, sourceName } from '../util';
import { DataTable } from '../components/data-table';

const MAX_FILES = 20;

/**
 * Sign a few TFTP files (FILE.sgn) or encrypt configs to a phone's certificate (FILE.enc.sgn and its signed stub),
 * as `openctl sign` and `openctl encrypt` do; each output is read back and verified as `openctl verify` would,
 * against the CTL or ITL phones hold when one is given.
 */
export function SignScreen() {
  const { api, tokens, login, notify, outputDir, rememberDir } = useApp();
  const [files, setFiles] = useState<FileSource[]>([]);
  const [mode, setMode] = useState<'sign' | 'encrypt'>('sign');
  const [deviceCert, setDeviceCert] = useState<FileSource>();
  const [trust, setTrust] = useState<FileSource>();
  const [key, setKey] = useState<KeyChoiceState>(NO_KEY_CHOICE);
  const [digest, setDigest] = useState<Hash>('sha1');
  const [outDir, setOutDir] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  const [result, setResult] = useState<SignFilesView>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const resultRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!outDir && outputDir) setOutDir(outputDir);
  }, [outputDir]);
  // The result shown is the result of the inputs shown: any change takes it away.
  useEffect(() => setResult(undefined), [files, mode, deviceCert, trust, key, digest, outDir, overwrite]);

  const signerKey = keyOfChoice(key);
  const ready = files.length > 0 && signerKey && outDir.trim() && (mode === 'sign' || deviceCert);

  const run = async (_event?: Event) => {
    const needs = tokenNeedingLogin(key, tokens);
    if (needs) {
      login(needs);
      return;
    }
    if (!signerKey) return;
    setBusy(true);
    setError(undefined);
    try {
      const done = await api.signFiles({ files, signer: signerKey, digest, outDir: outDir.trim(), overwrite, deviceCert: mode === 'encrypt' ? deviceCert : undefined, trust });
      setResult(done);
      rememberDir(outDir.trim(), true);
      notify(`${mode === 'encrypt' ? 'Encrypted' : 'Signed'} ${done.files.length} file${done.files.length === 1 ? '' : 's'}`);
      requestAnimationFrame(() => resultRef.current?.focus());
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const action = mode === 'encrypt' ? 'Encrypt and sign' : 'Sign';
  return (
    <div class="screen">
      <h2 tabIndex={-1}>Sign</h2>
      <p class="muted">
        Sign a few files for the TFTP server (<code>openctl sign</code>), or encrypt configs to a phone's certificate (<code>openctl encrypt</code>). For whole folders, use Batch.
      </p>
      <div>
        <Section title="1. Files" id="sign-files">
          <FilePicker
            name="sign-file"
            legend="Files to sign (a config, ring list, soft key file…)"
            actionLabel="Add file"
            multiple
            onPick={(source) => setFiles((f) => (f.length >= MAX_FILES || f.some((x) => sourceName(x) === sourceName(source)) ? f : [...f, source]))}
          />
          {files.length === 0 ? (
            <p class="muted">No file yet.</p>
          ) : (
            <ul class="plain" aria-label="Files to sign" data-testid="sign-list">
              {files.map((f) => (
                <li key={sourceName(f)} class="cert-line">
                  <span class="mono grow">{sourceName(f)}</span>
                  <button type="button" class="small" aria-label={`Remove ${sourceName(f)}`} onClick={() => setFiles((list) => list.filter((x) => x !== f))}>
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          )}
        </Section>
        <Section title="2. How" id="sign-how">
          <fieldset>
            <legend>Output</legend>
            <label class="check-row">
              <input type="radio" name="sign-mode" checked={mode === 'sign'} onChange={() => setMode('sign')} />
              Signed file FILE.sgn
            </label>
            <label class="check-row">
              <input type="radio" name="sign-mode" checked={mode === 'encrypt'} onChange={() => setMode('encrypt')} />
              Encrypted config FILE.enc.sgn and its signed stub FILE.sgn
            </label>
          </fieldset>
          {mode === 'encrypt' && (
            <>
              <FilePicker name="sign-device-cert" legend="Phone certificate (LSC or MIC) to encrypt to" actionLabel="Use" onPick={(source) => setDeviceCert(source)} />
              <p data-testid="sign-device-cert">{deviceCert ? <>Encrypting to <span class="mono">{sourceName(deviceCert)}</span></> : <span class="muted">No phone certificate chosen.</span>}</p>
            </>
          )}
          <KeyChoice legend="TFTP signer" name="sign-signer" value={key} onChange={setKey} hint="The key of a TFTP-capable record (CCM+TFTP or TFTP) of the CTL and ITL phones hold." />
          <DigestSelect id="sign-digest" value={digest} onChange={setDigest} />
          <FilePicker name="sign-trust" legend="Check against the CTL or ITL phones hold (optional)" actionLabel="Use" onPick={(source) => setTrust(source)} />
          <p data-testid="sign-trust">
            {trust ? (
              <>
                Verdicts against <span class="mono">{sourceName(trust)}</span>{' '}
                <button type="button" class="small" onClick={() => setTrust(undefined)}>
                  Do not check against a list
                </button>
              </>
            ) : (
              <span class="muted">Verdicts against the signer's own certificate.</span>
            )}
          </p>
        </Section>
        <Section title="3. Save" id="sign-save">
          <PathField label="Output folder" name="sign-out" kind="folder" value={outDir} onChange={setOutDir} />
          <label class="check-row">
            <input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite((e.target as HTMLInputElement).checked)} />
            Replace existing files
          </label>
          <div class="actions">
            <button type="button" class="primary" disabled={busy || !ready} onClick={(e) => void run(e)}>
              {busy ? 'Working…' : `${action} ${files.length || ''} file${files.length === 1 ? '' : 's'}`.replace('  ', ' ')}
            </button>
          </div>
          <ErrorLine message={error} />
          {result && (
            <div class="result" tabIndex={-1} ref={resultRef} role="status" data-testid="sign-files-result">
              <p>
                <strong>
                  {result.files.length} file{result.files.length === 1 ? '' : 's'} written
                </strong>{' '}
                by {result.signer} ({result.digest.toUpperCase()}); verdicts against {result.checkedAgainst}.
              </p>
              <DataTable caption="Outputs, each read back and verified" columns={['Output', 'Verdict', 'SHA-1']}>
                {result.files.flatMap((f) =>
                  f.outputs.map((o) => (
                    <tr key={o.path} data-valid={String(o.verdict.valid)}>
                      <td class="mono">{o.path}</td>
                      <td>
                        <Badge tone={o.verdict.valid ? 'ok' : 'error'}>{o.verdict.valid ? 'valid' : 'invalid'}</Badge> {o.verdict.reason}
                      </td>
                      <td class="mono small fingerprint">{o.sha1}</td>
                    </tr>
                  )),
                )}
              </DataTable>
            </div>
          )}
        </Section>
      </div>
    </div>
  );
}
