import { useRef, useState } from 'preact/hooks';
import type { GuiPlanRequest, PlanKey } from '../../../src/gui/contract';
import type { PlanView } from '../../../src/gui/types';
import {
  MOVE_CLUSTER_METHODS,
  MOVE_CLUSTER_METHOD_TITLE,
  NEW_CERT_FIELD,
  PLAN_FIELDS,
  REGENERATE_KINDS,
  REGENERATE_KIND_LABEL,
  type MoveClusterMethod,
  type PlanField,
  type PlanProcedure,
  type RegenerateKind,
} from '../../../src/plan/fields';
import { useApp } from '../context';
import { Badge, ErrorLine, Section } from '../components/basics';
import { PathField } from '../components/file-picker';
import { VerdictTable } from '../components/verdicts';
import { DigestSelect, TokenSelect, type Hash } from '../components/choices';
import { errorMessage, uid } from '../util';

/** A key as the form holds it: a token chosen from the list, or a PEM path typed or chosen. */
interface KeyChoice {
  kind: 'pem' | 'token';
  pem: string;
  tokenId: string;
}
const NO_KEY: KeyChoice = { kind: 'pem', pem: '', tokenId: '' };

const PROCEDURES: ReadonlyArray<{ id: PlanProcedure; title: string; help: string }> = [
  { id: 'regenerate', title: 'Regenerate certificates', help: 'CAPF, TVS, ITLRecovery, CallManager or TFTP: one step per certificate, TFTP last.' },
  { id: 'move-cluster', title: 'Move phones to another cluster', help: "Through the rollback ITL, the other cluster's certificates in TVS, or shared SAST tokens." },
  { id: 'reimage', title: 'Re-image a TFTP server', help: 'A new TFTP key: behind the rollback ITL, or relying on TVS alone.' },
  { id: 'rollback', title: 'Roll back (rollback ITL)', help: 'Phones then accept any config and any new ITL; optionally a new ITL after it.' },
];

/** The CLI plan's own words for each method (its first step's title): who learns what, said one way only. */
const METHOD_LABEL = MOVE_CLUSTER_METHOD_TITLE;


/** Which inputs each procedure shows, in form order (names from src/plan/fields.ts, as the CLI options). */
const LIST_FIELDS: Record<PlanProcedure, PlanField[]> = {
  regenerate: ['itl', 'ctl'],
  'move-cluster': ['fromItl', 'fromCtl', 'toItl', 'toCtl'],
  reimage: ['itl', 'ctl'],
  rollback: ['itl', 'ctl'],
};
const KEY_FIELDS: Record<PlanProcedure, PlanField[]> = {
  regenerate: ['itlSigner', 'ctlSigner', 'configSigner'],
  'move-cluster': ['fromItlSigner', 'toCtlSigner', 'toConfigSigner'],
  reimage: ['itlSigner', 'ctlSigner', 'configSigner', 'newTftp', 'newItlSigner', 'newTvs', 'newCapf'],
  rollback: ['itlSigner', 'ctlSigner', 'configSigner', 'nextItlSigner', 'nextConfigSigner'],
};

/** Inputs a procedure can do without (the CLI's options that are not required). */
const OPTIONAL = new Set<PlanField>(['ctl', 'fromCtl', 'toCtl', 'newItlSigner', 'newTvs', 'newCapf', 'nextItlSigner', 'nextConfigSigner']);
const optionalText = (field: PlanField) => (OPTIONAL.has(field) ? ' (optional)' : '');

function KeyField({ field, value, onChange }: { field: PlanField; value: KeyChoice; onChange(next: KeyChoice): void }) {
  const { tokens } = useApp();
  const id = useRef(uid(`plan-${field}`)).current;
  const spec = PLAN_FIELDS[field];
  const hint = spec.kind === 'certificate' ? 'a certificate file, or a PEM file with its key when it must sign' : 'a PEM file with key and certificate, or a token';
  return (
    <fieldset class="key-field" data-field={field}>
      <legend>
        {spec.label}
        {optionalText(field)}
      </legend>
      <p class="muted small" id={`${id}-hint`}>
        {hint} · CLI: <code>{spec.option}</code>
      </p>
      <div class="row">
        <label class="check-row">
          <input type="radio" name={`${id}-kind`} checked={value.kind === 'pem'} onChange={() => onChange({ ...value, kind: 'pem' })} />
          File
        </label>
        <label class="check-row">
          <input type="radio" name={`${id}-kind`} checked={value.kind === 'token'} onChange={() => onChange({ ...value, kind: 'token' })} />
          Token
        </label>
      </div>
      {value.kind === 'pem' ? (
        <PathField label={`${spec.label}: file (path)`} name={`plan-${field}`} kind="open" value={value.pem} onChange={(pem) => onChange({ ...value, pem })} />
      ) : (
        <TokenSelect id={`${id}-token`} label={`${spec.label}: token`} tokens={tokens.tokens} value={value.tokenId} onChange={(tokenId) => onChange({ ...value, tokenId })} />
      )}
    </fieldset>
  );
}

