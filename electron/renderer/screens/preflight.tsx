import { useEffect, useRef, useState } from 'preact/hooks';
import type { PreflightView } from '../../../src/gui/types';
import { useApp } from '../context';
import { Badge, ErrorLine, Section } from '../components/basics';
import { PathField } from '../components/file-picker';
import { Holding, VerdictTable } from '../components/verdicts';
import { errorMessage, lines } from '../util';

function TextList({ id, label, hint, value, onChange }: { id: string; label: string; hint: string; value: string; onChange(v: string): void }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <textarea id={id} rows={3} spellcheck={false} aria-describedby={`${id}-hint`} value={value} onInput={(e) => onChange((e.target as HTMLTextAreaElement).value)} />
      <p id={`${id}-hint`} class="muted small">
        {hint}
      </p>
    </div>
  );
}

function Report({ report }: { report: PreflightView }) {
  return (
    <div data-testid="preflight-report" data-ok={String(report.ok)}>
      <p class={`verdict verdict-${report.ok ? 'ok' : 'error'}`} role="status">
        <strong>{report.ok ? 'Phones accept every file' : 'Phones would reject a file'}</strong>
        {report.groups ? ` · ${report.groupsRejecting ?? 0} group(s), ${report.phonesRejecting ?? 0} phone(s) rejecting` : ''}
      </p>
      {report.files && (
        <>
          <Holding holding={report.before} label="Phones hold now" />
          {report.tvs && (
            <p class="muted small">
              TVS vouches for {report.tvs.knows} certificate(s){report.tvs.serviceCertificates ? `; ${report.tvs.serviceCertificates} TVS service certificate(s) given` : ''}.
            </p>
          )}
          <VerdictTable verdicts={report.files} caption="Each file, in download order" testId="preflight-verdicts" />
          <Holding holding={report.after} label="Phones hold afterwards" />
        </>
      )}
      {report.groups?.map((g) => (
        <section key={g.name} class="card" aria-label={`Group ${g.name}`} data-testid="preflight-group">
          <div class="card-head">
            <h4>
              {g.name}
              {g.phones !== undefined ? ` (${g.phones} phones)` : ''}
            </h4>
            <Badge tone={g.ok ? 'ok' : 'error'}>{g.ok ? 'accept every file' : 'would reject a file'}</Badge>
          </div>
          <Holding holding={g.before} label={`${g.name} holds now`} />
          <VerdictTable verdicts={g.files} caption={`Files as ${g.name} sees them`} testId="preflight-verdicts" />
          <Holding holding={g.after} label={`${g.name} holds afterwards`} />
        </section>
      ))}
    </div>
  );
}

/**
 * What phones would do with the files about to be deployed, from what they hold now: `openctl preflight --json`
 * rendered (the service answers with exactly that report), for one phone or a fleet folder.
 */
export function PreflightScreen() {
  const { api, handoff } = useApp();
  const [deploy, setDeploy] = useState('');
  const [who, setWho] = useState<'phone' | 'fleet'>('phone');
  const [phoneHas, setPhoneHas] = useState(['', '']);
  const [fleet, setFleet] = useState('');
  const [tvsKnows, setTvsKnows] = useState('');
  const [tvsCert, setTvsCert] = useState('');
  const [sbd, setSbd] = useState(true);
  const [report, setReport] = useState<PreflightView>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const reportRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!handoff.preflightPhoneHas) return;
    setWho('phone');
    setPhoneHas([handoff.preflightPhoneHas[0] ?? '', handoff.preflightPhoneHas[1] ?? '']);
  }, [handoff.seq]);
  useEffect(() => setReport(undefined), [deploy, who, phoneHas, fleet, tvsKnows, tvsCert, sbd]);

  const check = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setReport(
        await api.preflight({
          deploy: lines(deploy),
          phoneHas: who === 'phone' ? phoneHas.map((p) => p.trim()).filter(Boolean) : undefined,
          fleet: who === 'fleet' ? fleet.trim() || undefined : undefined,
          tvsKnows: lines(tvsKnows),
          tvsCert: lines(tvsCert),
          sbd,
        }),
      );
      requestAnimationFrame(() => reportRef.current?.focus());
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="screen">
      <h2 tabIndex={-1}>Preflight</h2>
      <p class="muted">
        What phones do with new CTL, ITL and config files, from what they hold now: accepted, accepted via TVS, or rejected, with the rule that decides. The same report as{' '}
        <code>openctl preflight --json</code>.
      </p>
      <form onSubmit={check}>
        <Section title="1. What is about to be deployed" id="preflight-deploy-title">
          <TextList id="preflight-deploy" label="Files to deploy (--deploy)" hint="One per line, in phone download order: paths, folders (their .tlv, .sgn and .xml files), tftp:// or http:// URLs." value={deploy} onChange={setDeploy} />
        </Section>
        <Section title="2. What the phones hold now" id="preflight-holds">
          <fieldset>
            <legend>Phones</legend>
            <label class="check-row">
              <input type="radio" name="preflight-who" checked={who === 'phone'} onChange={() => setWho('phone')} />
              One phone, or phones that all hold the same files
            </label>
            <label class="check-row">
              <input type="radio" name="preflight-who" checked={who === 'fleet'} onChange={() => setWho('fleet')} />
              A fleet folder: one sub-folder per phone or group (--fleet)
            </label>
          </fieldset>
          {who === 'phone' ? (
            <>
              <PathField label="CTL or ITL the phones hold (--phone-has)" name="preflight-has-1" kind="open" value={phoneHas[0]!} onChange={(v) => setPhoneHas(([, b]) => [v, b!])} />
              <PathField label="The other list they hold (--phone-has, optional)" name="preflight-has-2" kind="open" value={phoneHas[1]!} onChange={(v) => setPhoneHas(([a]) => [a!, v])} />
              <p class="muted small">A path, a folder (what Fetch wrote) or a tftp:// / http:// URL. None: phones that hold nothing yet.</p>
            </>
          ) : (
            <PathField label="Fleet folder (--fleet)" name="preflight-fleet" kind="folder" value={fleet} onChange={setFleet} />
          )}
          <TextList id="preflight-tvs-knows" label="Certificates TVS vouches for (--tvs-knows, optional)" hint="One per line: a certificate file, optionally ROLE:FILE (ccm-tftp, tftp, tvs, capf, sast…)." value={tvsKnows} onChange={setTvsKnows} />
          <TextList id="preflight-tvs-cert" label="TVS service certificates (--tvs-cert, optional)" hint="Phones reach TVS only if their ITL holds one of these." value={tvsCert} onChange={setTvsCert} />
          <label class="check-row">
            <input type="checkbox" checked={sbd} onChange={(e) => setSbd((e.target as HTMLInputElement).checked)} />
            Phones have Security by Default (they can ask TVS); clear for 7940/7960 (--no-sbd)
          </label>
        </Section>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy || lines(deploy).length === 0}>
            {busy ? 'Checking…' : 'Run preflight'}
          </button>
        </div>
      </form>
      <ErrorLine message={error} />
      {report && (
        <div tabIndex={-1} ref={reportRef}>
          <Section title="Report" id="preflight-report-title">
            <Report report={report} />
          </Section>
        </div>
      )}
    </div>
  );
}
