import { useEffect, useRef, useState } from 'preact/hooks';
import type { RequestOf } from '../../../src/gui/contract';
import type { ItlCheckView, ItlServerView } from '../../../src/gui/types';
import { useApp } from '../context';
import { Badge, ErrorLine, Section } from '../components/basics';
import { PathField } from '../components/file-picker';
import { KeyChoice, NO_KEY_CHOICE, keyOfChoice, tokenNeedingLogin, type KeyChoiceState } from '../components/key-choice';
import { Holding, RecordRows, VerdictTable } from '../components/verdicts';
import { commonName, errorMessage } from '../util';

interface ServerInputs {
  /** Use another key than the cluster's itlSigner. */
  change: boolean;
  key: KeyChoiceState;
  heldItl: string;
}
const NO_INPUTS: ServerInputs = { change: false, key: NO_KEY_CHOICE, heldItl: '' };

function ServerCard({ view, inputs, onChange }: { view: ItlServerView; inputs: ServerInputs; onChange(next: ServerInputs): void }) {
  const slug = view.server.replace(/[^A-Za-z0-9_-]/g, '-');
  const ok = !view.problem && view.selfCheck?.valid && view.verdict && view.verdict.verdict !== 'rejected';
  return (
    <section class="card" aria-labelledby={`itl-server-${slug}`} data-testid="itl-server" data-server={view.server} data-ok={String(Boolean(ok))}>
      <div class="card-head">
        <h4 id={`itl-server-${slug}`}>ITL of {view.server}</h4>
        <Badge tone={ok ? 'ok' : 'error'}>{ok ? 'phones accept it' : view.problem ? 'cannot be built' : 'phones would reject it'}</Badge>
      </div>
      <p>
        Signed by <span class="mono">{view.signer.subject ? commonName(view.signer.subject) : view.signer.source || '(no signer)'}</span>
        {view.signer.source && (
          <span class="muted small">
            {' '}
            · {inputs.change ? 'chosen here' : 'the cluster\u2019s itlSigner'}: <span class="mono">{view.signer.source}</span>
          </span>
        )}
      </p>
      <label class="check-row">
        <input type="checkbox" checked={inputs.change} onChange={(e) => onChange({ ...inputs, change: (e.target as HTMLInputElement).checked })} />
        Sign {view.server}'s ITL with another key than the cluster's itlSigner
      </label>
      {inputs.change && <KeyChoice legend={`ITL signer of ${view.server}`} name={`itl-signer-${slug}`} value={inputs.key} onChange={(key) => onChange({ ...inputs, key })} />}
      <PathField label={`ITL the phones of ${view.server} hold now (optional)`} name={`itl-held-${slug}`} kind="open" value={inputs.heldItl} onChange={(heldItl) => onChange({ ...inputs, heldItl })} />
      {view.problem && <ErrorLine message={view.problem} />}
      {view.verdict && (
        <>
          <p class="muted small">
            {view.bytes} bytes · SHA-1 <span class="mono">{view.sha1}</span> · own signature: {view.selfCheck?.valid ? 'verified' : `does not verify (${view.selfCheck?.reason})`}
          </p>
          <VerdictTable verdicts={[view.verdict]} caption={`Phones holding ${view.heldBy === 'nothing' ? 'no ITL' : view.heldBy}`} testId="itl-verdict" />
          <Holding holding={view.verdict.holdsAfter} label="Phones hold afterwards" />
        </>
      )}
      {view.records.length > 0 && <RecordRows records={view.records} caption={`${view.records.length} records`} testId="itl-records" />}
    </section>
  );
}

/**
 * The ITL builder: one ITL per TFTP server of a cluster file (normal or rollback), built and checked in the service
 * by `openctl batch itl`'s code, each with the verdict phones holding its current ITL would give. Save writes
 * exactly the ITLs checked, and is offered only when every one passes.
 */