function keyOf(choice: KeyChoice | undefined): PlanKey | undefined {
  if (!choice) return undefined;
  if (choice.kind === 'token') return choice.tokenId ? { tokenId: choice.tokenId } : undefined;
  return choice.pem.trim() ? { pem: choice.pem.trim() } : undefined;
}

function StepView({ step, index }: { step: PlanView['steps'][number]; index: number }) {
  return (
    <section class="plan-step card" aria-labelledby={`plan-step-${index}`} data-testid="plan-step" data-ok={String(step.ok)}>
      <div class="card-head">
        <h4 id={`plan-step-${index}`}>
          Step {index + 1}: {step.title}
        </h4>
        <Badge tone={step.ok ? 'ok' : 'error'}>{step.ok ? 'phones keep trust' : 'locks phones out'}</Badge>
      </div>
      <p class="muted mono small">{step.dir}/</p>
      <ol class="plan-actions">
        {step.actions.map((a, i) => (
          <li key={i}>{a}</li>
        ))}
      </ol>
      <VerdictTable
        verdicts={step.verdicts}
        testId="plan-verdicts"
        caption={`Preflight: phones holding ${step.phoneHas.length ? step.phoneHas.join(' + ') : 'nothing'}`}
      />
    </section>
  );
}

/**
 * The Rollout plan wizard: the `openctl plan` procedures with the same named inputs. "Check plan" builds every
 * step and preflights it (nothing is written); a refused plan shows why, in an alert. "Write plan" writes the
 * plan just checked, in rollout order, to a folder.
 */
