import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import type { FileSource } from '../../../src/gui/contract';
import type { CapfDeviceView, ServiceStatusView, TvsListView } from '../../../src/gui/types';
import { useApp } from '../context';
import { Badge, ErrorLine, ExpiryBadge, Section } from '../components/basics';
import { FilePicker } from '../components/file-picker';
import { ROLE_CHOICES, commonName, errorMessage, lines, shortDate } from '../util';
import { DataTable } from '../components/data-table';
import { TlsCertificateFetch } from '../components/tls-fetch';

/** How to start each service from the CLI: the app manages its store and shows its status, it does not serve it. */
const START = {
  tvs: {
    serve: 'openctl tvs serve --db tvs.db --signer TVS.pem --listen 0.0.0.0:2445 --metrics 127.0.0.1:9445',
    port: 2445,
  },
  capf: {
    serve: 'openctl capf serve --db capf.db --signer CAPF.pem --issuer CA.pem --mic-ca MIC-CA.pem --out lsc --listen 0.0.0.0:3804 --metrics 127.0.0.1:9804',
    port: 3804,
  },
} as const;

function StartHelp({ service }: { service: 'tvs' | 'capf' }) {
  const name = service.toUpperCase();
  return (
    <details class="options">
      <summary>How to start the {name} server</summary>
      <p>
        The app manages the {name} store and shows a running server's status; the server itself runs from the command line, on the machine phones reach on
        port {START[service].port} (give it <code>--metrics HOST:PORT</code> to see its status here):
      </p>
      <pre class="command" data-testid={`${service}-start`}>
        <code>{START[service].serve}</code>
      </pre>
    </details>
  );
}