export function ItlScreen() {
  const { api, info, notify, login, tokens, suggest, rememberDir } = useApp();
  const [cluster, setCluster] = useState('');
  const [rollback, setRollback] = useState(false);
  const [inputs, setInputs] = useState<Record<string, ServerInputs>>({});
  const [view, setView] = useState<ItlCheckView>();
  const [output, setOutput] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const resultRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!output && info) setOutput(suggest('itl'));
  }, [info]);

  // A saved result describes the inputs it was saved from: any change takes it (and the check) away.
  const changed = () => setView((v) => (v ? { ...v, written: undefined, ok: false, checkId: '' } : v));

  const request = (): RequestOf<'itlCheck'> => ({
    cluster: cluster.trim(),
    rollback,
    servers: Object.entries(inputs).map(([server, i]) => ({
      server,
      signer: i.change ? keyOfChoice(i.key) : undefined,
      heldItl: i.heldItl.trim() || undefined,
    })),
  });

  const check = async (event?: Event) => {
    event?.preventDefault();
    for (const i of Object.values(inputs)) {
      const needs = i.change ? tokenNeedingLogin(i.key, tokens) : undefined;
      if (needs) {
        login(needs);
        return;
      }
    }
    setBusy(true);
    setError(undefined);
    try {
      const checked = await api.itlCheck(request());
      setView(checked);
      setInputs((current) => Object.fromEntries(checked.servers.map((s) => [s.server, current[s.server] ?? NO_INPUTS])));
    } catch (err) {
      setView(undefined);
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const save = async () => {
    if (!view) return;
    try {
      const saved = await api.itlSave({ checkId: view.checkId, output: output.trim(), overwrite });
      setView(saved);
      rememberDir(output.trim(), true);
      notify(`Saved ${saved.written?.length ?? 0} ITLs in ${output.trim()}`);
      requestAnimationFrame(() => resultRef.current?.focus());
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  return (
    <div class="screen">
      <h2 tabIndex={-1}>ITL builder</h2>
      <p class="muted">
        One ITL per TFTP server of a cluster file, signed by each server's <code>itlSigner</code>, as <code>openctl batch itl</code> writes them.
      </p>
      <Section title="1. Cluster and kind" id="itl-inputs">
        <form onSubmit={check}>
          <PathField
            label="Cluster file"
            name="itl-cluster"
            kind="open"
            value={cluster}
            onChange={(v) => {
              setCluster(v);
              changed();
            }}
          />
          <fieldset>
            <legend>Kind of ITL</legend>
            <label class="check-row">
              <input type="radio" name="itl-kind" checked={!rollback} onChange={() => (setRollback(false), changed())} />
              Normal ITL
            </label>
            <label class="check-row">
              <input type="radio" name="itl-kind" checked={rollback} onChange={() => (setRollback(true), changed())} />
              Rollback ITL (empty TVS and TFTP sections: phones then accept any config and any new ITL; replace it once phones have it)
            </label>
          </fieldset>
          <div class="actions">
            <button type="submit" class="primary" disabled={busy || !cluster.trim()}>
              {busy ? 'Checking…' : view ? 'Check ITLs again' : 'Check ITLs'}
            </button>
          </div>
        </form>
        <ErrorLine message={error} />
      </Section>
      {view && (
        <Section title={`2. ITLs of ${view.servers.length} TFTP server${view.servers.length === 1 ? '' : 's'}`} id="itl-servers">
          <p class="muted small">Change a signer or the ITL phones hold, then check again: the verdicts are those of the ITLs that Save writes.</p>
          {view.servers.map((s) => (
            <ServerCard
              key={s.server}
              view={s}
              inputs={inputs[s.server] ?? NO_INPUTS}
              onChange={(next) => {
                setInputs((i) => ({ ...i, [s.server]: next }));
                changed();
              }}
            />
          ))}
        </Section>
      )}
      {view && (
        <Section title="3. Save" id="itl-save">
          <PathField label="Output folder (one sub-folder per server)" name="itl-output" kind="folder" value={output} onChange={(v) => (setOutput(v), setView((x) => (x ? { ...x, written: undefined } : x)))} />
          <label class="check-row">
            <input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite((e.target as HTMLInputElement).checked)} />
            Replace existing ITL files
          </label>
          {!view.ok && !view.written && <p class="muted">{view.checkId ? 'Nothing can be saved while an ITL has a problem or phones would reject it.' : 'Inputs changed: check the ITLs again before saving.'}</p>}
          <div class="actions">
            <button type="button" class="primary" disabled={!view.ok || !output.trim()} onClick={() => void save()}>
              Save ITLs
            </button>
          </div>
          {view.written && (
            <div class="result" tabIndex={-1} ref={resultRef} role="status" data-testid="itl-saved">
              <p>
                <strong>Saved {view.written.length} ITL{view.written.length === 1 ? '' : 's'}</strong>
                {view.rollback ? ' (rollback)' : ''}:
              </p>
              <ul>
                {view.written.map((f) => (
                  <li key={f} class="mono">
                    {f}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </Section>
      )}
    </div>
  );
}
