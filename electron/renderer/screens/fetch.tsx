import { useEffect, useRef, useState } from 'preact/hooks';
import type { FetchView } from '../../../src/gui/types';
import { useApp } from '../context';
import { Badge, ErrorLine, Section } from '../components/basics';
import { PathField } from '../components/file-picker';
import { errorMessage } from '../util';
import { DataTable } from '../components/data-table';

type Via = 'tftp,http' | 'tftp' | 'http' | 'http,tftp';

/**
 * Download what a phone downloads from a TFTP server (CTLFile.tlv, ITLFile.tlv, SEP<MAC>.cnf.xml.sgn), as
 * `openctl fetch` does, then open a file in Inspect or use the lists as what phones hold in Preflight.
 */
export function FetchScreen() {
  const { api, info, notify, suggest, rememberDir, openIn } = useApp();
  const [host, setHost] = useState('');
  const [macs, setMacs] = useState('');
  const [outDir, setOutDir] = useState('');
  const [tftpPort, setTftpPort] = useState('69');
  const [httpPort, setHttpPort] = useState('6970');
  const [via, setVia] = useState<Via>('tftp,http');
  const [overwrite, setOverwrite] = useState(false);
  const [result, setResult] = useState<FetchView>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const resultRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!outDir && info) setOutDir(suggest('fetched'));
  }, [info]);
  useEffect(() => setResult(undefined), [host, macs, outDir, tftpPort, httpPort, via, overwrite]);

  const run = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const fetched = await api.fetch({
        host: host.trim(),
        macs: macs.split(/[\s,;]+/).filter(Boolean),
        outDir: outDir.trim(),
        overwrite,
        tftpPort: Number(tftpPort),
        httpPort: Number(httpPort),
        via: via.split(',') as Array<'tftp' | 'http'>,
      });
      setResult(fetched);
      rememberDir(outDir.trim(), true);
      notify(`Fetched ${fetched.files.filter((f) => f.file).length} of ${fetched.files.length} files from ${fetched.host}`);
      requestAnimationFrame(() => resultRef.current?.focus());
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const lists = result?.files.filter((f) => f.file && /^(CTL|ITL)File\.tlv$/.test(f.name)).map((f) => f.file!) ?? [];

  return (
    <div class="screen">
      <h2 tabIndex={-1}>Fetch</h2>
      <p class="muted">
        Download what a phone downloads from a TFTP server: its CTL, its ITL and a phone's config (TFTP, then HTTP port 6970), as <code>openctl fetch</code>.
      </p>
      <Section title="Server" id="fetch-server">
        <form onSubmit={run}>
          <div class="row-wrap">
            <div class="field">
              <label for="fetch-host">TFTP server (name or IPv4)</label>
              <input id="fetch-host" type="text" autocomplete="off" spellcheck={false} value={host} onInput={(e) => setHost((e.target as HTMLInputElement).value)} />
            </div>
            <div class="field">
              <label for="fetch-macs">Phone MAC addresses (optional, --mac)</label>
              <input id="fetch-macs" type="text" autocomplete="off" spellcheck={false} value={macs} onInput={(e) => setMacs((e.target as HTMLInputElement).value)} />
            </div>
          </div>
          <div class="row-wrap">
            <div class="field">
              <label for="fetch-port">TFTP port</label>
              <input id="fetch-port" type="number" min={1} max={65535} value={tftpPort} onInput={(e) => setTftpPort((e.target as HTMLInputElement).value)} />
            </div>
            <div class="field">
              <label for="fetch-http-port">HTTP port</label>
              <input id="fetch-http-port" type="number" min={1} max={65535} value={httpPort} onInput={(e) => setHttpPort((e.target as HTMLInputElement).value)} />
            </div>
            <div class="field">
              <label for="fetch-via">Transports, in order</label>
              <select id="fetch-via" value={via} onChange={(e) => setVia((e.target as HTMLSelectElement).value as Via)}>
                <option value="tftp,http">TFTP, then HTTP</option>
                <option value="tftp">TFTP only</option>
                <option value="http">HTTP only</option>
                <option value="http,tftp">HTTP, then TFTP</option>
              </select>
            </div>
          </div>
          <PathField label="Save in folder" name="fetch-out" kind="folder" value={outDir} onChange={setOutDir} />
          <label class="check-row">
            <input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite((e.target as HTMLInputElement).checked)} />
            Replace files already in the folder
          </label>
          <div class="actions">
            <button type="submit" class="primary" disabled={busy || !host.trim() || !outDir.trim()}>
              {busy ? 'Fetching…' : 'Fetch'}
            </button>
          </div>
        </form>
        <ErrorLine message={error} />
      </Section>
      {result && (
        <div tabIndex={-1} ref={resultRef}>
          <Section title={`From ${result.host}`} id="fetch-result-title">
            <p class={`verdict verdict-${result.failed ? 'error' : 'ok'}`} role="status" data-testid="fetch-status">
              {result.failed ? 'A download failed, or nothing could be downloaded.' : `Saved in ${result.out}.`}
            </p>
            <DataTable caption="Files a phone downloads" testId="fetch-files" columns={['File', 'Result', 'SHA-1', { srOnly: 'Actions' }]}>
              {result.files.map((f) => (
                <tr key={f.name} data-got={String(Boolean(f.file))}>
                  <td class="mono">{f.name}</td>
                  <td>
                    {f.file ? (
                      <Badge tone="ok">
                        {f.bytes} bytes via {f.via?.toUpperCase()}
                      </Badge>
                    ) : f.notFound ? (
                      <Badge tone="info">not on the server</Badge>
                    ) : (
                      <Badge tone="error">failed</Badge>
                    )}{' '}
                    {f.attempts.length > 0 && <span class="muted small">{f.attempts.map((a) => `${a.via.toUpperCase()}: ${a.error}`).join('; ')}</span>}
                  </td>
                  <td class="mono small fingerprint">{f.sha1 ?? ''}</td>
                  <td>
                    {f.file && (
                      <button type="button" class="small" aria-label={`Open ${f.name} in Inspect`} onClick={() => openIn('inspect', [f.file!])}>
                        Inspect
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </DataTable>
            {lists.length > 0 && (
              <div class="actions">
                <button type="button" onClick={() => openIn('preflight', lists)}>
                  Preflight: use these as what phones hold
                </button>
              </div>
            )}
          </Section>
        </div>
      )}
    </div>
  );
}