function StoreField({ id, value, onChange, onLoad, busy }: { id: string; value: string; onChange(v: string): void; onLoad(): void; busy: boolean }) {
  return (
    <form
      class="row"
      onSubmit={(e) => {
        e.preventDefault();
        onLoad();
      }}
    >
      <label for={id}>Store (--db: a SQLite file or a postgres:// URL)</label>
      <input id={id} class="grow" type="text" spellcheck={false} autocomplete="off" value={value} onInput={(e) => onChange((e.target as HTMLInputElement).value)} />
      <button type="submit" disabled={busy || !value.trim()}>
        Open store
      </button>
    </form>
  );
}

/** A server's status from its --metrics endpoint: /health and the service's own counters. */
function Status({ service }: { service: 'tvs' | 'capf' }) {
  const { api } = useApp();
  const [url, setUrl] = useState('');
  const [status, setStatus] = useState<ServiceStatusView>();
  const [error, setError] = useState<string>();
  const check = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      setStatus(await api.serviceStatus({ service, url: url.trim() }));
    } catch (err) {
      setStatus(undefined);
      setError(errorMessage(err));
    }
  };
  return (
    <Section title="Running server" id={`${service}-status`}>
      <form class="row" onSubmit={check}>
        <label for={`${service}-metrics`}>Metrics address (--metrics HOST:PORT)</label>
        <input id={`${service}-metrics`} class="grow" type="text" spellcheck={false} autocomplete="off" value={url} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={!url.trim()}>
          Check status
        </button>
      </form>
      <ErrorLine message={error} />
      {status && (
        <div data-testid={`${service}-server-status`} data-healthy={String(status.healthy)}>
          <p class={`verdict verdict-${status.healthy ? 'ok' : 'error'}`} role="status">
            <strong>{status.reachable ? (status.healthy ? `${service.toUpperCase()} at ${status.url} is healthy` : `${service.toUpperCase()} at ${status.url} is failing`) : `No answer from ${status.url}`}</strong>
            {status.problem ? `: ${status.problem}` : ''}
          </p>
          {Object.keys(status.health).length > 0 && (
            <dl class="facts">
              {Object.entries(status.health).map(([k, v]) => (
                <Fragment key={k}>
                  <dt>{k}</dt>
                  <dd class="mono">{typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd>
                </Fragment>
              ))}
            </dl>
          )}
          {status.samples.length > 0 && (
            <DataTable caption="Counters and gauges" testId={`${service}-metrics-table`} columns={['Metric', 'Value']}>
              {status.samples.map((s) => (
                <tr key={s.name}>
                  <td class="mono">{s.name}</td>
                  <td class="num">{s.value}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </div>
      )}
    </Section>
  );
}

const TVS_ROLES = ROLE_CHOICES.filter((r) => r.value <= 255);

/**
 * TVS: what the Trust Verification Service vouches for (its store, as `openctl tvs add|remove|list`): add from
 * certificate files with roles and a TTL, from a CTL or ITL (each record with its role), or from a server's TLS
 * certificate once its fingerprint is confirmed; remove; and a running server's status.
 */
export function TvsScreen() {
  const { api, notify } = useApp();
  const [db, setDb] = useState('');
  const [list, setList] = useState<TvsListView>();
  const [roles, setRoles] = useState<number[]>([2]);
  const [ttl, setTtl] = useState('86400');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const load = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setList(await api.tvsList({ db: db.trim() }));
    } catch (err) {
      setList(undefined);
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const add = async (what: { files?: FileSource[]; certificates?: string[]; fromLists?: FileSource[] }) => {
    setError(undefined);
    try {
      const done = await api.tvsAdd({ db: db.trim(), ...what, roles: what.fromLists ? undefined : roles, ttl: Number(ttl) });
      notify(`TVS store: ${done.added} added, ${done.updated} updated${done.skipped.length ? `, ${done.skipped.length} skipped` : ''}`);
      if (done.skipped.length) setError(done.skipped.join('; '));
      await load();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const remove = async (sha256: string) => {
    try {
      await api.tvsRemove({ db: db.trim(), sha256: [sha256] });
      notify('Removed from the TVS store');
      await load();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const open = Boolean(list);

  return (
    <div class="screen">
      <h2 tabIndex={-1}>TVS</h2>
      <p class="muted">The Trust Verification Service phones ask (port 2445) about certificates their CTL and ITL do not list: what it vouches for, in which roles, for how long.</p>
      <Section title="Store" id="tvs-store">
        <StoreField id="tvs-db" value={db} onChange={setDb} onLoad={() => void load()} busy={busy} />
        <ErrorLine message={error} />
        {list && (
          <DataTable caption={<>{list.certificates.length} certificate(s) TVS vouches for</>} testId="tvs-certificates" columns={['Subject', 'Serial and SHA-256', 'Roles', 'TTL', 'Certificate', { srOnly: 'Actions' }]}>
            {list.certificates.map((c) => (
              <tr key={c.sha256} data-sha256={c.sha256}>
                <td class="mono" title={c.subject}>
                  {commonName(c.subject)}
                </td>
                <td class="mono small fingerprint">
                  {c.serial}
                  <br />
                  {c.sha256}
                </td>
                <td>{c.roles.join(', ')}</td>
                <td class="num">{c.ttl} s</td>
                <td>{c.certificate ? <ExpiryBadge cert={c.certificate} /> : ''}</td>
                <td>
                  <button type="button" class="small" aria-label={`Remove ${commonName(c.subject)} (${c.sha256.slice(0, 12)}…) from the TVS store`} onClick={() => void remove(c.sha256)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </Section>
      {open && (
        <Section title="Vouch for certificates" id="tvs-add">
          <fieldset>
            <legend>Roles TVS vouches for them in (certificate files and TLS)</legend>
            <div class="row-wrap">
              {TVS_ROLES.map((r) => (
                <label key={r.value} class="check-row">
                  <input
                    type="checkbox"
                    checked={roles.includes(r.value)}
                    onChange={(e) => setRoles((list) => ((e.target as HTMLInputElement).checked ? [...list, r.value] : list.filter((x) => x !== r.value)))}
                  />
                  {r.label}
                </label>
              ))}
            </div>
          </fieldset>
          <div class="field">
            <label for="tvs-ttl">TTL: how long phones may cache the answer (seconds, --ttl)</label>
            <input id="tvs-ttl" type="number" min={1} max={2592000} value={ttl} onInput={(e) => setTtl((e.target as HTMLInputElement).value)} />
          </div>
          <FilePicker name="tvs-file" legend="From certificate files (PEM, DER or PKCS#7)" actionLabel="Add" multiple onPick={(source) => add({ files: [source] })} />
          <FilePicker name="tvs-list" legend="From a CTL or ITL (every record, with its own role; --from)" actionLabel="Add records" onPick={(source) => add({ fromLists: [source] })} />
          <TlsCertificateFetch
            id="tvs"
            formLabel="From a server's TLS certificate"
            hostLabel="Or from a server's TLS certificate: host"
            compareText="Compare its SHA-1 fingerprint with the server's before TVS vouches for it:"
            acceptLabel="The fingerprint matches: vouch for it"
            testId="tvs-tls-confirm"
            onAccept={(cert) => void add({ certificates: [cert.der] })}
            onError={setError}
          />
        </Section>
      )}
      <Status service="tvs" />
      <StartHelp service="tvs" />
    </div>
  );
}

const OPERATIONS = ['install', 'fetch', 'delete', 'none'] as const;

/**
 * CAPF: the devices the Certificate Authority Proxy Function enrols (`openctl capf device …`): schedule an install,
 * fetch or delete, the authentication mode, lockouts (failed tries), the LSC issued and its expiry; and a running
 * server's status. Passwords are set with the CLI, which reads them from a file (never a command line).
 */
export function CapfScreen() {
  const { api, notify } = useApp();
  const [db, setDb] = useState('');
  const [devices, setDevices] = useState<CapfDeviceView[]>();
  const [names, setNames] = useState('');
  const [operation, setOperation] = useState<(typeof OPERATIONS)[number]>('install');
  const [auth, setAuth] = useState<'none' | 'mic'>('mic');
  const [key, setKey] = useState('rsa:2048');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const run = async (job: () => Promise<CapfDeviceView[]>, done?: string) => {
    setBusy(true);
    setError(undefined);
    try {
      setDevices(await job());
      if (done) notify(done);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const load = () => run(() => api.capfList({ db: db.trim() }));
  const now = Date.now();

  return (
    <div class="screen">
      <h2 tabIndex={-1}>CAPF</h2>
      <p class="muted">The Certificate Authority Proxy Function installs, fetches and deletes phones' LSCs (port 3804).</p>
      <Section title="Devices" id="capf-devices">
        <StoreField id="capf-db" value={db} onChange={setDb} onLoad={() => void load()} busy={busy} />
        <ErrorLine message={error} />
        {devices && (
          <DataTable caption={<>{devices.length} device(s)</>} testId="capf-device-table" columns={['Device', 'Operation', 'Authentication', 'Failed tries', 'LSC (serial, expiry)', 'Last contact', { srOnly: 'Actions' }]}>
            {devices.map((d) => {
              const expired = d.lscNotAfter ? Date.parse(d.lscNotAfter) < now : false;
              return (
                <tr key={d.device} data-device={d.device} data-operation={d.operation}>
                  <td class="mono">{d.device}</td>
                  <td>{d.operation}</td>
                  <td>
                    {d.auth}
                    {d.auth === 'password' && !d.passwordSet ? ' (no password set)' : ''} · {d.key}
                  </td>
                  <td class="num">{d.failures ? <Badge tone="warn">{d.failures}</Badge> : 0}</td>
                  <td class="mono small fingerprint">
                    {d.lscSerial ? (
                      <>
                        {d.lscSerial}
                        <br />
                        <Badge tone={expired ? 'error' : 'ok'}>{`${expired ? 'expired' : 'valid until'} ${shortDate(d.lscNotAfter!)}`}</Badge>
                      </>
                    ) : (
                      'none issued'
                    )}
                  </td>
                  <td>
                    {d.lastContact ? shortDate(d.lastContact) : 'never'}
                    {d.lastResult ? ` · ${d.lastResult}` : ''}
                  </td>
                  <td>
                    <div class="row-wrap">
                      {d.failures > 0 && (
                        <button type="button" class="small" aria-label={`Unlock ${d.device}`} onClick={() => void run(() => api.capfSet({ db: db.trim(), devices: [d.device], unlock: true }), `Unlocked ${d.device}`)}>
                          Unlock
                        </button>
                      )}
                      <button type="button" class="small" aria-label={`Remove ${d.device}`} onClick={() => void run(() => api.capfRemove({ db: db.trim(), devices: [d.device] }), `Removed ${d.device}`)}>
                        Remove
                      </button>
                    </div>
                  </td>
                </tr>
              );
            })}
          </DataTable>
        )}
      </Section>
      {devices && (
        <Section title="Schedule" id="capf-schedule">
          <div class="field">
            <label for="capf-names">Devices (SEP&lt;MAC&gt;, one per line)</label>
            <textarea id="capf-names" rows={3} spellcheck={false} value={names} onInput={(e) => setNames((e.target as HTMLTextAreaElement).value)} />
          </div>
          <div class="row-wrap">
            <div class="field">
              <label for="capf-op">Operation</label>
              <select id="capf-op" value={operation} onChange={(e) => setOperation((e.target as HTMLSelectElement).value as typeof operation)}>
                {OPERATIONS.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="capf-auth">Authentication</label>
              <select id="capf-auth" value={auth} onChange={(e) => setAuth((e.target as HTMLSelectElement).value as 'none' | 'mic')}>
                <option value="mic">The phone's MIC (or current LSC)</option>
                <option value="none">None</option>
              </select>
            </div>
            <div class="field">
              <label for="capf-key">Key (new devices)</label>
              <select id="capf-key" value={key} onChange={(e) => setKey((e.target as HTMLSelectElement).value)}>
                {['rsa:1024', 'rsa:2048', 'rsa:3072', 'rsa:4096', 'ec:p256', 'ec:p384', 'ec:p521'].map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <p class="muted small">
            Password authentication: set it with <code>openctl capf device set --db … SEP… --auth password --password-file FILE</code> (the password never passes through the app).
          </p>
          <div class="actions">
            <button type="button" class="primary" disabled={busy || lines(names).length === 0} onClick={() => void run(() => api.capfAdd({ db: db.trim(), devices: lines(names), operation, auth, key }), `Added ${lines(names).length} device(s)`)}>
              Add devices
            </button>
            <button type="button" disabled={busy || lines(names).length === 0} onClick={() => void run(() => api.capfSet({ db: db.trim(), devices: lines(names), operation, auth }), `Scheduled ${operation} for ${lines(names).length} device(s)`)}>
              Change operation and authentication
            </button>
          </div>
        </Section>
      )}
      <Status service="capf" />
      <StartHelp service="capf" />
    </div>
  );
}
