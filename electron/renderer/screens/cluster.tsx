import { useEffect, useState } from 'preact/hooks';
import type { ClusterDraft, FileSource } from '../../../src/gui/contract';
import type { CertView, ClusterCertView, ClusterView } from '../../../src/gui/types';
import { useApp } from '../context';
import { Badge, Checks, ExpiryBadge, Section } from '../components/basics';
import { FilePicker, PathField } from '../components/file-picker';
import { TlsCertificateFetch } from '../components/tls-fetch';
import { ROLE_CHOICES, commonName, errorMessage, roleLabel } from '../util';

type DraftCert = ClusterDraft['sast'][number];
type DraftServer = ClusterDraft['servers'][number];

const EMPTY: ClusterDraft = { sast: [], servers: [] };

function CertLine({ cert, view, onRemove, label }: { cert: DraftCert; view?: ClusterCertView; onRemove(): void; label: string }) {
  const shown: CertView | undefined = view?.certificate;
  return (
    <li class="cert-line">
      <span class="role-tag">{roleLabel(cert.role)}</span>
      {shown ? (
        <span class="mono" title={shown.subject}>
          {commonName(shown.subject)}
        </span>
      ) : (
        <span class="mono">{cert.source ? '(certificate read when the CTL is built)' : '(certificate)'}</span>
      )}
      {shown && <ExpiryBadge cert={shown} />}
      {view?.problem && <Badge tone="error">{view.problem}</Badge>}
      {cert.source && <span class="muted small mono">{cert.source}</span>}
      <button type="button" class="small" aria-label={`Remove ${label}`} onClick={onRemove}>
        Remove
      </button>
    </li>
  );
}