export function PlanScreen() {
  const { api, tokens, login, notify } = useApp();
  const [procedure, setProcedure] = useState<PlanProcedure>('regenerate');
  const [lists, setLists] = useState<Partial<Record<PlanField, string>>>({});
  const [keys, setKeys] = useState<Partial<Record<PlanField, KeyChoice>>>({});
  const [certs, setCerts] = useState<RegenerateKind[]>([]);
  const [order, setOrder] = useState('');
  const [method, setMethod] = useState<MoveClusterMethod>('rollback');
  const [withoutRollback, setWithoutRollback] = useState(false);
  const [configs, setConfigs] = useState('');
  const [digest, setDigest] = useState<Hash>('sha1');
  const [noSbd, setNoSbd] = useState(false);
  const [plan, setPlan] = useState<PlanView>();
  const [output, setOutput] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const resultRef = useRef<HTMLDivElement>(null);

  // Show a key only where it signs something: the CTL signer once a CTL is given, the move methods' own keys.
  const shown = (f: PlanField) =>
    f === 'ctlSigner' ? Boolean(lists.ctl?.trim()) : f === 'fromItlSigner' ? method === 'rollback' : f === 'toCtlSigner' ? method === 'shared-sast' : true;
  const keyFields: PlanField[] = [
    ...KEY_FIELDS[procedure].filter(shown),
    ...(procedure === 'regenerate' ? certs.map((k) => NEW_CERT_FIELD[k]) : []),
  ];
  const setKey = (field: PlanField) => (next: KeyChoice) => setKeys((k) => ({ ...k, [field]: next }));
  const key = (field: PlanField) => (shown(field) ? keyOf(keys[field]) : undefined);
  const list = (field: PlanField) => lists[field]?.trim() || undefined;

  const request = (): GuiPlanRequest => {
    const common = {
      configs: configs.split('\n').map((c) => c.trim()).filter(Boolean),
      digest,
      sbd: !noSbd,
    };
    const current = { ...common, itl: list('itl'), ctl: list('ctl'), itlSigner: key('itlSigner'), ctlSigner: key('ctlSigner'), configSigner: key('configSigner') };
    switch (procedure) {
      case 'regenerate':
        return {
          procedure,
          ...current,
          certs,
          newCerts: Object.fromEntries(certs.map((k) => [k, key(NEW_CERT_FIELD[k])]).filter(([, v]) => v)),
          order: order.trim() || undefined,
        };
      case 'move-cluster':
        return {
          procedure,
          ...common,
          method,
          fromItl: list('fromItl'),
          fromCtl: list('fromCtl'),
          toItl: list('toItl'),
          toCtl: list('toCtl'),
          fromItlSigner: key('fromItlSigner'),
          toCtlSigner: key('toCtlSigner'),
          toConfigSigner: key('toConfigSigner'),
        };
      case 'reimage':
        return { procedure, ...current, newTftp: key('newTftp'), newItlSigner: key('newItlSigner'), newTvs: key('newTvs'), newCapf: key('newCapf'), withoutRollback };
      case 'rollback':
        return { procedure, ...current, nextItlSigner: key('nextItlSigner'), nextConfigSigner: key('nextConfigSigner') };
    }
  };

  const check = async () => {
    setError(undefined);
    // A result on screen always belongs to the inputs above it: the old one goes as soon as a new check starts.
    setPlan(undefined);
    // A chosen token must be logged in before it signs the plan's files: open the log-in dialog first.
    const needsLogin = keyFields
      .map((f) => keys[f])
      .filter((c): c is KeyChoice => c?.kind === 'token' && Boolean(c.tokenId))
      .map((c) => tokens.tokens.find((t) => t.id === c.tokenId))
      .find((t) => t && !t.loggedIn);
    if (needsLogin) {
      login(needsLogin);
      return;
    }
    setBusy(true);
    try {
      const result = await api.planCheck({ request: request() });
      setPlan(result);
      requestAnimationFrame(() => resultRef.current?.focus());
    } catch (err) {
      setPlan(undefined);
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const write = async () => {
    if (!plan) return;
    setError(undefined);
    setBusy(true);
    try {
      const written = await api.planWrite({ planId: plan.planId, output: output.trim(), overwrite });
      setPlan(written);
      notify(`Plan written to ${written.written}`);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const current = PROCEDURES.find((p) => p.id === procedure)!;
  return (
    <div class="screen">
      <h2 tabIndex={-1}>Rollout plan</h2>
      <p class="muted">
        A procedure as checked, ordered steps: every step's files are built and run through the phones' trust rules before anything is written, and a plan
        that would lock phones out is refused. The same as <code>openctl plan</code>.
      </p>
      <Section title="Procedure" id="plan-procedure">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void check();
          }}
        >
          <fieldset>
            <legend>What are you doing?</legend>
            {PROCEDURES.map((p) => (
              <label class="check-row" key={p.id}>
                <input
                  type="radio"
                  name="plan-procedure"
                  value={p.id}
                  checked={procedure === p.id}
                  onChange={() => {
                    setProcedure(p.id);
                    setPlan(undefined);
                  }}
                />
                {p.title}
              </label>
            ))}
            <p class="muted small">{current.help}</p>
          </fieldset>

          {procedure === 'regenerate' && (
            <fieldset>
              <legend>{PLAN_FIELDS.certs.label}</legend>
              {REGENERATE_KINDS.map((k) => (
                <label class="check-row" key={k}>
                  <input
                    type="checkbox"
                    name="plan-cert"
                    value={k}
                    checked={certs.includes(k)}
                    onChange={(e) => {
                      const on = (e.target as HTMLInputElement).checked;
                      setCerts((c) => REGENERATE_KINDS.filter((x) => (x === k ? on : c.includes(x))));
                    }}
                  />
                  {REGENERATE_KIND_LABEL[k]}
                </label>
              ))}
              <div class="field">
                <label for="plan-order">{PLAN_FIELDS.order.label} (optional)</label>
                <input id="plan-order" type="text" value={order} spellcheck={false} autocomplete="off" aria-describedby="plan-order-hint" onInput={(e) => setOrder((e.target as HTMLInputElement).value)} />
                <p class="muted small" id="plan-order-hint">
                  "," between steps and "+" within one, e.g. <code>tvs,callmanager</code>. Default: one certificate per step, TFTP last.
                </p>
              </div>
            </fieldset>
          )}

          {procedure === 'move-cluster' && (
            <fieldset>
              <legend>{PLAN_FIELDS.method.label}</legend>
              {MOVE_CLUSTER_METHODS.map((m) => (
                <label class="check-row" key={m}>
                  <input type="radio" name="plan-method" value={m} checked={method === m} onChange={() => setMethod(m)} />
                  {METHOD_LABEL[m]}
                </label>
              ))}
            </fieldset>
          )}

          <fieldset>
            <legend>Trust lists</legend>
            {LIST_FIELDS[procedure].map((f) => (
              <PathField key={`${procedure}-${f}`} label={`${PLAN_FIELDS[f].label}${optionalText(f)}`} name={`plan-${f}`} kind="open" value={lists[f] ?? ''} onChange={(v) => setLists((l) => ({ ...l, [f]: v }))} />
            ))}
          </fieldset>

          <fieldset>
            <legend>Keys and certificates</legend>
            {keyFields.map((f) => (
              <KeyField key={`${procedure}-${f}`} field={f} value={keys[f] ?? NO_KEY} onChange={setKey(f)} />
            ))}
          </fieldset>

          <fieldset>
            <legend>Configs and phones</legend>
            <div class="field">
              <label for="plan-configs">{PLAN_FIELDS.configs.label} (one path per line; optional)</label>
              <textarea id="plan-configs" rows={2} value={configs} spellcheck={false} onInput={(e) => setConfigs((e.target as HTMLTextAreaElement).value)} />
            </div>
            <DigestSelect id="plan-digest" label="Config signature digest" value={digest} onChange={setDigest} />
            <label class="check-row">
              <input type="checkbox" id="plan-no-sbd" checked={noSbd} onChange={(e) => setNoSbd((e.target as HTMLInputElement).checked)} />
              Phones without Security by Default (7940/7960: no TVS)
            </label>
            {procedure === 'reimage' && (
              <label class="check-row">
                <input type="checkbox" id="plan-without-rollback" checked={withoutRollback} onChange={(e) => setWithoutRollback((e.target as HTMLInputElement).checked)} />
                Without the rollback ITL (phones rely on TVS alone)
              </label>
            )}
          </fieldset>
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              Check plan
            </button>
          </div>
        </form>
        <ErrorLine message={error} />
      </Section>

      {plan && (
        <div ref={resultRef} tabIndex={-1} aria-label="Checked plan" data-testid="plan-result" data-ok={String(plan.ok)}>
          <Section title="Plan" id="plan-result-title" actions={<Badge tone={plan.ok ? 'ok' : 'error'}>{plan.ok ? 'every step passes preflight' : 'refused'}</Badge>}>
            <p>{plan.summary}</p>
            <p class="muted">Phones hold now: {plan.phonesHoldNow}</p>
            {!plan.ok && (
              <div role="alert" class="plan-refusals" data-testid="plan-refusals">
                <p>
                  <strong>Refused: this plan would lock phones out. Nothing can be written.</strong>
                </p>
                <ul>
                  {plan.refusals.map((r, i) => (
                    <li key={i}>{r}</li>
                  ))}
                </ul>
              </div>
            )}
            {plan.steps.map((step, i) => (
              <StepView key={step.dir} step={step} index={i} />
            ))}
            {plan.notChecked > 0 && <p class="muted">{plan.notChecked} later step(s) not checked.</p>}
            {plan.notes.length > 0 && (
              <ul class="plan-notes" aria-label="Notes">
                {plan.notes.map((n, i) => (
                  <li key={i}>{n}</li>
                ))}
              </ul>
            )}
          </Section>
          {plan.ok && (
            <Section title="Write the plan" id="plan-write">
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  void write();
                }}
              >
                <PathField label="Plan folder" name="plan-output" kind="folder" value={output} onChange={setOutput} />
                <label class="check-row">
                  <input type="checkbox" id="plan-overwrite" checked={overwrite} onChange={(e) => setOverwrite((e.target as HTMLInputElement).checked)} />
                  Replace an earlier plan folder
                </label>
                <div class="actions">
                  <button type="submit" class="primary" disabled={busy || !output.trim()}>
                    Write plan
                  </button>
                </div>
              </form>
              {plan.written && (
                <p role="status" data-testid="plan-written">
                  Written to <span class="mono">{plan.written}</span>: steps in rollout order, with plan.json and PLAN.txt.
                </p>
              )}
            </Section>
          )}
        </div>
      )}
    </div>
  );
}