function AddCertificate({ onAdd, name }: { onAdd(cert: DraftCert): void; name: string }) {
  const { api, notify } = useApp();
  const [role, setRole] = useState(2);
  const fromFile = async (source: FileSource) => {
    const certs = await api.readCertificates({ file: source });
    onAdd('path' in source ? { role, source: source.path } : { role, der: certs[0]!.der });
  };
  return (
    <div class="add-cert">
      <div class="field">
        <label for={`${name}-role`}>Function of the new certificate</label>
        <select id={`${name}-role`} value={role} onChange={(e) => setRole(Number((e.target as HTMLSelectElement).value))}>
          {ROLE_CHOICES.filter((r) => r.value !== 0).map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </select>
      </div>
      <FilePicker name={`${name}-file`} legend="From a file (PEM, DER or PKCS#7)" actionLabel="Add" onPick={fromFile} />
      <TlsCertificateFetch
        id={name}
        formLabel="Fetch over TLS"
        hostLabel="Or fetch from host"
        compareText="Compare its SHA-1 fingerprint with the one on the server (Cisco Unified OS Administration > Certificate Management) before adding it:"
        acceptLabel="The fingerprint matches: add it"
        testId="tls-confirm"
        onAccept={(cert, where) => {
          onAdd({ role, der: cert.der });
          notify(`Added ${commonName(cert.subject)} (SHA-1 ${cert.sha1}) from ${where}`);
        }}
        onError={(message) => notify(message, 'error')}
      />
    </div>
  );
}

export function ClusterScreen() {
  const { api, tokens, info, notify, draft: ctlDraft, setDraft, go, suggest, rememberDir } = useApp();
  const [draft, setClusterDraft] = useState<ClusterDraft>(EMPTY);
  const [view, setView] = useState<ClusterView>();
  const [file, setFile] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  const [newServer, setNewServer] = useState('');

  useEffect(() => {
    if (!file && info) setFile(suggest('cluster.json'));
  }, [info]);

  useEffect(() => {
    let stale = false;
    api.checkCluster({ cluster: draft }).then(
      (v) => !stale && setView(v),
      (err: unknown) => !stale && notify(errorMessage(err), 'error'),
    );
    return () => {
      stale = true;
    };
  }, [draft]);

  const update = (change: (d: ClusterDraft) => ClusterDraft) => setClusterDraft((d) => change(d));
  const updateServer = (index: number, change: (s: DraftServer) => DraftServer) =>
    update((d) => ({ ...d, servers: d.servers.map((s, i) => (i === index ? change(s) : s)) }));

  const load = async () => {
    try {
      const loaded = await api.loadCluster({ path: file.trim() });
      setClusterDraft({
        name: loaded.name,
        digest: loaded.digest,
        signerVersion: loaded.signerVersion,
        dnStyle: loaded.dnStyle,
        sast: loaded.sast.map((c) => ({ role: c.role, source: c.source })),
        servers: loaded.servers.map((s) => ({
          name: s.name,
          dns: s.dns,
          ip: s.ip,
          itlSigner: s.itlSigner,
          certificates: s.certificates.map((c) => ({ role: c.role, source: c.source })),
        })),
      });
      notify(`Loaded ${loaded.file}`);
      rememberDir(loaded.file ?? file.trim());
    } catch (err) {
      notify(errorMessage(err), 'error');
    }
  };
  const save = async () => {
    try {
      const saved = await api.saveCluster({ path: file.trim(), cluster: draft, overwrite });
      // Certificates added as bytes now have a file beside the cluster file: keep both (the bytes show it).
      setClusterDraft((d) => ({
        ...d,
        sast: d.sast.map((c, i) => ({ ...c, source: saved.sast[i]?.source || c.source })),
        servers: d.servers.map((s, si) => ({
          ...s,
          certificates: s.certificates.map((c, ci) => ({ ...c, source: saved.servers[si]?.certificates[ci]?.source || c.source })),
        })),
      }));
      notify(`Saved ${saved.file}`);
      rememberDir(saved.file ?? file.trim());
    } catch (err) {
      notify(errorMessage(err), 'error');
    }
  };
  const toCtl = async () => {
    try {
      const merged = await api.mergeClusterIntoCtl({ cluster: draft, draft: { records: ctlDraft.records, current: ctlDraft.current?.source } });
      setDraft((d) => ({ ...d, records: merged.records }));
      notify(
        `Merged the cluster into the CTL builder: ${merged.added} record${merged.added === 1 ? '' : 's'} added` +
          (merged.alreadyThere ? `, ${merged.alreadyThere} already in the CTL` : '') +
          `; the CTL now has ${merged.total} record${merged.total === 1 ? '' : 's'}`,
      );
      go('ctl');
    } catch (err) {
      notify(errorMessage(err), 'error');
    }
  };

  return (
    <div class="screen">
      <h2 tabIndex={-1}>Cluster</h2>
      <Section title="Cluster file" id="cluster-file">
        <PathField label="Cluster file" name="cluster-path" kind="save" value={file} onChange={setFile} />
        <div class="actions">
          <button type="button" onClick={() => void load()} disabled={!file.trim()}>
            Load
          </button>
          <button type="button" onClick={() => void save()} disabled={!file.trim()}>
            Save
          </button>
          <label class="check-row">
            <input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite((e.target as HTMLInputElement).checked)} />
            Replace an existing file
          </label>
          <button
            type="button"
            onClick={() => {
              setClusterDraft(EMPTY);
              // A new cluster gets a file name of its own: saving it never lands on the cluster just edited.
              setFile(suggest(`cluster-${new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-')}.json`));
            }}
          >
            New cluster
          </button>
        </div>
        <div class="row-wrap">
          <div class="field">
            <label for="cluster-name">Cluster name</label>
            <input id="cluster-name" type="text" value={draft.name ?? ''} onInput={(e) => update((d) => ({ ...d, name: (e.target as HTMLInputElement).value || undefined }))} />
          </div>
          <div class="field">
            <label for="cluster-digest">Digest</label>
            <select id="cluster-digest" value={draft.digest ?? 'sha1'} onChange={(e) => update((d) => ({ ...d, digest: (e.target as HTMLSelectElement).value as 'sha1' }))}>
              <option value="sha1">SHA-1</option>
              <option value="sha256">SHA-256</option>
              <option value="sha512">SHA-512</option>
            </select>
          </div>
        </div>
      </Section>

      <Section title="SAST certificates" id="cluster-sast">
        <ul class="plain">
          {draft.sast.map((c, i) => (
            <CertLine
              key={i}
              cert={c}
              view={view?.sast[i]}
              label={`SAST ${i + 1}`}
              onRemove={() => update((d) => ({ ...d, sast: d.sast.filter((_, j) => j !== i) }))}
            />
          ))}
        </ul>
        <ul class="plain row-wrap">
          {tokens.tokens
            .filter((t) => t.sast)
            .map((t) => (
              <li key={t.id}>
                <button
                  type="button"
                  onClick={() => update((d) => ({ ...d, sast: [...d.sast, { role: 0, source: `pkcs11:token=${encodeURIComponent(t.label)}`, der: t.sast!.der }] }))}
                >
                  Add SAST from {t.label}
                </button>
              </li>
            ))}
        </ul>
        <FilePicker
          name="cluster-sast-file"
          legend="SAST certificate from a file"
          actionLabel="Add"
          onPick={async (source) => {
            const certs = await api.readCertificates({ file: source });
            update((d) => ({ ...d, sast: [...d.sast, 'path' in source ? { role: 0, source: source.path } : { role: 0, der: certs[0]!.der }] }));
          }}
        />
      </Section>

      <Section title="Servers" id="cluster-servers">
        {draft.servers.length === 0 && <p class="muted">No server yet.</p>}
        <ul class="plain servers">
          {draft.servers.map((s, si) => (
            <li key={si} class="card server" aria-label={`Server ${s.name}`}>
              <div class="row-wrap">
                <div class="field">
                  <label for={`server-${si}-name`}>Server name</label>
                  <input id={`server-${si}-name`} type="text" value={s.name} onInput={(e) => updateServer(si, (x) => ({ ...x, name: (e.target as HTMLInputElement).value }))} />
                </div>
                <div class="field">
                  <label for={`server-${si}-dns`}>DNS name</label>
                  <input id={`server-${si}-dns`} type="text" value={s.dns ?? ''} onInput={(e) => updateServer(si, (x) => ({ ...x, dns: (e.target as HTMLInputElement).value || undefined }))} />
                </div>
                <div class="field">
                  <label for={`server-${si}-ip`}>IPv4 address</label>
                  <input id={`server-${si}-ip`} type="text" value={s.ip ?? ''} onInput={(e) => updateServer(si, (x) => ({ ...x, ip: (e.target as HTMLInputElement).value || undefined }))} />
                </div>
                <button type="button" class="small" onClick={() => update((d) => ({ ...d, servers: d.servers.filter((_, j) => j !== si) }))}>
                  Remove server {s.name}
                </button>
              </div>
              <ul class="plain">
                {s.certificates.map((c, ci) => (
                  <CertLine
                    key={ci}
                    cert={c}
                    view={view?.servers[si]?.certificates[ci]}
                    label={`${roleLabel(c.role)} certificate of ${s.name}`}
                    onRemove={() => updateServer(si, (x) => ({ ...x, certificates: x.certificates.filter((_, j) => j !== ci) }))}
                  />
                ))}
              </ul>
              <details>
                <summary>Add a certificate to {s.name || 'this server'}</summary>
                <AddCertificate name={`server-${si}`} onAdd={(cert) => updateServer(si, (x) => ({ ...x, certificates: [...x.certificates, cert] }))} />
              </details>
            </li>
          ))}
        </ul>
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (!newServer.trim()) return;
            update((d) => ({ ...d, servers: [...d.servers, { name: newServer.trim(), certificates: [] }] }));
            setNewServer('');
          }}
        >
          <label for="cluster-new-server">New server name</label>
          <input id="cluster-new-server" type="text" value={newServer} onInput={(e) => setNewServer((e.target as HTMLInputElement).value)} />
          <button type="submit" disabled={!newServer.trim()}>
            Add server
          </button>
        </form>
      </Section>

      <Section title="Checks" id="cluster-checks">
        {view && view.warnings.length === 0 ? <p>No problem found.</p> : <Checks checks={view?.warnings ?? []} label="Cluster checks" />}
        <div class="actions">
          <button type="button" class="primary" onClick={() => void toCtl()} disabled={draft.sast.length + draft.servers.length === 0}>
            Use these records in the CTL builder
          </button>
        </div>
      </Section>
    </div>
  );
}
